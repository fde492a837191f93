/// Why a peer's certificate was refused, as the transport logs it and counts
/// it (`chorus_peer_tls_rejections_total{reason}`, with `label` as the reason).
public enum PeerCertificateRejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The peer presented no certificate (mutual TLS requires one both ways).
    case noCertificate
    /// A certificate (or chain) that does not parse, or is over a size limit.
    case malformed(String)
    /// Not signed by the cluster CA (another CA, self-signed, or a forged signature).
    case unknownAuthority(String)
    /// Past its `notValidAfter`.
    case expired(String)
    /// Before its `notValidBefore`.
    case notYetValid(String)
    /// Not allowed for this end of a peer link (extended key usage, or a CA certificate).
    case wrongUsage(String)
    /// It names no node (see `PeerIdentity`).
    case noIdentity(String)
    /// It names another node than the one dialled or the one claimed in the handshake.
    case identityMismatch(certified: UInt64, expected: UInt64)
    /// Another RFC 5280 rule is broken (an unknown critical extension).
    case policy(String)

    /// The metric's `reason` label.
    public var label: String {
        switch self {
        case .noCertificate: "no_certificate"
        case .malformed: "malformed"
        case .unknownAuthority: "unknown_authority"
        case .expired: "expired"
        case .notYetValid: "not_yet_valid"
        case .wrongUsage: "wrong_usage"
        case .noIdentity: "no_identity"
        case .identityMismatch: "identity_mismatch"
        case .policy: "policy"
        }
    }

    public var description: String {
        switch self {
        case .noCertificate: "the peer presented no certificate"
        case .malformed(let detail): "malformed certificate: \(detail)"
        case .unknownAuthority(let detail): "not issued by the cluster CA: \(detail)"
        case .expired(let detail): "certificate expired: \(detail)"
        case .notYetValid(let detail): "certificate not yet valid: \(detail)"
        case .wrongUsage(let detail): "certificate not usable here: \(detail)"
        case .noIdentity(let detail): "certificate names no node: \(detail)"
        case .identityMismatch(let certified, let expected):
            "the certificate is node \(certified)'s, the peer is expected to be node \(expected)"
        case .policy(let detail): "certificate refused by RFC 5280: \(detail)"
        }
    }
}
