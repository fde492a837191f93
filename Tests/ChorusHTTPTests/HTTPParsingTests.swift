import ChorusKeyValue
import ChorusCore
import Foundation
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
        #expect(KeyValueAPI.parseVersion("\"42\"") == LogIndex(42))
        #expect(KeyValueAPI.parseVersion("W/\"7\"") == LogIndex(7))
        #expect(KeyValueAPI.parseVersion("x") == nil)
    }
}
