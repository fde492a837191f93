import ChorusCore
import ChorusLocalCluster
import ChorusTesting
import ChorusWire
import Foundation
import Logging
import NIOPosix
import Testing

@testable import ChorusNode

/// The accepted end of peer links: one slot per peer, a bounded pool of
/// strangers, keepalives on quiet links and the close of silent ones
/// (issue 15: a healed node took 25 s to rejoin; twelve sockets cut a node
/// off from its peers).
@Suite struct PeerLinkTests {
    final class Connection {}

    @Test func aPeersNewConnectionReplacesItsOldOneAndNewcomersEvictTheOldestStranger() {
        var slots = InboundPeerSlots<Connection>(strangersMaximum: 2)
        let first = Connection(), second = Connection(), third = Connection()
        #expect(slots.admit(first) == nil)
        #expect(slots.admit(second) == nil)
        #expect(slots.admit(third) === first, "a full pool evicts its oldest stranger")
        #expect(slots.strangers.count == 2)

        #expect(slots.introduce(second, as: 2) == nil)
        #expect(slots.strangers.map { ObjectIdentifier($0) } == [ObjectIdentifier(third)])
        #expect(slots.introduce(third, as: 2) === second, "node 2's newer connection replaces its older one")
        #expect(slots.count == 1)
        slots.remove(second)  // the replaced connection closes later: nothing changes
        #expect(slots.introduced[2] === third)
        slots.remove(third)
        #expect(slots.count == 0)
    }

    /// Node 1 of a two-member cluster (node 2 never runs), with the test
    /// playing node 2 over raw sockets.
    static func startNode(directory: String, port: Int) async throws -> (ChorusNode, NodeConfiguration) {
        let address = NetworkAddress(host: "127.0.0.1", port: port)
        let absent = NetworkAddress(host: "127.0.0.1", port: try #require(LocalCluster.freePorts(1).first))
        var configuration = NodeConfiguration(
            nodeID: 1, members: [PeerAddress(id: 1, address: address), PeerAddress(id: 2, address: absent)],
            peerListenAddress: address, advertisedHTTPURL: "http://127.0.0.1:1", dataDirectory: directory)
        configuration.peerSilenceMilliseconds = 300
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let node = try await ChorusNode.start(
            configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        return (node, configuration)
    }

    static func introduce(_ connection: RawConnection, as peer: NodeID, to configuration: NodeConfiguration) throws {
        var bytes: [UInt8] = []
        let handshake = try Handshake(clusterID: configuration.clusterID, from: peer, to: 1, httpURL: "http://127.0.0.1:2")
        Frame.append(payload: try handshake.encoded(), to: &bytes)
        connection.send(bytes)
    }

    static let keepalive: [UInt8] = {
        var bytes: [UInt8] = []
        Frame.append(payload: [PeerProtocol.keepalive.rawValue], to: &bytes)
        return bytes
    }()

    @Test func aQuietPeerGetsKeepalivesAndASilentOneIsClosed() async throws {
        let directory = NSTemporaryDirectory() + "chorus-peer-links-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try #require(LocalCluster.freePorts(1).first)
        let (node, configuration) = try await Self.startNode(directory: directory, port: port)

        // A peer that keeps sending keepalives stays connected and hears them back.
        let live = try #require(RawConnection(port: port))
        try Self.introduce(live, as: 2, to: configuration)
        var heard: [UInt8] = []
        for _ in 0..<8 {
            live.send(Self.keepalive)
            heard += live.readUntilClosed(within: 0.1).received
        }
        #expect(heard.starts(with: Self.keepalive), "the acceptor answers a quiet link with keepalives: \(heard.prefix(16))")
        let (_, closedWhileTalking) = live.readUntilClosed(within: 0.05)
        #expect(!closedWhileTalking, "a link that talks is not silent")

        // Then it goes silent: closed within the silence timeout (300 ms here), not by TCP.
        let started = ContinuousClock.now
        let (_, closed) = live.readUntilClosed(within: 3)
        #expect(closed, "a silent peer's connection is closed")
        #expect(ContinuousClock.now - started < .milliseconds(2_000))
        await node.shutdown()
    }

    @Test func strangersCannotKeepARealPeerOut() async throws {
        let directory = NSTemporaryDirectory() + "chorus-peer-links-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try #require(LocalCluster.freePorts(1).first)
        let (node, configuration) = try await Self.startNode(directory: directory, port: port)

        // A first frame that declares 1 MiB: refused at its header.
        let large = try #require(RawConnection(port: port))
        large.send([0, 0, 16, 0, 0, 0, 0, 0])
        #expect(large.isClosedByPeer(), "a handshake-sized limit holds for the first frame")

        // Fill the strangers' pool (4 per peer + 4 = 8), then one more: the oldest goes.
        var strangers: [RawConnection] = []
        for _ in 0..<8 { strangers.append(try #require(RawConnection(port: port))) }
        try await Task.sleep(for: .milliseconds(200))
        let newcomer = try #require(RawConnection(port: port))
        #expect(strangers[0].readUntilClosed(within: 3).closed, "the oldest stranger is evicted")

        // The real peer still gets in through the flood, twice: its second
        // connection replaces the first.
        let peer = try #require(RawConnection(port: port))
        try Self.introduce(peer, as: 2, to: configuration)
        #expect(peer.readUntilClosed(within: 0.2).received.starts(with: Self.keepalive), "node 2 is introduced")
        let again = try #require(RawConnection(port: port))
        try Self.introduce(again, as: 2, to: configuration)
        #expect(peer.readUntilClosed(within: 3).closed, "node 2's older connection is closed")
        #expect(again.readUntilClosed(within: 0.2).received.starts(with: Self.keepalive), "its newer one serves")
        _ = (strangers, newcomer)
        await node.shutdown()
    }
}
