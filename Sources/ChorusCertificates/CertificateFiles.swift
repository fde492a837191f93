import ChorusCore
import Foundation
import SwiftASN1
import X509

/// The PEM files of a cluster's certificates, as `chorus certs` writes them
/// and `chorus node --tls-*` reads them:
///
///     DIR/ca.pem            the cluster CA certificate   (0644)
///     DIR/ca-key.pem        its private key              (0600)
///     DIR/node-N.pem        node N's certificate          (0644)
///     DIR/node-N-key.pem    node N's private key          (0600)
///
/// Files are written to a temporary name and renamed (never half-written),
/// and never overwritten. Reads are bounded by `maximumFileBytes` before
/// anything is allocated for the content.
public enum CertificateFiles {
    public static let authorityCertificateName = "ca.pem"
    public static let authorityKeyName = "ca-key.pem"
    public static func nodeCertificateName(_ node: NodeID) -> String { "node-\(node.rawValue).pem" }
    public static func nodeKeyName(_ node: NodeID) -> String { "node-\(node.rawValue)-key.pem" }

    /// The largest PEM file read: a P-256 certificate or key is under 2 KiB.
    public static let maximumFileBytes = 64 << 10

    // MARK: Writing

    /// Writes the CA's certificate and key into `directory` (created if missing).
    public static func write(_ authority: ClusterCertificateAuthority, to directory: String) throws(ClusterCertificateError) {
        let certificate = path(directory, authorityCertificateName)
        let key = path(directory, authorityKeyName)
        try refuseExisting([certificate, key])
        try createDirectory(directory)
        try write(pem(of: authority.privateKey, path: key), to: key, permissions: 0o600)
        try write(pem(of: authority.certificate, path: certificate), to: certificate, permissions: 0o644)
    }

    /// Writes a node's certificate and key into `directory` (created if missing).
    public static func write(_ issued: IssuedCertificate, to directory: String) throws(ClusterCertificateError) {
        let certificate = path(directory, nodeCertificateName(issued.node))
        let key = path(directory, nodeKeyName(issued.node))
        try refuseExisting([certificate, key])
        try createDirectory(directory)
        try write(pem(of: issued.privateKey, path: key), to: key, permissions: 0o600)
        try write(pem(of: issued.certificate, path: certificate), to: certificate, permissions: 0o644)
    }

    // MARK: Reading

    /// Reads the CA (certificate and key) of `directory`.
    public static func readAuthority(from directory: String) throws(ClusterCertificateError) -> ClusterCertificateAuthority {
        let certificate = try readCertificate(path(directory, authorityCertificateName))
        let key = try readPrivateKey(path(directory, authorityKeyName))
        return try ClusterCertificateAuthority(certificate: certificate.certificate, privateKey: key.key)
    }

    /// One PEM certificate and its text.
    public static func readCertificate(_ path: String) throws(ClusterCertificateError) -> (certificate: Certificate, pem: String) {
        let text = try readText(path)
        do {
            return (try Certificate(pemEncoded: text), text)
        } catch {
            throw .malformed(path: path, reason: "not a PEM certificate (\(error))")
        }
    }

    /// One PEM private key (PKCS#8 or SEC 1, P-256 or another curve swift-certificates knows) and its text.
    public static func readPrivateKey(_ path: String) throws(ClusterCertificateError) -> (key: Certificate.PrivateKey, pem: String) {
        let text = try readText(path)
        do {
            return (try Certificate.PrivateKey(pemEncoded: text), text)
        } catch {
            throw .malformed(path: path, reason: "not a PEM private key (\(error))")
        }
    }

    /// A file's UTF-8 text, refusing what is not a regular file or is too large.
    static func readText(_ path: String) throws(ClusterCertificateError) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        guard status.st_size <= maximumFileBytes else {
            throw .unreadable(path: path, reason: "larger than \(maximumFileBytes) bytes")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileBytes + 1) ?? Data()
        } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        guard data.count <= maximumFileBytes else { throw .unreadable(path: path, reason: "larger than \(maximumFileBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw .malformed(path: path, reason: "not UTF-8 text") }
        return text
    }

    // MARK: Helpers

    static func path(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func refuseExisting(_ paths: [String]) throws(ClusterCertificateError) {
        for path in paths where FileManager.default.fileExists(atPath: path) { throw .exists(path: path) }
    }

    static func createDirectory(_ directory: String) throws(ClusterCertificateError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(path: directory, reason: "\(error)")
        }
    }

    static func pem(of certificate: Certificate, path: String) throws(ClusterCertificateError) -> String {
        do { return try certificate.serializeAsPEM().pemString } catch { throw .unwritable(path: path, reason: "\(error)") }
    }

    static func pem(of key: Certificate.PrivateKey, path: String) throws(ClusterCertificateError) -> String {
        do { return try key.serializeAsPEM().pemString + "\n" } catch { throw .unwritable(path: path, reason: "\(error)") }
    }

    /// Writes `text` with `permissions` under a temporary name, then renames it into place.
    static func write(_ text: String, to path: String, permissions: Int) throws(ClusterCertificateError) {
        let temporary = path + ".tmp-\(getpid())"
        let body = text.hasSuffix("\n") ? text : text + "\n"
        guard FileManager.default.createFile(
            atPath: temporary, contents: Data(body.utf8), attributes: [.posixPermissions: permissions])
        else { throw .unwritable(path: path, reason: String(cString: strerror(errno))) }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .unwritable(path: path, reason: reason)
        }
    }
}
