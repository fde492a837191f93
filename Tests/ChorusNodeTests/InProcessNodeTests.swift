import ChorusRaft
import ChorusCore
import ChorusKeyValue
import ChorusLocalCluster
import ChorusMachines
import ChorusReplica
import ChorusStorage
import ChorusTesting
import Foundation
import Logging
import NIOPosix
import Synchronization
import Testing

@testable import ChorusNode

/// One node in this process (a single-voter cluster), driven through its
/// public API, with storage faults injected.
@Suite struct InProcessNodeTests {
    static func configuration(directory: String, port: Int, nodeID: NodeID = 1) -> NodeConfiguration {
        let address = NetworkAddress(host: "127.0.0.1", port: port)
        var configuration = NodeConfiguration(
            nodeID: nodeID, members: [PeerAddress(id: nodeID, address: address)], peerListenAddress: address,
            advertisedHTTPURL: "http://127.0.0.1:1", dataDirectory: directory)
        configuration.raft.electionTimeoutTicks = 5
        configuration.raft.heartbeatIntervalTicks = 1
        configuration.writeTimeoutMilliseconds = 1_000
        return configuration
    }

    static func put(_ key: String, _ value: String) -> ReplicatedMachines.Command {
        .keyValue(KeyValueCommand(clientID: 0, sequence: 0, operation: .put(key: key, value: Array(value.utf8))))
    }

    static func value(of key: String, on node: ChorusNode, requirement: ReadRequirement = .linearizable) async throws
        -> [UInt8]?
    {
        let read = try await node.read(.keyValue(.get(key: key)), requirement: requirement)
        guard case .keyValue(.record(let record)) = read.value else { return nil }
        return record?.value
    }

    static func waitForLeadership(_ node: ChorusNode) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await node.status().role == .leader { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the single node did not elect itself")
    }

    @Test func aFailedFsyncStopsTheNodeAndAcknowledgedWritesSurvive() async throws {
        let directory = NSTemporaryDirectory() + "chorus-inprocess-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try #require(LocalCluster.freePorts(1).first)
        let fileSystem = FaultInjectingFileSystem()
        let fatal = Mutex<String?>(nil)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let node = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: port),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), fileSystem: fileSystem, logger: logger,
            onFatalError: { reason in fatal.withLock { $0 = reason } })
        try await Self.waitForLeadership(node)
        for index in 0..<20 {
            let outcome = try await node.write(Self.put("k\(index)", "v\(index)"))
            guard case .keyValue(let applied) = outcome.output, case .written = applied.result else {
                Issue.record("unexpected result \(outcome.output)")
                return
            }
        }
        #expect(try await Self.value(of: "k7", on: node) == Array("v7".utf8))

        // The next fdatasync fails: the write is not acknowledged and the node stops for good.
        fileSystem.inject(.init(.synchronizeData, isPersistent: true))
        do {
            _ = try await node.write(Self.put("doomed", "x"))
            Issue.record("a write was acknowledged although its fsync failed")
        } catch {
            guard case .stopped = error else {
                Issue.record("expected .stopped, got \(error)")
                return
            }
        }
        #expect(fatal.withLock { $0 }?.contains("write-ahead log failed") == true)
        await #expect(throws: NodeError.self) {
            try await node.read(.keyValue(.get(key: "k1")), requirement: .appliedAtLeast(.zero))
        }
        await node.shutdown()

        // A restart recovers every acknowledged write from disk.
        let restarted = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: port),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        try await Self.waitForLeadership(restarted)
        for index in 0..<20 {
            #expect(try await Self.value(of: "k\(index)", on: restarted) == Array("v\(index)".utf8), "k\(index) lost")
        }
        await restarted.shutdown()
    }

    @Test func startupRefusesAnInvalidConfigurationAndALockedDirectory() async throws {
        let directory = NSTemporaryDirectory() + "chorus-inprocess-lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var invalid = Self.configuration(directory: directory, port: 1)
        invalid.tickMilliseconds = 0
        await #expect(throws: NodeStartupError.self) {
            _ = try await ChorusNode.start(
                configuration: invalid, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        }
        let port = try #require(LocalCluster.freePorts(1).first)
        let node = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: port),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        let otherPort = try #require(LocalCluster.freePorts(1).first)
        await #expect(throws: NodeStartupError.self, "a second node on the same directory") {
            _ = try await ChorusNode.start(
                configuration: Self.configuration(directory: directory, port: otherPort),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        }
        await node.shutdown()
        // Node 1's directory is node 1's: another node id must not replay its votes.
        await #expect(throws: NodeStartupError.self, "node 5 on node 1's directory") {
            _ = try await ChorusNode.start(
                configuration: Self.configuration(directory: directory, port: otherPort, nodeID: 5),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        }
        let again = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: otherPort),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        await again.shutdown()

        // A directory of the earlier release (an owner, no recorded format) is
        // refused with a message naming its format.
        try FileManager.default.removeItem(atPath: directory + "/" + DurableStorage.formatFileName)
        do {
            let old = try await ChorusNode.start(
                configuration: Self.configuration(directory: directory, port: otherPort),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
            await old.shutdown()
            Issue.record("a format-1 directory was opened")
        } catch {
            #expect("\(error)".contains("data format 1"), "\(error)")
        }
        try Array("chorus-node 9".utf8).withUnsafeBytes {
            try Data($0).write(to: URL(fileURLWithPath: directory + "/" + DurableStorage.formatFileName))
        }
        do {
            let future = try await ChorusNode.start(
                configuration: Self.configuration(directory: directory, port: otherPort),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
            await future.shutdown()
            Issue.record("a directory of another format was opened")
        } catch {
            #expect("\(error)".contains("'chorus-node 9'") && "\(error)".contains("'\(ChorusNode.dataFormat)'"), "\(error)")
        }
    }
}
