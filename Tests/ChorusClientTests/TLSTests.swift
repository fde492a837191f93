import ChorusAPI
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Testing

@testable import ChorusClient

/// `https://` endpoints with a cluster CA file, against a local HTTPS server
/// whose certificate that CA signed (`Fixtures/`).
@Suite struct TLSTests {
    static func serverBuilder() throws -> HTTPServerBuilder {
        let chain = try NIOSSLCertificate.fromPEMFile(fixture("test-server.pem")).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: fixture("test-server-key.pem"), format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        // A client that closes without its close_notify must not hold the test server's shutdown for NIOSSL's 5 s.
        tls.shutdownTimeout = .milliseconds(100)
        return try .tls(.http1(), tlsConfiguration: tls)
    }

    static func configuration(trusting file: String, operationMilliseconds: Int = 5_000) -> ChorusClient.Configuration {
        var configuration = quickConfiguration(operationMilliseconds: operationMilliseconds)
        configuration.trustRoots = .file(fixture(file))
        return configuration
    }

    @Test func aClientTrustingTheClusterCATalksHTTPS() async throws {
        let server = ScriptedServer { request, _ in
            request.method == "PUT" ? .ok(version: 6) : .value("secret", version: 6, index: 6)
        }
        try await server.run(server: try Self.serverBuilder(), scheme: "https") { url in
            var configuration = Self.configuration(trusting: "test-ca.pem")
            configuration.bearerToken = "token"
            let client = try ChorusClient(endpoints: [url], configuration: configuration)
            #expect(try await client.put("k", Array("secret".utf8)) == 6)
            #expect(try await client.get("k")?.value == Array("secret".utf8))
            #expect(server.requests.count == 2)
            #expect(server.requests.allSatisfy { $0.header("Authorization") == "Bearer token" })
            await client.shutdownAndWait()
        }
    }

    @Test func aServerTheCADidNotSignIsRefusedBeforeAnyRequest() async throws {
        let server = ScriptedServer(always: .ok(version: 1))
        try await server.run(server: try Self.serverBuilder(), scheme: "https") { url in
            let client = try ChorusClient(endpoints: [url], configuration: Self.configuration(trusting: "test-other-ca.pem", operationMilliseconds: 600))
            let error = await failure { try await client.put("k", [1]) }
            guard case .unavailable = error else {
                Issue.record("a failed handshake sends nothing: expected unavailable, got \(String(describing: error))")
                return
            }
            #expect(server.requests.isEmpty)
        }
    }

    @Test func aRedirectFromHTTPSToPlainHTTPIsNotFollowed() async throws {
        let plain = ScriptedServer(always: .ok(version: 1))
        try await plain.run { plainURL in
            let server = ScriptedServer(always: .redirect(to: plainURL + "/v1/kv/k"))
            try await server.run(server: try Self.serverBuilder(), scheme: "https") { url in
                var configuration = Self.configuration(trusting: "test-ca.pem", operationMilliseconds: 3_000)
                configuration.minimumAttemptMilliseconds = 1_000
                configuration.bearerToken = "token"
                let client = try ChorusClient(endpoints: [url], configuration: configuration)
                let error = await failure { try await client.put("k", [1]) }
                guard case .unavailable = error else {
                    Issue.record("expected unavailable, got \(String(describing: error))")
                    return
                }
                #expect(plain.requests.isEmpty, "neither the body nor the token left TLS")
                #expect(!server.requests.isEmpty)
                await client.shutdownAndWait()
            }
        }
    }
}
