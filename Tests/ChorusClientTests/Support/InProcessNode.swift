import ChorusTesting
import ChorusRaft
import ChorusKeyValue
import ChorusCore
import ChorusHTTP
import ChorusLocalCluster
import ChorusNode
import ChorusService
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
        adjust: (inout NodeConfiguration) -> Void = { _ in }, authorization: ServiceAuthorization = .disabled,
        _ body: (String, ChorusNode) async throws -> Value
    ) async throws -> Value {
        try await onDedicatedThreads { try await runHere(adjust: adjust, authorization: authorization, body) }
    }

    private static func runHere<Value: Sendable>(
        adjust: (inout NodeConfiguration) -> Void, authorization: ServiceAuthorization,
        _ body: (String, ChorusNode) async throws -> Value
    ) async throws -> Value {
        let directory = NSTemporaryDirectory() + "chorus-client-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (node, configuration) = try await SingleNode.start(directory: directory, logger: quietLogger) { configuration in
            configuration.writeTimeoutMilliseconds = 5_000
            adjust(&configuration)
        }
        // The API listens on a port the kernel picks; its URL is known once it runs.
        var api = HTTPAPIConfiguration(host: "127.0.0.1", port: 1, maximumValueBytes: configuration.keyValue.maximumValueBytes)
        api.authorization = authorization
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


    static func waitForLeadership(_ node: ChorusNode) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await node.status().role == .leader { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the single node did not elect itself")
    }
}
