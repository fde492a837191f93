import ChorusCore
import ChorusHTTP
import ChorusLocalCluster
import ChorusNode
import Foundation
import NIOPosix
import Testing

/// A real single-node Chorus cluster in this process: `ChorusNode.start`
/// plus its Hummingbird application on 127.0.0.1, wired as `chorus node`
/// wires them (`Sources/chorus/NodeCommand.swift`).
enum InProcessNode {
    /// Runs `body` with the node's HTTP URL while the node and its API run;
    /// both are shut down and the directory removed afterwards.
    static func run<Value: Sendable>(
        adjust: (inout NodeConfiguration) -> Void = { _ in }, _ body: (String, ChorusNode) async throws -> Value
    ) async throws -> Value {
        let directory = NSTemporaryDirectory() + "chorus-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = LocalCluster.freePorts(2)
        try #require(ports.count == 2, "no free ports")
        let url = "http://127.0.0.1:\(ports[1])"
        let peer = NetworkAddress(host: "127.0.0.1", port: ports[0])
        var configuration = NodeConfiguration(
            nodeID: 1, members: [PeerAddress(id: 1, address: peer)], peerListenAddress: peer, advertisedHTTPURL: url,
            dataDirectory: directory)
        configuration.raft.electionTimeoutTicks = 5
        configuration.raft.heartbeatIntervalTicks = 1
        configuration.writeTimeoutMilliseconds = 1_000
        adjust(&configuration)
        let node = try await ChorusNode.start(
            configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
        let api = HTTPAPIConfiguration(host: "127.0.0.1", port: ports[1], maximumValueBytes: configuration.keyValue.maxValueBytes)
        try api.validate(against: configuration)
        let application = ChorusHTTPServer.makeApplication(node: node, configuration: api, logger: quietLogger)
        do {
            let value = try await withRunningApplication(application) {
                try await waitForLeadership(node)
                return try await body(url, node)
            }
            await node.shutdown()
            return value
        } catch {
            await node.shutdown()
            throw error
        }
    }

    static func waitForLeadership(_ node: ChorusNode) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await node.status().role == .leader { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the single node did not elect itself")
    }
}
