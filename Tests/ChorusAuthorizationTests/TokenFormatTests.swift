import ChorusAPI
import ChorusCore
import Testing

@testable import ChorusAuthorization

/// The claims codec and the token text: round trips, exact bounds, and
/// every malformed shape refused as `malformed` (never a trap), including
/// seeded random mutations of a valid token.
@Suite struct TokenFormatTests {
    static let claims = TokenClaims(keyID: "k1", subject: "alice", issuedAt: 1_000, expiresAt: 4_600, roles: ["reader", "orders-service"])

    @Test func claimsRoundTrip() throws {
        #expect(try TokenClaims(decoding: Self.claims.encoded) == Self.claims)
        var empty = Self.claims
        empty.roles = []
        #expect(try TokenClaims(decoding: empty.encoded) == empty)
    }

    @Test func claimsProblems() {
        var claims = Self.claims
        claims.subject = ""
        #expect(claims.problem == "the subject must be 1 to 256 bytes")
        claims.subject = "a\nb"
        #expect(claims.problem == "the subject has control characters")
        claims = Self.claims
        claims.expiresAt = claims.issuedAt
        #expect(claims.problem == "it expires before it is issued")
        claims.expiresAt = claims.issuedAt + AuthorizationLimits.maximumLifetimeSeconds + 1
        #expect(claims.problem == "a token lives at most \(AuthorizationLimits.maximumLifetimeSeconds) seconds")
        claims = Self.claims
        claims.roles = Array(repeating: "r", count: AuthorizationLimits.maximumRolesPerToken + 1)
        #expect(claims.problem == "at most 16 roles")
        claims = Self.claims
        claims.keyID = "k 1"
        #expect(claims.problem == "the key id must be 1 to 64 of a-z A-Z 0-9 - _ .")
    }

