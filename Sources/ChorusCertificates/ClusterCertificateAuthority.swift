import ChorusCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// A cluster's certificate authority: a self-signed P-256 ECDSA certificate
/// (basic constraints CA, path length 0, key usage keyCertSign) and its key.
/// It signs every node certificate of the cluster directly; a node trusts
/// this one certificate and no system root (`PeerCertificateVerifier`).
///
/// A node certificate (RFC 5280 §4.2) carries:
/// - subject `CN=chorus-node-N` (informational) and the SAN URI
///   `chorus://node/N`, which is the node's identity (`PeerIdentity`);
/// - DNS and IP SANs (`localhost`, `127.0.0.1`, `::1` and any `hosts`), for
///   tools that check host names; Chorus itself does not;
/// - extended key usage serverAuth and clientAuth (a node both accepts and
///   dials), key usage digitalSignature, basic constraints not-a-CA.
public struct ClusterCertificateAuthority: Sendable {
    public let certificate: Certificate
    public let privateKey: Certificate.PrivateKey

    /// The longest validity the tools issue (about 100 years).
    public static let validityDaysMaximum = 36_500
    /// A CA made by `chorus certs create-ca` (or a local cluster) lasts this long by default.
    public static let authorityValidityDaysDefault = 3_650
    /// A node certificate lasts this long by default.
    public static let nodeValidityDaysDefault = 825
    /// Certificates start this long before they are made, so a peer whose
    /// clock is a little behind does not see them as not yet valid.
    public static let backdateSeconds: TimeInterval = 300
    /// The most extra host names one node certificate carries.
    public static let maximumHosts = 32
    /// The longest host name accepted (RFC 1035 §2.3.4).
    public static let maximumHostBytes = 253

    /// Hosts every node certificate names, so `openssl s_client` and the like
    /// can connect to a local cluster by its usual names.
    public static let defaultHosts = ["localhost", "127.0.0.1", "::1"]

