import ChorusCertificates
import ChorusCore
import Foundation
import Testing
import SwiftASN1
import X509

/// The CA and node certificates round-trip through their PEM files and are
/// what the peer verifier accepts; every other certificate is refused for
/// its own reason.
@Suite struct ClusterCertificateAuthorityTests {
    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "chorus-certs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    @Test func aCAAndANodeCertificateRoundTripThroughTheirFilesAndVerify() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterCertificateAuthority.create()
        try CertificateFiles.write(authority, to: directory)
        let reread = try CertificateFiles.readAuthority(from: directory)
        #expect(reread.certificate == authority.certificate)
        #expect(reread.privateKey.publicKey == authority.privateKey.publicKey)

        let issued = try reread.issue(node: 3, hosts: ["chorus-3.internal", "10.0.0.3"])
        try CertificateFiles.write(issued, to: directory)
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory + "/node-3-key.pem")[.posixPermissions] as? Int
        let caKeyMode = try FileManager.default.attributesOfItem(atPath: directory + "/ca-key.pem")[.posixPermissions] as? Int
        #expect(keyMode == 0o600 && caKeyMode == 0o600, "private keys are readable by their owner only")

        let credentials = try PeerCredentials.load(
            authorityFile: directory + "/ca.pem", certificateFile: directory + "/node-3.pem",
            privateKeyFile: directory + "/node-3-key.pem")
        #expect(credentials.node == 3)
        #expect(credentials.validityProblem() == nil)
        let certificate = credentials.certificate
        #expect(certificate.subject.description.contains("CN=chorus-node-3"))
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.uniformResourceIdentifier("chorus://node/3")))
        #expect(names.contains(.dnsName("localhost")) && names.contains(.dnsName("chorus-3.internal")))
        #expect(names.contains(.ipAddress(.init(contentBytes: [127, 0, 0, 1]))))
        #expect(names.contains(.ipAddress(.init(contentBytes: [10, 0, 0, 3]))))
        let usage = try #require(try certificate.extensions.extendedKeyUsage)
        #expect(usage.contains(.serverAuth) && usage.contains(.clientAuth))
        #expect(try authority.certificate.extensions.keyUsage?.keyCertSign == true)

        let verifier = credentials.verifier
        let der = try Self.der(certificate)
        #expect(verifier.verify(chain: [der], presentedBy: .dialler) == .success(3))
        #expect(verifier.verify(chain: [der], presentedBy: .acceptor, expecting: 3) == .success(3))
        #expect(await verifier.agreesWithRFC5280Verifier(chain: [der]), "swift-certificates' Verifier accepts it too")
    }

    /// Each bad certificate is refused for its own reason, and wherever the
    /// reason is one RFC 5280 path validation also covers (another CA,
    /// expired, not yet valid), swift-certificates' `Verifier` refuses it too.
    @Test func theVerifierRefusesEachBadCertificateForItsOwnReason() async throws {
        let authority = try ClusterCertificateAuthority.create()
        let verifier = PeerCertificateVerifier(authority: authority.certificate)
        let good = try Self.der(authority.issue(node: 2).certificate)
        #expect(verifier.verify(chain: [good], presentedBy: .dialler) == .success(2), "the control passes")
        #expect(await verifier.agreesWithRFC5280Verifier(chain: [good]))

        let now = Date()
        let pathFailures: [(String, [UInt8])] = [
            ("unknown_authority", try Self.der(ClusterCertificateAuthority.create().issue(node: 2).certificate)),
            ("expired", try Self.der(authority.issue(node: 2, notValidBefore: now - 7_200, notValidAfter: now - 3_600).certificate)),
            ("not_yet_valid", try Self.der(authority.issue(node: 2, notValidBefore: now + 3_600, notValidAfter: now + 7_200).certificate)),
        ]
        for (reason, der) in pathFailures {
            #expect(verifier.verify(chain: [der], presentedBy: .dialler).failure?.label == reason)
            #expect(await !verifier.agreesWithRFC5280Verifier(chain: [der]), "\(reason): the library Verifier accepts it")
        }
        // A node certificate checked at a time past the CA's own validity.
        #expect(
            verifier.verify(chain: [good], presentedBy: .dialler, now: authority.certificate.notValidAfter + 1).failure?.label
                == "expired")

        #expect(
            verifier.verify(chain: [good], presentedBy: .acceptor, expecting: 3)
                == .failure(.identityMismatch(certified: 2, expected: 3)))
        #expect(verifier.verify(chain: [], presentedBy: .dialler) == .failure(.noCertificate))
        #expect(verifier.verify(chain: [[0x30, 0x03, 1, 2, 3]], presentedBy: .dialler).failure?.label == "malformed")
        #expect(verifier.verify(chain: Array(repeating: good, count: 5), presentedBy: .dialler).failure?.label == "malformed")
        // The CA's own certificate is signed by the CA but is no node's.
        #expect(
            verifier.verify(chain: [try Self.der(authority.certificate)], presentedBy: .dialler).failure?.label == "wrong_usage")
    }

    @Test func theIdentityRuleIsExactlyOneWellFormedNodeURI() {
        #expect(PeerIdentity.node(fromURI: "chorus://node/7") == 7)
        #expect(PeerIdentity.uri(for: 12) == "chorus://node/12")
        for bad in ["chorus://node/0", "chorus://node/07", "chorus://node/", "chorus://node/-1", "chorus://node/1/x",
            "chorus://nodes/1", "http://node/1", "chorus://node/99999999999999999999999"] {
            #expect(PeerIdentity.node(fromURI: bad) == nil, "\(bad)")
        }
    }

    @Test func badArgumentsAndFilesAreTypedErrors() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(Self.refusal { try ClusterCertificateAuthority.create(validityDays: 0) }?.description == "the validity must be 1 to 36500 days")
        let authority = try ClusterCertificateAuthority.create()
        #expect(Self.refusal { try authority.issue(node: 0) } == .invalidArgument("the node id must be a positive integer"))
        #expect(
            Self.refusal { try authority.issue(node: 1, hosts: ["not a host"]) }
                == .invalidArgument("'not a host' is neither an IP address nor a DNS name"))
        try CertificateFiles.write(authority, to: directory)
        #expect(Self.refusal { try CertificateFiles.write(authority, to: directory) } == .exists(path: directory + "/ca.pem"))
        #expect(
            Self.refusal { try CertificateFiles.readAuthority(from: directory + "/missing") }
                == .unreadable(path: directory + "/missing/ca.pem", reason: "No such file or directory"))

        try "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".write(
            toFile: directory + "/garbage.pem", atomically: true, encoding: .utf8)
        do {
            _ = try CertificateFiles.readCertificate(directory + "/garbage.pem")
            Issue.record("a malformed PEM was accepted")
        } catch {
            guard case .malformed(let path, _) = error else { throw error }
            #expect(path == directory + "/garbage.pem")
        }
        let large = String(repeating: "A", count: CertificateFiles.maximumFileBytes + 1)
        try large.write(toFile: directory + "/large.pem", atomically: true, encoding: .utf8)
        #expect(
            Self.refusal { try CertificateFiles.readCertificate(directory + "/large.pem") }
                == .unreadable(path: directory + "/large.pem", reason: "larger than 65536 bytes"))

        // A node key that is not its certificate's, and a certificate of another CA.
        let issued = try authority.issue(node: 1)
        try CertificateFiles.write(issued, to: directory)
        try CertificateFiles.write(try authority.issue(node: 2), to: directory)
        #expect(
            Self.refusal {
                try PeerCredentials.load(
                    authorityFile: directory + "/ca.pem", certificateFile: directory + "/node-1.pem",
                    privateKeyFile: directory + "/node-2-key.pem")
            } == .mismatch(directory + "/node-1.pem: the node key is not the node certificate's key"))
        let foreign = directory + "/foreign"
        try CertificateFiles.write(try ClusterCertificateAuthority.create(), to: foreign)
        #expect(
            Self.refusal {
                try PeerCredentials.load(
                    authorityFile: foreign + "/ca.pem", certificateFile: directory + "/node-1.pem",
                    privateKeyFile: directory + "/node-1-key.pem")
            } == .mismatch(directory + "/node-1.pem: the node certificate was not issued by this CA"))
    }

    /// The tooling's error `body` throws; nil if it throws nothing (or another error).
    static func refusal<Value>(_ body: () throws -> Value) -> ClusterCertificateError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? ClusterCertificateError
        }
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
