import ChorusCore
import X509

/// The one rule that binds a certificate to a node: the certificate's
/// subject alternative names hold exactly one URI of the form
/// `chorus://node/<id>` (a positive decimal id, no leading zeros), and that
/// id is the node's identity.
///
/// The common name (`CN=chorus-node-<id>`) and the DNS/IP names are for
/// people and tools (openssl, logs); they play no part in authentication.
/// A URI SAN is the identity because it is typed and unambiguous, as SPIFFE
/// IDs are (spiffe.io, "X.509-SVID", §2): a name that parses as anything
/// else, or a certificate with zero or two node URIs, names no node.
public enum PeerIdentity {
    /// The URI scheme and authority every node URI starts with.
    public static let uriPrefix = "chorus://node/"

    /// The longest node URI accepted (the prefix plus twenty digits).
    public static let maximumURIBytes = uriPrefix.utf8.count + 20

    /// The URI that names `node`.
    public static func uri(for node: NodeID) -> String { uriPrefix + "\(node.rawValue)" }

    /// The common name given to `node`'s certificate (informational only).
    public static func commonName(for node: NodeID) -> String { "chorus-node-\(node.rawValue)" }

    /// Parses a node URI; nil for anything that is not exactly one.
    public static func node(fromURI uri: String) -> NodeID? {
        guard uri.utf8.count <= maximumURIBytes, uri.hasPrefix(uriPrefix) else { return nil }
        let digits = uri.dropFirst(uriPrefix.count)
        guard let first = digits.first, first != "0", digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = UInt64(digits), value > 0
        else { return nil }
        return NodeID(value)
    }

    /// The node a certificate names, by the rule above.
    public static func node(certifiedBy certificate: Certificate) throws(PeerCertificateRejection) -> NodeID {
        let names: SubjectAlternativeNames?
        do {
            names = try certificate.extensions.subjectAlternativeNames
        } catch {
            throw .malformed("its subject alternative names do not decode: \(error)")
        }
        var found: [NodeID] = []
        var nodeURIs = 0
        for name in names ?? SubjectAlternativeNames() {
            guard case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix(uriPrefix) else { continue }
            nodeURIs += 1
            if let node = node(fromURI: uri) { found.append(node) }
        }
        guard nodeURIs == 1, let node = found.first else {
            throw .noIdentity(nodeURIs == 0 ? "no \(uriPrefix)N name" : "\(nodeURIs) \(uriPrefix) names, not exactly one valid")
        }
        return node
    }
}
