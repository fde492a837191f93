import ChorusWire
import ChorusRaft
import ChorusKeyValue
import ChorusCore
import Foundation
import Testing

@testable import ChorusNode

@Suite struct ConfigurationTests {
    static func configuration() -> NodeConfiguration {
        NodeConfiguration(
            nodeID: 1,
            members: [
                PeerAddress(id: 1, address: NetworkAddress(host: "127.0.0.1", port: 7001)),
                PeerAddress(id: 2, address: NetworkAddress(host: "127.0.0.1", port: 7002)),
            ],
            peerListenAddress: NetworkAddress(host: "127.0.0.1", port: 7001), advertisedHTTPURL: "http://127.0.0.1:8001",
            dataDirectory: "/tmp/x")
    }

    @Test func defaultsAreValidAndRelationsAreChecked() throws {
        try Self.configuration().validate()
        var configuration = Self.configuration()
        configuration.keyValue.maximumValueBytes = configuration.wire.maximumCommandBytes
        #expect(throws: NodeConfigurationError.self, "a value that cannot fit a wire command") { try configuration.validate() }
        configuration = Self.configuration()
        configuration.writeTimeoutMilliseconds = 100
        #expect(throws: NodeConfigurationError.self, "a write timeout shorter than an election") { try configuration.validate() }
        configuration = Self.configuration()
        configuration.raft.maximumEntriesPerMessage = configuration.wire.maximumEntriesPerMessage + 1
        #expect(throws: NodeConfigurationError.self) { try configuration.validate() }
        configuration = Self.configuration()
        configuration.members.removeFirst()
        #expect(throws: NodeConfigurationError.self, "the node must be a member") { try configuration.validate() }
        configuration = Self.configuration()
        configuration.peerOutboundBufferBytesMaximum = 1_024
        #expect(throws: NodeConfigurationError.self) { try configuration.validate() }
    }

    @Test func aPeerDelayIsBoundedAndOffByDefault() throws {
        var configuration = Self.configuration()
        #expect(configuration.peerDelayMilliseconds == 0)
        for accepted in [0, 1, NodeConfiguration.peerDelayMillisecondsMaximum] {
            configuration.peerDelayMilliseconds = accepted
            try configuration.validate()
        }
        for refused in [-1, NodeConfiguration.peerDelayMillisecondsMaximum + 1] {
            configuration.peerDelayMilliseconds = refused
            #expect(throws: NodeConfigurationError.self, "\(refused) ms") { try configuration.validate() }
        }
    }

    @Test func peerListsAndAddressesParseOrExplain() throws {
        let peers = try PeerAddress.parseList("3=10.0.0.3:7003, 1=localhost:7001,2=[::1]:7002")
        #expect(peers.map(\.id) == [1, 2, 3])
        #expect(peers[1].address == NetworkAddress(host: "::1", port: 7002))
        for bad in ["", "1=host", "x=host:1", "0=h:1", "1=h:1,1=h:2", "1=h:70000", "1=:80", "1=[::1:80", "1=::1:80", "1=[a]b]:80"] {
            #expect(throws: NodeConfigurationError.self, "\(bad)") { try PeerAddress.parseList(bad) }
        }
        #expect(NodeConfiguration.clusterID(of: peers) == NodeConfiguration.clusterID(of: peers.reversed()))
    }
}
