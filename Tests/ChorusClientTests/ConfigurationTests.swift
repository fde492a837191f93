import AsyncHTTPClient
import ChorusAPI
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

@testable import ChorusClient

/// Endpoints, settings and TLS, checked before any request is made.
@Suite struct ConfigurationTests {
    @Test func originsParseSchemesHostsAndPorts() throws {
        let plain = try #require(HTTPOrigin.parse("http://127.0.0.1:8001/v1/kv/a?consistency=sequential"))
        #expect(plain.origin == HTTPOrigin(scheme: .http, host: "127.0.0.1", port: 8_001))
        #expect(plain.path == "/v1/kv/a?consistency=sequential")
        let secure = try #require(HTTPOrigin.parse("https://node.example"))
        #expect(secure.origin == HTTPOrigin(scheme: .https, host: "node.example", port: 443))
        #expect(secure.path == "/")
        #expect(HTTPOrigin.parse("http://node")?.origin.port == 80)
        let bracketed = try #require(HTTPOrigin.parse("http://[::1]:9000/x"))
        #expect(bracketed.origin.host == "::1")
        #expect(bracketed.origin.description == "http://[::1]:9000")
        #expect(secure.origin.description == "https://node.example:443")
        for bad in ["ftp://h:1", "h:1", "http://", "http://:80", "http://h:0", "http://h:65536", "http://h:x", "http://a@b:1", "http://[::1"] {
            #expect(HTTPOrigin.parse(bad) == nil, "\(bad) parsed")
        }
    }

    @Test func endpointsMustBeOriginsWithoutPaths() {
        #expect(throws: ChorusClientError.invalidEndpoint("http://h:1/v1")) { try ChorusClient(endpoints: ["http://h:1/v1"]) }
        #expect(throws: ChorusClientError.invalidEndpoint("localhost:8001")) { try ChorusClient(endpoints: ["localhost:8001"]) }
        #expect(throws: ChorusClientError.invalidEndpoint("(none)")) { try ChorusClient(endpoints: []) }
        #expect(throws: Never.self) { try ChorusClient(endpoints: ["http://127.0.0.1:8001", "https://[::1]:8443"]) }
    }

    @Test func limitsAreValidatedTogether() {
        func refusal(_ change: (inout ChorusClient.Configuration) -> Void) -> String? {
            var configuration = ChorusClient.Configuration()
            change(&configuration)
            do {
                try configuration.validate()
                return nil
            } catch {
                guard case .invalidConfiguration(let reason) = error else { return "unexpected \(error)" }
                return reason
            }
        }
        #expect(refusal { _ in } == nil)
        #expect(refusal { $0.requestTimeoutMilliseconds = 0 } == "requestTimeoutMilliseconds must be positive")
        #expect(refusal { $0.connectTimeoutMilliseconds = 2_001 } == "connectTimeoutMilliseconds must be in 1...requestTimeoutMilliseconds")
        #expect(refusal { $0.minimumAttemptMilliseconds = 2_001 } == "minimumAttemptMilliseconds must be in 1...requestTimeoutMilliseconds")
        #expect(refusal { $0.operationTimeoutMilliseconds = 49 } == "operationTimeoutMilliseconds must be at least minimumAttemptMilliseconds")
        #expect(refusal { $0.operationTimeoutMilliseconds = 500 } == nil, "a call may be shorter than one exchange's limit")
        #expect(refusal { $0.retryBackoffMaximumMilliseconds = 19 } == "retryBackoffMaximumMilliseconds must be at least retryBackoffInitialMilliseconds")
        #expect(refusal { $0.maximumRedirects = 65 } == "maximumRedirects must be in 0...64")
        #expect(refusal { $0.maximumResponseBytes = 1_023 } == "maximumResponseBytes must be at least 1024")
        #expect(refusal { $0.maximumConnectionsPerNode = 0 } == "maximumConnectionsPerNode must be in 1...4096")
        #expect(refusal { $0.maximumIdleSessions = 0 } == "maximumIdleSessions must be positive")
        #expect(refusal { $0.bearerToken = "abc.DEF-123_~+/==" } == nil)
        for bad in ["", "two words", "line\r\nX-Injected: 1", "=", "ü"] {
            #expect(refusal { $0.bearerToken = bad } == "the bearer token must be token68 text (RFC 6750 §2.1)", "\(bad)")
        }
    }

    @Test func aCAFileIsReadWhenTheClientIsMade() throws {
        var configuration = ChorusClient.Configuration()
        configuration.trustRoots = .file(fixture("no-such-file.pem"))
        #expect(throws: ChorusClientError.self) { try ChorusClient(endpoints: ["https://127.0.0.1:1"], configuration: configuration) }
        configuration.trustRoots = .file(fixture("not-a-certificate.pem"))
        #expect(throws: ChorusClientError.self) { try configuration.validate() }

        configuration.trustRoots = .file(fixture("test-ca.pem"))
        let tls = try configuration.tlsConfiguration()
        #expect(tls.trustRoots == .certificates(try NIOSSLCertificate.fromPEMFile(fixture("test-ca.pem"))))
        #expect(tls.certificateVerification == .fullVerification)
        #expect(try ChorusClient.Configuration().tlsConfiguration().trustRoots == TLSConfiguration.makeClientConfiguration().trustRoots)
    }