    /// Takes a CA from its parts, checking that they fit: the certificate is
    /// a CA allowed to sign certificates and the key is its own.
    public init(certificate: Certificate, privateKey: Certificate.PrivateKey) throws(ClusterCertificateError) {
        guard privateKey.publicKey == certificate.publicKey else {
            throw .mismatch("the CA key is not the CA certificate's key")
        }
        let constraints: BasicConstraints?
        let usage: KeyUsage?
        do {
            constraints = try certificate.extensions.basicConstraints
            usage = try certificate.extensions.keyUsage
        } catch {
            throw .mismatch("the CA certificate's extensions do not decode: \(error)")
        }
        guard case .isCertificateAuthority = constraints else {
            throw .mismatch("the CA certificate is not a certificate authority (basic constraints)")
        }
        guard usage?.keyCertSign == true else {
            throw .mismatch("the CA certificate may not sign certificates (key usage keyCertSign)")
        }
        guard certificate.issuer == certificate.subject,
            certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
        else {
            throw .mismatch("the CA certificate is not self-signed")
        }
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// A new CA with a fresh P-256 key.
    public static func create(
        commonName: String = "Chorus cluster CA", validityDays: Int = authorityValidityDaysDefault, now: Date = Date()
    ) throws(ClusterCertificateError) -> ClusterCertificateAuthority {
        try checkValidity(days: validityDays)
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        do {
            let name = try DistinguishedName {
                OrganizationName("Chorus")
                CommonName(commonName)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                notValidBefore: now - backdateSeconds, notValidAfter: now + TimeInterval(validityDays) * 86_400,
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: key.publicKey)
                },
                issuerPrivateKey: key)
            return try ClusterCertificateAuthority(certificate: certificate, privateKey: key)
        } catch let error as ClusterCertificateError {
            throw error
        } catch {
            throw .invalidArgument("cannot make the CA certificate: \(error)")
        }
    }

    /// Issues `node`'s certificate, valid from `notValidBefore` to
    /// `notValidAfter` (tests pass past dates to make an expired one).
    public func issue(
        node: NodeID, hosts: [String] = [], notValidBefore: Date, notValidAfter: Date
    ) throws(ClusterCertificateError) -> IssuedCertificate {
        guard node != .none else { throw .invalidArgument("the node id must be a positive integer") }
        guard notValidBefore < notValidAfter else { throw .invalidArgument("a certificate must start before it ends") }
        guard hosts.count <= Self.maximumHosts else { throw .invalidArgument("at most \(Self.maximumHosts) host names") }
        var names: [GeneralName] = [.uniformResourceIdentifier(PeerIdentity.uri(for: node))]
        for host in Self.defaultHosts + hosts {
            let name = try Self.generalName(host)
            if !names.contains(name) { names.append(name) }
        }
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        do {
            let subject = try DistinguishedName {
                OrganizationName("Chorus")
                CommonName(PeerIdentity.commonName(for: node))
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                notValidBefore: notValidBefore, notValidAfter: notValidAfter, issuer: self.certificate.subject,
                subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    SubjectAlternativeNames(names)
                    SubjectKeyIdentifier(hash: key.publicKey)
                    AuthorityKeyIdentifier(keyIdentifier: try self.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
                },
                issuerPrivateKey: privateKey)
            return IssuedCertificate(node: node, certificate: certificate, privateKey: key)
        } catch {
            throw .invalidArgument("cannot make node \(node.rawValue)'s certificate: \(error)")
        }
    }

    /// Issues `node`'s certificate for `validityDays` from now.
    public func issue(
        node: NodeID, hosts: [String] = [], validityDays: Int = nodeValidityDaysDefault, now: Date = Date()
    ) throws(ClusterCertificateError) -> IssuedCertificate {
        try Self.checkValidity(days: validityDays)
        return try issue(
            node: node, hosts: hosts, notValidBefore: now - Self.backdateSeconds,
            notValidAfter: now + TimeInterval(validityDays) * 86_400)
    }

    static func checkValidity(days: Int) throws(ClusterCertificateError) {
        guard (1...validityDaysMaximum).contains(days) else {
            throw .invalidArgument("the validity must be 1 to \(validityDaysMaximum) days")
        }
    }

    /// An IP address SAN for a numeric host, a DNS name otherwise.
    static func generalName(_ host: String) throws(ClusterCertificateError) -> GeneralName {
        guard !host.isEmpty, host.utf8.count <= maximumHostBytes else {
            throw .invalidArgument("a host name must be 1 to \(maximumHostBytes) bytes")
        }
        if let address = IPAddressBytes.parse(host) { return .ipAddress(ASN1OctetString(contentBytes: address[...])) }
        guard host.utf8.allSatisfy({ byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "*")
        }) else {
            throw .invalidArgument("'\(host)' is neither an IP address nor a DNS name")
        }
        return .dnsName(host)
    }
}

/// A node's certificate and the key it was issued for.
public struct IssuedCertificate: Sendable {
    public let node: NodeID
    public let certificate: Certificate
    public let privateKey: Certificate.PrivateKey

    /// The certificate as PEM text.
    public func certificatePEM() throws(ClusterCertificateError) -> String {
        try CertificateFiles.pem(of: certificate, path: "node \(node.rawValue)'s certificate")
    }

    /// The private key as PEM text.
    public func privateKeyPEM() throws(ClusterCertificateError) -> String {
        try CertificateFiles.pem(of: privateKey, path: "node \(node.rawValue)'s key")
    }
}

extension ClusterCertificateAuthority {
    /// The CA certificate as PEM text.
    public func certificatePEM() throws(ClusterCertificateError) -> String {
        try CertificateFiles.pem(of: certificate, path: "the CA certificate")
    }

    /// The credentials of a node this CA issued `issued` for.
    public func credentials(for issued: IssuedCertificate) throws(ClusterCertificateError) -> PeerCredentials {
        try PeerCredentials(
            authorityPEM: certificatePEM(), certificatePEM: issued.certificatePEM(), privateKeyPEM: issued.privateKeyPEM())
    }
}

/// Numeric IPv4 and IPv6 addresses as the bytes an IP SAN holds (inet_pton).
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
