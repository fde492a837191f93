import ChorusCertificates
import ChorusCore
import NIOCore
import Logging
import NIOSSL

/// How a node's peer links are protected (issue 15, "Peer security").
///
/// `chorus node` requires a choice: `--tls-ca/--tls-cert/--tls-key`
/// (mutual TLS), or `--insecure-peers`, which logs a warning on every start.
/// The library's default is plaintext so that in-process test clusters need
/// no certificates; everything a user starts goes through the executable.
public enum PeerSecurity: Sendable {
    /// Plain TCP: anyone who reaches the peer port can send Raft messages.
    case insecurePlaintext
    /// Mutual TLS 1.3: both ends present a certificate of the cluster CA, and
    /// the node it names (`PeerIdentity`) must be the node dialled, or the
    /// node the dialler's handshake claims, before any Raft frame is read.
    case mutualTLS(PeerCredentials)

    public var isMutualTLS: Bool {
        if case .mutualTLS = self { return true }
        return false
    }
}

/// The TLS contexts of one node's peer links, built once at start (parsing
/// the key and certificates per connection would cost a handshake's worth).
struct PeerTLS: Sendable {
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext
    let verifier: PeerCertificateVerifier

    /// Both contexts present the node's certificate, require the peer's, and
    /// trust the cluster CA only; verification itself is the custom callback
    /// (`verification`), which replaces BoringSSL's.
    init(credentials: PeerCredentials) throws {
        let authority = try NIOSSLCertificate(bytes: Array(credentials.authorityPEM.utf8), format: .pem)
        let certificate = try NIOSSLCertificate(bytes: Array(credentials.certificatePEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(credentials.privateKeyPEM.utf8), format: .pem)
        /// Requests (on the server, requires) the peer's certificate over TLS 1.3;
        /// host names play no part, the identity is the node URI.
        func mutual(_ base: TLSConfiguration) -> TLSConfiguration {
            var configuration = base
            configuration.minimumTLSVersion = .tlsv13
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates([authority])
            configuration.certificateChain = [.certificate(certificate)]
            configuration.privateKey = .privateKey(key)
            return configuration
        }
        let server = mutual(
            TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
        let client = mutual(TLSConfiguration.makeClientConfiguration())
        serverContext = try NIOSSLContext(configuration: server)
        clientContext = try NIOSSLContext(configuration: client)
        verifier = credentials.verifier
    }

    /// NIOSSL's verification callback for one handshake. NIOSSL calls it on
    /// the connection's loop; the verifier is synchronous, so the outcome is
    /// reported (`onResult`) and the handshake's promise completed right
    /// there, before any application byte can be read.
    func verification(
        presentedBy presenter: PeerCertificateVerifier.Presenter, expecting expected: NodeID?,
        onResult: @escaping (Result<NodeID, PeerCertificateRejection>) -> Void
    ) -> NIOSSLCustomVerificationCallback {
        let verifier = self.verifier
        return { certificates, promise in
            let result: Result<NodeID, PeerCertificateRejection>
            do {
                result = verifier.verify(
                    chain: try certificates.map { try $0.toDERBytes() }, presentedBy: presenter, expecting: expected)
            } catch {
                result = .failure(.malformed("\(error)"))
            }
            onResult(result)
            switch result {
            case .success: promise.succeed(.certificateVerified)
            case .failure: promise.succeed(.failed)
            }
        }
    }
}

/// What the TLS layer of one accepted connection learned about its peer,
/// shared by the verification callback and `InboundPeerHandler`. Loop-confined.
final class CertifiedPeer {
    /// The node the peer's certificate names, once verified.
    var node: NodeID?
    /// Whether the TLS handshake has completed.
    var established = false
    /// Whether a rejection was already logged and counted for this connection.
    var rejectionReported = false
}

/// Logs and counts one refused certificate or TLS handshake (both ends use it).
func reportPeerTLSRejection(
    _ reason: String, detail: String, remote: (any Sendable)?, logger: Logger, metrics: NodeMetrics
) {
    metrics.peerTLSRejected(reason: reason)
    logger.warning(
        "refused a peer connection at TLS",
        metadata: ["reason": "\(reason)", "detail": "\(detail)", "remote": "\(remote.map { "\($0)" } ?? "?")"])
}