    @Test func decoderBoundsCountsBeforeAllocating() {
        // A role count of a billion in a 20-byte payload is refused by the count bound.
        var writer = ByteWriter()
        writer.write(TokenClaims.formatVersion)
        writer.writeLengthPrefixed(Array("k1".utf8))
        writer.writeLengthPrefixed(Array("alice".utf8))
        writer.writeVarint(UInt64(1))
        writer.writeVarint(UInt64(2))
        writer.writeVarint(UInt64(1_000_000_000))
        #expect(throws: TokenError.self) { try TokenClaims(decoding: writer.bytes) }
        #expect(throws: TokenError.malformed("the claims exceed 2048 bytes")) {
            try TokenClaims(decoding: [UInt8](repeating: 1, count: AuthorizationLimits.maximumPayloadBytes + 1))
        }
        #expect(throws: TokenError.malformed("claims format 2 is unknown")) {
            var bytes = Self.claims.encoded
            bytes[0] = 2
            return try TokenClaims(decoding: bytes)
        }
        var trailing = Self.claims.encoded
        trailing.append(0)
        #expect(throws: TokenError.self) { try TokenClaims(decoding: trailing) }
    }

    static let signature = [UInt8](repeating: 7, count: AuthorizationLimits.signatureBytes)
    static var text: String { SignedToken.signingInput(claims) + "." + Base64URL.encode(signature) }

    @Test func splitsAValidText() throws {
        let (claims, input, signature) = try SignedToken.split(Self.text)
        #expect(claims == Self.claims)
        #expect(input == Array(SignedToken.signingInput(Self.claims).utf8))
        #expect(signature == Self.signature)
        #expect(Self.text.hasPrefix("chorus1."))
        // token68 (RFC 6750 §2.1): it travels in an Authorization header unchanged.
        #expect(Self.text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: ".")].contains(byte)
        })
    }

    @Test func refusesMalformedTexts() {
        let payload = Base64URL.encode(Self.claims.encoded)
        let signature = Base64URL.encode(Self.signature)
        let cases: [(String, TokenError)] = [
            ("", .malformed("a Chorus token has the form chorus1.<claims>.<signature>")),
            ("chorus2.\(payload).\(signature)", .malformed("a Chorus token has the form chorus1.<claims>.<signature>")),
            ("chorus1.\(payload)", .malformed("a Chorus token has the form chorus1.<claims>.<signature>")),
            ("chorus1.\(payload).\(signature).x", .malformed("a Chorus token has the form chorus1.<claims>.<signature>")),
            ("chorus1.\(payload)=.\(signature)", .malformed("the claims are not base64url")),
            ("chorus1.\(payload).\(signature.dropLast(2))", .malformed("the signature is not 32 bytes of base64url")),
            ("chorus1..\(signature)", .malformed("the claims do not decode: input truncated at byte 0: 1 more byte(s) needed")),
            (String(repeating: "a", count: AuthorizationLimits.maximumTokenTextBytes + 1), .malformed("a token is at most 4096 bytes")),
        ]
        for (text, error) in cases {
            #expect(throws: error, "\(text.prefix(80))") { try SignedToken.split(text) }
        }
    }

    /// A mutation that once split into claims of another spelling (seed
    /// 9111694876952481493): refused, since its claims re-encode differently.
    @Test func claimsInANonCanonicalSpellingAreRefused() {
        let text = "chorus1.AQJrMQVhbGljZegA-CMCBnJlYWRlcg5vcmRlcnMtc2VydmljZQ." + Base64URL.encode(Self.signature)
        #expect(throws: TokenError.self) { try SignedToken.split(text) }
    }

    /// Random byte changes of a valid token never trap, and never split into
    /// other claims with the same signing input.
    @Test func mutationsNeverTrap() {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("TokenFormatTests.mutationsNeverTrap seed \(seed)")
        var random = SeededGenerator(seed: seed)
        let original = Array(Self.text.utf8)
        var refused = 0
        for _ in 0..<2_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0x21...0x7E, using: &random)
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0x21...0x7E, using: &random), at: index)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let (claims, input, _) = try SignedToken.split(text)
                // What splits still signs exactly what it says.
                #expect(input == Array(SignedToken.signingInput(claims).utf8), "seed \(seed): \(text)")
            } catch {
                refused += 1
            }
        }
        #expect(refused > 1_000, "seed \(seed)")
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [0, 2, 3]))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 3]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func keyringFileRoundTripAndRotation() throws {
        let first = Keyring.Key(id: "k1", secret: [UInt8](repeating: 1, count: 32))
        let second = Keyring.Key(id: "k2", secret: [UInt8](repeating: 2, count: 48))
        let keyring = try Keyring(keys: [first], activeKeyID: "k1")
        #expect(try Keyring(parsing: Array(keyring.fileText.utf8)) == keyring)
        let rotated = try keyring.rotating(to: second)
        #expect(rotated.activeKeyID == "k2")
        #expect(rotated.secret(of: "k1") == first.secret)
        let revoked = try rotated.removing("k1")
        #expect(revoked.secret(of: "k1") == nil)
        #expect(revoked.activeSecret == second.secret)
        #expect(throws: KeyringError("the active key 'k2' cannot be removed; rotate to another first")) { try rotated.removing("k2") }
        #expect(throws: KeyringError("key 'k3' has a 16-byte secret; it must be 32 to 64 bytes")) {
            try keyring.rotating(to: Keyring.Key(id: "k3", secret: [UInt8](repeating: 3, count: 16)))
        }
        #expect(throws: KeyringError("key id 'k1' appears twice")) { try keyring.rotating(to: first) }
        #expect(throws: KeyringError("the active key 'k9' is not in the keyring")) { try Keyring(keys: [first], activeKeyID: "k9") }
        #expect(throws: KeyringError("keys[0] must be {\"id\": …, \"secret\": <base64url>}")) {
            try Keyring(parsing: Array("{\"active\":\"k1\",\"keys\":[{\"id\":\"k1\",\"secret\":\"!!\"}]}".utf8))
        }
    }

    /// The limits agree with each other: a token of the largest claims fits the text bound.
    @Test func limitsRelate() {
        let largest = TokenClaims(
            keyID: String(repeating: "k", count: AuthorizationLimits.maximumKeyIDBytes),
            subject: String(repeating: "s", count: AuthorizationLimits.maximumSubjectBytes), issuedAt: UInt64.max - 1,
            expiresAt: UInt64.max,
            roles: Array(repeating: String(repeating: "r", count: AuthorizationLimits.maximumRoleNameBytes), count: AuthorizationLimits.maximumRolesPerToken))
        #expect(largest.encoded.count <= AuthorizationLimits.maximumPayloadBytes)
        let text = SignedToken.signingInput(largest) + "." + Base64URL.encode(Self.signature)
        #expect(text.utf8.count <= AuthorizationLimits.maximumTokenTextBytes)
        #expect(AuthorizationLimits.minimumSecretBytes >= AuthorizationLimits.signatureBytes)
    }
}
