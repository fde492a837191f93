/// Why certificate tooling could not do what it was asked: an expected
/// failure (a bad argument, a missing or malformed file), never a crash.
public enum ClusterCertificateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An argument out of range (a node id, a validity period, a host name).
    case invalidArgument(String)
    /// A file that cannot be read, or is larger than `CertificateFiles.maximumFileBytes`.
    case unreadable(path: String, reason: String)
    /// A file that is not the PEM it should be, or whose content is refused.
    case malformed(path: String, reason: String)
    /// The tools never overwrite a certificate or key.
    case exists(path: String)
    case unwritable(path: String, reason: String)
    /// Parts that do not fit together: a certificate not issued by the CA, a
    /// key that is not the certificate's, a CA that cannot sign.
    case mismatch(String)

    public var description: String {
        switch self {
        case .invalidArgument(let reason): reason
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "\(path): \(reason)"
        case .exists(let path): "\(path) exists (certificates and keys are never overwritten)"
        case .unwritable(let path, let reason): "cannot write \(path): \(reason)"
        case .mismatch(let reason): reason
        }
    }
}
