import ChorusCore
import Foundation
import SwiftASN1
import X509

/// What one node presents and trusts on its peer links: the cluster CA
/// certificate (the only trust root), the node's own certificate and its
/// private key, checked to fit together when loaded. The PEM texts are kept
/// for the TLS stack (NIOSSL reads PEM).
public struct PeerCredentials: Sendable {
    /// The node the certificate names (`PeerIdentity`).
    public let node: NodeID
    public let authority: Certificate
    public let certificate: Certificate
    public let privateKey: Certificate.PrivateKey
    public let authorityPEM: String
    public let certificatePEM: String
    public let privateKeyPEM: String

    /// Checks that the certificate was issued by the CA, is the key's, may
    /// serve both ends of a peer link, and names a node.
    public init(authorityPEM: String, certificatePEM: String, privateKeyPEM: String) throws(ClusterCertificateError) {
        let authority: Certificate
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do { authority = try Certificate(pemEncoded: authorityPEM) } catch {
            throw .malformed(path: "the CA certificate", reason: "\(error)")
        }
        do { certificate = try Certificate(pemEncoded: certificatePEM) } catch {
            throw .malformed(path: "the node certificate", reason: "\(error)")
        }
        do { key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM) } catch {
            throw .malformed(path: "the node key", reason: "\(error)")
        }
        try self.init(
            authority: authority, certificate: certificate, privateKey: key, authorityPEM: authorityPEM,
            certificatePEM: certificatePEM, privateKeyPEM: privateKeyPEM)
    }

    init(
        authority: Certificate, certificate: Certificate, privateKey: Certificate.PrivateKey, authorityPEM: String,
        certificatePEM: String, privateKeyPEM: String
    ) throws(ClusterCertificateError) {
        guard privateKey.publicKey == certificate.publicKey else {
            throw .mismatch("the node key is not the node certificate's key")
        }
        guard certificate.issuer == authority.subject, authority.publicKey.isValidSignature(certificate.signature, for: certificate)
        else { throw .mismatch("the node certificate was not issued by this CA") }
        do {
            try PeerCertificateVerifier.checkUsage(of: certificate, for: .acceptor)
            try PeerCertificateVerifier.checkUsage(of: certificate, for: .dialler)
            self.node = try PeerIdentity.node(certifiedBy: certificate)
        } catch {
            throw .mismatch("the node certificate cannot be used on peer links: \(error)")
        }
        self.authority = authority
        self.certificate = certificate
        self.privateKey = privateKey
        self.authorityPEM = authorityPEM
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Reads and checks the three files of `chorus node --tls-ca --tls-cert --tls-key`.
    public static func load(authorityFile: String, certificateFile: String, privateKeyFile: String) throws(ClusterCertificateError)
        -> PeerCredentials
    {
        let authority = try CertificateFiles.readCertificate(authorityFile)
        let certificate = try CertificateFiles.readCertificate(certificateFile)
        let key = try CertificateFiles.readPrivateKey(privateKeyFile)
        do {
            return try PeerCredentials(
                authority: authority.certificate, certificate: certificate.certificate, privateKey: key.key,
                authorityPEM: authority.pem, certificatePEM: certificate.pem, privateKeyPEM: key.pem)
        } catch .mismatch(let reason) {
            throw .mismatch("\(certificateFile): \(reason)")
        }
    }

    /// Why these credentials cannot be used at `now` (the CA or the node
    /// certificate outside its validity period), or nil.
    public func validityProblem(at now: Date = Date()) -> String? {
        for (name, certificate) in [("the CA certificate", authority), ("node \(node.rawValue)'s certificate", certificate)] {
            if now < certificate.notValidBefore { return "\(name) is not valid before \(certificate.notValidBefore)" }
            if now > certificate.notValidAfter { return "\(name) expired at \(certificate.notValidAfter)" }
        }
        return nil
    }

    /// The verifier of peers' certificates, trusting this CA only.
    public var verifier: PeerCertificateVerifier { PeerCertificateVerifier(authority: authority) }
}
