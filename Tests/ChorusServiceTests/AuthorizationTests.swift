import ChorusAPI
import ChorusAuthorization
import Testing

@testable import ChorusService

/// Tokens with the real MAC (HMAC-SHA256 from swift-crypto): its RFC 4231
/// vector, issue and verify, every refusal in its order, rotation and
/// revocation; and the service's two checks (`authenticate`, `authorize`)
/// with their codes. The checks run before a node is touched, so these need none.
@Suite struct AuthorizationTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    /// RFC 4231 §4.2, test case 1.
    @Test func hmacMatchesRFC4231() {
        let mac = HMACSHA256TokenSignature().signature(of: Array("Hi There".utf8), secret: [UInt8](repeating: 0x0b, count: 20))
        #expect(Self.hex(mac) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let secret = HMACSHA256TokenSignature.generateSecret()
        #expect(secret.count == 32 && secret != HMACSHA256TokenSignature.generateSecret())
    }

    static let first = Keyring.Key(id: "k1", secret: [UInt8](repeating: 1, count: 32))
    static let second = Keyring.Key(id: "k2", secret: [UInt8](repeating: 2, count: 32))

    static func authority(_ keys: [Keyring.Key], active: String) throws -> TokenAuthority {
        TokenAuthority(keyring: try Keyring(keys: keys, activeKeyID: active), algorithm: HMACSHA256TokenSignature())
    }

    @Test func issuedTokensVerifyUntilTheyExpire() throws {
        let authority = try Self.authority([Self.first], active: "k1")
        let token = try authority.issue(subject: "alice", roles: ["reader"], issuedAt: 1_000, lifetimeSeconds: 3_600)
        let claims = try authority.verify(token, now: 1_000)
        #expect(claims == TokenClaims(keyID: "k1", subject: "alice", issuedAt: 1_000, expiresAt: 4_600, roles: ["reader"]))
        #expect(try authority.verify(token, now: 4_599).subject == "alice")
        #expect(throws: TokenError.expired(expiresAt: 4_600)) { try authority.verify(token, now: 4_600) }
        #expect(try authority.verify(token, now: 1_000 - AuthorizationLimits.clockSkewSeconds).subject == "alice")
        #expect(throws: TokenError.notYetValid(issuedAt: 1_000)) {
            try authority.verify(token, now: 1_000 - AuthorizationLimits.clockSkewSeconds - 1)
        }
        #expect(throws: TokenError.malformed("a token lives at most \(AuthorizationLimits.maximumLifetimeSeconds) seconds")) {
            try authority.issue(subject: "alice", roles: [], issuedAt: 0, lifetimeSeconds: AuthorizationLimits.maximumLifetimeSeconds + 1)
        }
    }

    /// Changed claims under the old signature (a reader making itself admin),
    /// another key's signature under the same id, and a forged token that is
    /// also expired: each is `badSignature`, never `expired`.
    @Test func alteredAndForgedTokensAreBadSignatures() throws {
        let authority = try Self.authority([Self.first], active: "k1")
        let token = try authority.issue(subject: "alice", roles: ["reader"], issuedAt: 1_000, lifetimeSeconds: 60)
        let signature = String(token.split(separator: ".")[2])
        let elevated = TokenClaims(keyID: "k1", subject: "alice", issuedAt: 1_000, expiresAt: 1_060, roles: ["admin"])
        #expect(throws: TokenError.badSignature) { try authority.verify(SignedToken.signingInput(elevated) + "." + signature, now: 1_000) }
        let forger = try Self.authority([Keyring.Key(id: "k1", secret: [UInt8](repeating: 9, count: 32))], active: "k1")
        let forged = try forger.issue(subject: "mallory", roles: ["admin"], issuedAt: 1_000, lifetimeSeconds: 60)
        #expect(throws: TokenError.badSignature) { try authority.verify(forged, now: 1_000) }
        #expect(throws: TokenError.badSignature) { try authority.verify(forged, now: 9_999) }
    }

    @Test func rotationKeepsOldTokensUntilTheirKeyIsRevoked() throws {
        let before = try Self.authority([Self.first], active: "k1")
        let old = try before.issue(subject: "svc", roles: ["writer"], issuedAt: 1_000, lifetimeSeconds: 600)
        let rotated = TokenAuthority(keyring: try before.keyring.rotating(to: Self.second), algorithm: HMACSHA256TokenSignature())
        let new = try rotated.issue(subject: "svc", roles: ["writer"], issuedAt: 1_000, lifetimeSeconds: 600)
        #expect(try rotated.verify(old, now: 1_001).keyID == "k1")
        #expect(try rotated.verify(new, now: 1_001).keyID == "k2")
        let revoked = TokenAuthority(keyring: try rotated.keyring.removing("k1"), algorithm: HMACSHA256TokenSignature())
        #expect(throws: TokenError.unknownKey("k1")) { try revoked.verify(old, now: 1_001) }
        #expect(try revoked.verify(new, now: 1_001).subject == "svc")
    }

    /// The service's checks (`ChorusService` forwards to these, so they need no node).
    @Test func serviceChecksAnswerTheirCodes() throws {
        let authority = try Self.authority([Self.first], active: "k1")
        let now = ServiceAuthorization.systemSeconds()
        let reader = try authority.issue(subject: "alice", roles: ["reader"], issuedAt: now, lifetimeSeconds: 60)
        let expired = try authority.issue(subject: "alice", roles: ["reader"], issuedAt: now - 120, lifetimeSeconds: 60)
        let checks = ServiceAuthorization.enforced(keyring: authority.keyring)

        let caller = try checks.authenticate(bearer: reader)
        #expect(caller == Caller(subject: "alice", roles: ["reader"]))
        #expect(try checks.authenticate(bearer: nil) == .anonymous)
        #expect(throws: ServiceError(.unauthenticated, TokenError.expired(expiresAt: now - 60).description)) {
            try checks.authenticate(bearer: expired)
        }
        #expect(throws: ServiceError(.unauthenticated, "the token's subject is not 'bob'")) { try checks.authenticate(user: "bob", token: reader) }
        #expect(try checks.authenticate(user: "alice", token: reader) == caller)
        #expect(try checks.authenticate(user: "default", token: reader) == caller)

        try checks.authorize(caller, .keyspaceRead, .keyspace("orders"))
        #expect(throws: ServiceError(.permissionDenied, "alice [reader] may not keyspace.write on keyspace 'orders'")) {
            try checks.authorize(caller, .keyspaceWrite, .keyspace("orders"))
        }
        #expect(throws: ServiceError(.unauthenticated, "this operation needs a bearer token (Authorization: Bearer <token>)")) {
            try checks.authorize(.anonymous, .keyspaceRead, .keyspace("orders"))
        }
        // A caller with roles but no subject is not authenticated either.
        #expect(throws: ServiceError.self) { try checks.authorize(Caller(subject: nil, roles: ["admin"]), .keyspaceRead, .keyspace("x")) }
        #expect(ErrorCode.unauthenticated.httpStatus == 401 && ErrorCode.permissionDenied.httpStatus == 403)

        let disabled = ServiceAuthorization.disabled
        try disabled.authorize(.anonymous, .clusterMembership, .cluster)
        #expect(try disabled.authenticate(bearer: "not even a token") == .anonymous)
    }
}
