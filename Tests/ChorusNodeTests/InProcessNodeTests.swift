import ChorusCore
import ChorusKeyValue
import ChorusStorage
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

    static func put(_ key: String, _ value: String) -> [UInt8] {
        KeyValueCommand(clientID: 0, sequence: 0, operation: .put(key: key, value: Array(value.utf8))).encoded()
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
        let port = try #require(ChorusNodeTestPorts.free())
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
            let outcome = try await node.write(command: Self.put("k\(index)", "v\(index)"))
            guard case .written = outcome.result else {
                Issue.record("unexpected result \(outcome.result)")
                return
            }
        }
        let read = try await node.read(key: "k7", consistency: .linearizable)
        #expect(read.record?.value == Array("v7".utf8))

        // The next fdatasync fails: the write is not acknowledged and the node stops for good.
        fileSystem.inject(.init(.synchronizeData, isPersistent: true))
        do {
            _ = try await node.write(command: Self.put("doomed", "x"))
            Issue.record("a write was acknowledged although its fsync failed")
        } catch {
            guard case .stopped = error else {
                Issue.record("expected .stopped, got \(error)")
                return
            }
        }
        #expect(fatal.withLock { $0 }?.contains("write-ahead log failed") == true)
        await #expect(throws: NodeError.self) { try await node.read(key: "k1", consistency: .sequential) }
        await node.shutdown()

        // A restart recovers every acknowledged write from disk.
        let restarted = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: port),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        try await Self.waitForLeadership(restarted)
        for index in 0..<20 {
            let value = try await restarted.read(key: "k\(index)", consistency: .linearizable)
            #expect(value.record?.value == Array("v\(index)".utf8), "k\(index) lost")
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
        let port = try #require(ChorusNodeTestPorts.free())
        let node = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: port),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)
        let otherPort = try #require(ChorusNodeTestPorts.free())
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
    }

    /// A stranger on the peer port cannot make the node buffer a message
    /// frame before its handshake, nor hold more than a few connections open.
    @Test func strangersOnThePeerPortAreBoundedBeforeTheirHandshake() async throws {
        let directory = NSTemporaryDirectory() + "chorus-inprocess-peer-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let port = try #require(ChorusNodeTestPorts.free())
        let node = try await ChorusNode.start(
            configuration: Self.configuration(directory: directory, port: port),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: logger)

        // A first frame that declares 1 MiB: refused at its header.
        let large = try #require(RawConnection(port: port))
        large.send([0, 0, 16, 0, 0, 0, 0, 0])
        #expect(large.isClosedByPeer(), "a handshake-sized limit holds for the first frame")

        // Silent connections beyond the cap are closed at once (the cap is 4 for a lone node).
        var silent: [RawConnection] = []
        for _ in 0..<4 { silent.append(try #require(RawConnection(port: port))) }
        try await Task.sleep(for: .milliseconds(200))
        let extra = try #require(RawConnection(port: port))
        #expect(extra.isClosedByPeer(), "a fifth connection without a handshake")
        _ = silent
        await node.shutdown()
    }
}

/// A blocking TCP connection to 127.0.0.1 for bytes a peer would never send.
final class RawConnection {
    let descriptor: Int32

    init?(port: Int) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Up to 4 KiB that arrive within the receive timeout (3 s); empty if none.
    func receive() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[0..<count]) : []
    }

    /// Whether the other end closes within the receive timeout (3 s).
    func isClosedByPeer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }
}

enum ChorusNodeTestPorts {
    static func free() -> Int? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
