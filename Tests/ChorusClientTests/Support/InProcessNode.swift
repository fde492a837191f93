import ChorusRaft
import ChorusKeyValue
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
        try await onDedicatedThreads { try await runHere(adjust: adjust, body) }
    }

    private static func runHere<Value: Sendable>(
        adjust: (inout NodeConfiguration) -> Void, _ body: (String, ChorusNode) async throws -> Value
    ) async throws -> Value {
        let directory = NSTemporaryDirectory() + "chorus-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (node, configuration) = try await startNode(directory: directory, adjust: adjust)
        // The API listens on a port the kernel picks; its URL is known once it runs.
        let api = HTTPAPIConfiguration(host: "127.0.0.1", port: 1, maximumValueBytes: configuration.keyValue.maximumValueBytes)
        try api.validate(against: configuration)
        let bound = BoundPort()
        let application = ApplicationOnFreePort(
            base: ChorusHTTPServer.makeApplication(node: node, configuration: api, logger: quietLogger), bound: bound)
        do {
            let value = try await withRunningApplication(application) {
                let url = "http://127.0.0.1:\(await bound.port)"
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

    /// Starts the node on a peer port found free; another test may take that
    /// port between the check and the bind, so a failed start tries fresh ports.
    private static func startNode(
        directory: String, adjust: (inout NodeConfiguration) -> Void
    ) async throws -> (ChorusNode, NodeConfiguration) {
        let attempts = 5
        for attempt in 1...attempts {
            let port = try #require(LocalCluster.freePorts(1).first, "no free port")
            let peer = NetworkAddress(host: "127.0.0.1", port: port)
            // A single node never redirects, so its advertised URL is never used.
            var configuration = NodeConfiguration(
                nodeID: 1, members: [PeerAddress(id: 1, address: peer)], peerListenAddress: peer,
                advertisedHTTPURL: "http://127.0.0.1:1", dataDirectory: directory)
            configuration.raft.electionTimeoutTicks = 5
            configuration.raft.heartbeatIntervalTicks = 1
            configuration.writeTimeoutMilliseconds = 5_000
            adjust(&configuration)
            do {
                let node = try await ChorusNode.start(
                    configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                    logger: quietLogger)
                return (node, configuration)
            } catch {
                if case .bind = error, attempt < attempts { continue }
                throw error
            }
        }
        preconditionFailure("the last attempt returns or throws")
    }

    static func waitForLeadership(_ node: ChorusNode) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await node.status().role == .leader { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the single node did not elect itself")
    }
}
