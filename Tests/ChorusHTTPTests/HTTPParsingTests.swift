import ChorusKeyValue
import ChorusCore
import Foundation
import ChorusService
import Testing

@testable import ChorusHTTP
@testable import ChorusNode

/// What the HTTP adapter parses itself, before anything reaches the service layer.
@Suite struct HTTPParsingTests {
    static func configuration() -> NodeConfiguration {
        NodeConfiguration(
            nodeID: 1, members: [PeerAddress(id: 1, address: NetworkAddress(host: "127.0.0.1", port: 7001))],
            peerListenAddress: NetworkAddress(host: "127.0.0.1", port: 7001), advertisedHTTPURL: "http://127.0.0.1:8001",
            dataDirectory: "/tmp/x")
    }

    @Test func httpLimitsMustFitTheStore() throws {
        let node = Self.configuration()
        try HTTPAPIConfiguration(host: "127.0.0.1", port: 8001).validate(against: node)
        #expect(throws: NodeConfigurationError.self) {
            try HTTPAPIConfiguration(host: "127.0.0.1", port: 8001, maximumValueBytes: node.keyValue.maximumValueBytes + 1)
                .validate(against: node)
        }
    }

    @Test func percentDecodingAndVersions() {
        #expect(PercentDecoding.decode("a%2Fb") == "a/b")
        #expect(PercentDecoding.decode("%E2%9C%93") == "✓")
        #expect(PercentDecoding.decode("%FF") == nil)
        #expect(PercentDecoding.decode("%4") == nil)
        #expect(KeyValueAPI.parseEntityTag("\"42\"") == .strong(LogIndex(42)))
        #expect(KeyValueAPI.parseEntityTag("\"0\"") == .strong(.zero))
        #expect(KeyValueAPI.parseEntityTag("W/\"7\"") == .weak)
        for refused in ["x", "42", "\"\"", "\"042\"", "\"-1\"", "\"4 2\"", "*", "\"1\", \"2\"", "W/42", "w/\"7\"", "\"12345678901234567890\""] {
            #expect(KeyValueAPI.parseEntityTag(refused) == nil, "\(refused)")
        }
    }

    /// `X-Chorus-Idempotency` is exactly openapi.yaml's `^[1-9][0-9]{0,18}\.[1-9][0-9]{0,18}$`.
    @Test func theIdempotencyHeaderGrammar() {
        #expect(WriteSession(header: "77.1") == WriteSession(clientID: 77, sequence: 1))
        #expect(WriteSession(header: "9223372036854775807.9999999999999999999")?.sequence == 9_999_999_999_999_999_999)
        #expect(WriteSession(clientID: 5, sequence: 3).header == "5.3")
        for refused in ["", "1", ".1", "1.", "0.1", "1.0", "01.1", "1.01", "1.2.3", "+1.1", "1 .1", "12345678901234567890.1", "a.b"] {
            #expect(WriteSession(header: refused) == nil, "\(refused)")
        }
    }
}
