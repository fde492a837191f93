import ChorusCore
import Foundation
import SwiftASN1
import X509

/// Decides whether a certificate chain presented on a peer link is a node of
/// this cluster, and which: the one check both ends of a link run during the
/// TLS handshake (NIOSSL's custom verification callback replaces BoringSSL's
/// own, so no system root is ever consulted).
///
/// The steps, in order, each with its own rejection reason:
/// 1. a certificate is present, at most `maximumChainLength` of them, each
///    at most `maximumCertificateBytes`, and the leaf parses;
/// 2. the leaf is signed by the cluster CA (which signs node certificates
///    directly: a chain through an intermediate is refused);
/// 3. now is within the leaf's validity period;
/// 4. the leaf is not a CA and its extended key usage allows this end
///    (clientAuth for the node that dialled, serverAuth for the one accepting);
/// 5. it names exactly one node (`PeerIdentity`), and that node is the one
///    expected, when the caller knows which (the node it dialled);
/// 6. swift-certificates' `Verifier` with `RFC5280Policy` agrees (path
///    building to the CA, basic constraints, unknown critical extensions,
///    the validity of the CA itself).
///
/// The acceptor learns the peer's claimed id only from the handshake frame
/// that follows TLS, so it passes no expected node and compares the returned
/// one with the claim before any Raft frame is read.
public struct PeerCertificateVerifier: Sendable {
    public let authority: Certificate

    /// A node presents its certificate alone; a little room for a CA copy.
    public static let maximumChainLength = 4
    /// The largest DER certificate accepted (a P-256 node certificate is under 1 KiB).
    public static let maximumCertificateBytes = 16 << 10

    /// Which end of a peer link presented the certificate.
    public enum Presenter: Sendable {
        /// The node that opened the connection (a TLS client): needs clientAuth.
        case dialler
        /// The node that accepted it (a TLS server): needs serverAuth.
        case acceptor
    }

    public init(authority: Certificate) { self.authority = authority }

    /// Verifies a chain of DER certificates, leaf first, as TLS presented it.
    public func verify(chain: [[UInt8]], presentedBy presenter: Presenter, expecting expected: NodeID? = nil) async
        -> Result<NodeID, PeerCertificateRejection>
    {
        do {
            let (leaf, intermediates) = try Self.parse(chain)
            let node = try check(leaf, presentedBy: presenter, expecting: expected, now: Date())
            var verifier = Verifier(rootCertificates: CertificateStore([authority])) { RFC5280Policy() }
            switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
            case .validCertificate:
                return .success(node)
            case .couldNotValidate(let failures):
                let reasons = failures.map(\.policyFailureReason.description)
                return .failure(.policy(reasons.isEmpty ? "no chain to the cluster CA" : reasons.joined(separator: "; ")))
            }
        } catch {
            return .failure(error)
        }
    }

    static func parse(_ chain: [[UInt8]]) throws(PeerCertificateRejection) -> (Certificate, [Certificate]) {
        guard !chain.isEmpty else { throw .noCertificate }
        guard chain.count <= maximumChainLength else {
            throw .malformed("a chain of \(chain.count) certificates (at most \(maximumChainLength))")
        }
        var certificates: [Certificate] = []
        for der in chain {
            guard der.count <= maximumCertificateBytes else {
                throw .malformed("a certificate of \(der.count) bytes (at most \(maximumCertificateBytes))")
            }
            do { certificates.append(try Certificate(derEncoded: der)) } catch { throw .malformed("\(error)") }
        }
        return (certificates[0], Array(certificates.dropFirst()))
    }

    /// Steps 2 to 5 on a parsed leaf.
    func check(_ leaf: Certificate, presentedBy presenter: Presenter, expecting expected: NodeID?, now: Date)
        throws(PeerCertificateRejection) -> NodeID
    {
        guard leaf.issuer == authority.subject, authority.publicKey.isValidSignature(leaf.signature, for: leaf) else {
            throw .unknownAuthority("issued by \(leaf.issuer), not by this cluster's CA")
        }
        if now > leaf.notValidAfter { throw .expired("valid until \(leaf.notValidAfter)") }
        if now < leaf.notValidBefore { throw .notYetValid("valid from \(leaf.notValidBefore)") }
        try Self.checkUsage(of: leaf, for: presenter)
        let node = try PeerIdentity.node(certifiedBy: leaf)
        if let expected, expected != node {
            throw .identityMismatch(certified: node.rawValue, expected: expected.rawValue)
        }
        return node
    }

    /// A node certificate is not a CA, and its extended key usage names the
    /// presenter's end of the link.
    static func checkUsage(of certificate: Certificate, for presenter: Presenter) throws(PeerCertificateRejection) {
        let constraints: BasicConstraints?
        let usage: ExtendedKeyUsage?
        do {
            constraints = try certificate.extensions.basicConstraints
            usage = try certificate.extensions.extendedKeyUsage
        } catch {
            throw .malformed("its extensions do not decode: \(error)")
        }
        if case .isCertificateAuthority = constraints { throw .wrongUsage("a CA certificate, not a node's") }
        let needed: ExtendedKeyUsage.Usage = presenter == .dialler ? .clientAuth : .serverAuth
        guard let usage, usage.contains(needed) else {
            throw .wrongUsage("its extended key usage lacks \(presenter == .dialler ? "clientAuth" : "serverAuth")")
        }
    }
}
