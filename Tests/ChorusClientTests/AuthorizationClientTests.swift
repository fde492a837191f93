import ChorusAPI
import ChorusAuthorization
import ChorusService
import Testing

@testable import ChorusClient

/// The client's `bearerToken` against a node that enforces authorization:
/// sent on every request, and the node's refusals reach the caller as the
/// API's codes and statuses (never retried: nothing changes by retrying).
@Suite struct AuthorizationClientTests {
    @Test func tokensAreSentAndRefusalsCarryTheirCodes() async throws {
        let keyring = try Keyring(keys: [Keyring.Key(id: "k1", secret: Array(repeating: 5, count: 32))], activeKeyID: "k1")
        let authority = TokenAuthority(keyring: keyring, algorithm: HMACSHA256TokenSignature())
        let now = ServiceAuthorization.systemSeconds()
        let writer = try authority.issue(subject: "app", roles: ["writer"], issuedAt: now, lifetimeSeconds: 600)
        let reader = try authority.issue(subject: "report", roles: ["reader"], issuedAt: now, lifetimeSeconds: 600)
        try await InProcessNode.run(authorization: .enforced(keyring: keyring)) { url, _ in
            func client(_ token: String?) throws -> ChorusClient {
                var configuration = quickConfiguration()
                configuration.bearerToken = token
                return try ChorusClient(endpoints: [url], configuration: configuration)
            }
            let asWriter = try client(writer)
            let version = try await asWriter.put("k", [1])
            #expect(try await asWriter.get("k")?.version == version)

            let anonymous = try client(nil)
            guard case .api(let missing, let status)? = await failure({ try await anonymous.get("k") }) else {
                Issue.record("expected 401")
                return
            }
            #expect(missing.code == .unauthenticated && status == 401)

            let asReader = try client(reader)
            #expect(try await asReader.get("k")?.value == [1])
            guard case .api(let denied, let deniedStatus)? = await failure({ try await asReader.put("k", [2]) }) else {
                Issue.record("expected 403")
                return
            }
            #expect(denied.code == .permissionDenied && deniedStatus == 403)
            #expect(try await asWriter.get("k")?.value == [1], "the refused write did nothing")
        }
    }
}
