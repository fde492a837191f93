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
///    directly: any certificates after the leaf are ignored, never trusted);
/// 3. now is within the validity period of the leaf and of the CA;
/// 4. the leaf is not a CA, carries no critical extension this check does
///    not enforce, and its extended key usage allows this end (clientAuth
///    for the node that dialled, serverAuth for the one accepting);
/// 5. it names exactly one node (`PeerIdentity`), and that node is the one
///    expected, when the caller knows which (the node it dialled).
///
/// It is synchronous, so it runs on the node's event loop inside the TLS
/// handshake and never waits for a thread of Swift's cooperative pool (a
/// pool starved by other work would otherwise stall every reconnect).
/// `agreesWithRFC5280Verifier` runs swift-certificates' asynchronous
/// `Verifier` (RFC 5280 §6 path validation with the CA as the only root) on
/// the same chain; the tests hold the two to the same verdicts.
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
    /// The critical extensions step 4 enforces; any other critical one is refused (RFC 5280 §4.2).
    static let enforcedCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
        .X509ExtensionID.subjectAlternativeName,
    ]

    /// Which end of a peer link presented the certificate.
    public enum Presenter: Sendable {
        /// The node that opened the connection (a TLS client): needs clientAuth.
        case dialler
        /// The node that accepted it (a TLS server): needs serverAuth.
        case acceptor
    }

    public init(authority: Certificate) { self.authority = authority }

    /// Verifies a chain of DER certificates, leaf first, as TLS presented it.
    public func verify(
        chain: [[UInt8]], presentedBy presenter: Presenter, expecting expected: NodeID? = nil, now: Date = Date()
    ) -> Result<NodeID, PeerCertificateRejection> {
        do {
            let (leaf, _) = try Self.parse(chain)
            return .success(try check(leaf, presentedBy: presenter, expecting: expected, now: now))
        } catch {
            return .failure(error)
        }
    }

    /// Whether swift-certificates' RFC 5280 `Verifier`, with the cluster CA
    /// as its only root and the current time, accepts the chain's leaf: the
    /// reference `verify` is checked against.
    public func agreesWithRFC5280Verifier(chain: [[UInt8]]) async -> Bool {
        guard let (leaf, intermediates) = try? Self.parse(chain) else { return false }
        var verifier = Verifier(rootCertificates: CertificateStore([authority])) { RFC5280Policy() }
        if case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
            return true
        }
        return false
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
        for (name, certificate) in [("the certificate", leaf), ("the cluster CA", authority)] {
            if now > certificate.notValidAfter { throw .expired("\(name) is valid until \(certificate.notValidAfter)") }
            if now < certificate.notValidBefore { throw .notYetValid("\(name) is valid from \(certificate.notValidBefore)") }
        }
        if let unknown = leaf.extensions.first(where: { $0.critical && !Self.enforcedCriticalExtensions.contains($0.oid) }) {
            throw .policy("an unknown critical extension \(unknown.oid)")
        }
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