    @Test func theHTTPClientNeverRetriesConnectionsItselfAndUsesTheLimits() throws {
        var configuration = ChorusClient.Configuration()
        configuration.connectTimeoutMilliseconds = 250
        configuration.maximumConnectionsPerNode = 7
        let http = try configuration.httpClientConfiguration()
        #expect(http.connectionPool.retryConnectionEstablishment == false)
        #expect(http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit == 7)
        #expect(http.timeout.connect == .milliseconds(250))
        #expect(http.tlsConfiguration?.certificateVerification == .fullVerification)
    }

    @Test func keysArePercentEncodedAsOnePathSegment() {
        #expect(ChorusClient.encodePathSegment("plain-key_1.~") == "plain-key_1.~")
        #expect(ChorusClient.encodePathSegment("a/b c?✓") == "a%2Fb%20c%3F%E2%9C%93")
    }

    /// A redirect may not leave TLS, nor point nowhere.
    @Test func redirectTargetsComeFromLocationAndNeverDowngrade() throws {
        let client = try ChorusClient(endpoints: ["http://127.0.0.1:1"])
        func response(_ location: String?) -> ChorusResponse {
            var headers = HTTPHeaders()
            if let location { headers.add(name: "Location", value: location) }
            return ChorusResponse(status: 307, headers: headers, body: [])
        }
        let plain = HTTPOrigin(scheme: .http, host: "a", port: 1)
        let secure = HTTPOrigin(scheme: .https, host: "a", port: 1)
        #expect(client.redirectTarget(response("http://b:2/v1/kv/k"), from: plain) == HTTPOrigin(host: "b", port: 2))
        #expect(client.redirectTarget(response("https://b:2/v1/kv/k"), from: plain) == HTTPOrigin(scheme: .https, host: "b", port: 2))
        #expect(client.redirectTarget(response("https://b:2/v1/kv/k"), from: secure) == HTTPOrigin(scheme: .https, host: "b", port: 2))
        #expect(client.redirectTarget(response("http://b:2/v1/kv/k"), from: secure) == nil)
        #expect(client.redirectTarget(response("/v1/kv/k"), from: plain) == nil)
        #expect(client.redirectTarget(response(nil), from: plain) == nil)
    }

    /// Every code the API defines, and codes it does not, lead to exactly one
    /// decision: retry here, retry elsewhere, an unknown outcome, a dead
    /// session, or an error the caller sees.
    @Test func everyErrorCodeHasOneDecision() {
        func decision(_ body: String, status: Int, isWrite: Bool) -> String {
            switch ChorusClient.decideError(ChorusResponse(status: status, headers: [:], body: Array(body.utf8)), isWrite: isWrite) {
            case .finish: "finish"
            case .retry(.sameNode, _): "same"
            case .retry(.anotherNode, _): "another"
            case .retryOutcomeUnknown: "unknown"
            case .sessionExpired: "expired"
            case .fail(.api(let problem, let failedStatus)): "api \(problem.code) \(failedStatus)"
            case .fail(.unexpectedResponse(let failedStatus, _)): "unexpected \(failedStatus)"
            case .fail(let other): "other \(other)"
            }
        }
        for code in ErrorCode.allCases {
            let body = APIProblem(code, "m").json
            let expectedWrite: String
            let expectedRead: String
            switch code {
            case .noLeader, .notLeader, .notCaughtUp, .stopped: (expectedWrite, expectedRead) = ("another", "another")
            case .overloaded, .proposalLost, .readTimeout, .replicasUnavailable: (expectedWrite, expectedRead) = ("same", "same")
            case .outcomeUnknown: (expectedWrite, expectedRead) = ("unknown", "api outcome_unknown 504")
            case .sessionExpired: (expectedWrite, expectedRead) = ("expired", "api session_expired 409")
            default: (expectedWrite, expectedRead) = ("api \(code) \(code.httpStatus)", "api \(code) \(code.httpStatus)")
            }
            #expect(decision(body, status: code.httpStatus, isWrite: true) == expectedWrite, "write, \(code)")
            #expect(decision(body, status: code.httpStatus, isWrite: false) == expectedRead, "read, \(code)")
        }
        let future = "{\"error\":{\"code\":\"quota_exceeded\",\"message\":\"x\"}}"
        #expect(decision(future, status: 429, isWrite: true) == "unexpected 429")
        #expect(decision(future, status: 503, isWrite: true) == "another", "a 503 means try later, whatever the code")
        #expect(decision("<html>bad gateway</html>", status: 502, isWrite: false) == "unexpected 502")
        #expect(decision("", status: 503, isWrite: false) == "another")
        #expect(decision("{\"error\":", status: 400, isWrite: true) == "unexpected 400")
    }
}
