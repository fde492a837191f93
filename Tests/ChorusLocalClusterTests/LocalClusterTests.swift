import ChorusClient
import Foundation
import Testing

@testable import ChorusLocalCluster

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parts of `LocalCluster` that need no cluster: option checks, ports,
/// paths and each node's command line.
@Suite struct LocalClusterOptionTests {
    static func options(nodes: Int = 3) -> LocalCluster.Options {
        LocalCluster.Options(nodeCount: nodes, dataDirectory: "/tmp/chorus-x", basePort: 7_000, executable: "/bin/chorus")
    }

    @Test func aBasePortLaysOutPeerAndHTTPPorts() {
        let options = Self.options()
        #expect(options.peerPorts == [7_001, 7_002, 7_003])
        #expect(options.httpPorts == [8_001, 8_002, 8_003])
        #expect(options.host == "127.0.0.1")
        #expect(options.extraArguments.isEmpty)
    }

    @Test func invalidOptionsAreRefusedWithAReason() {
        func reason(_ options: LocalCluster.Options) -> String? {
            do {
                _ = try LocalCluster(options: options)
                return nil
            } catch {
                return "\(error)"
            }
        }
        // (The base-port initializer cannot make a 0-node layout: it traps on `1...0`.)
        let none = LocalCluster.Options(nodeCount: 0, dataDirectory: "/tmp/x", peerPorts: [], httpPorts: [], executable: "/bin/chorus")
        #expect(reason(none) == "a local cluster has 1 to 9 nodes")
        #expect(reason(Self.options(nodes: 10)) == "a local cluster has 1 to 9 nodes")
        var mismatched = Self.options()
        mismatched.httpPorts.removeLast()
        #expect(reason(mismatched) == "one peer port and one HTTP port per node")
        var outOfRange = Self.options()
        outOfRange.peerPorts[1] = 65_536
        #expect(reason(outOfRange) == "port 65536 is out of range")
        var zero = Self.options()
        zero.httpPorts[0] = 0
        #expect(reason(zero) == "port 0 is out of range")
        #expect(reason(Self.options(nodes: 1)) == nil)
        #expect(reason(Self.options(nodes: 9)) == nil)
    }

    @Test func pathsURLsAndThePeerList() throws {
        let cluster = try LocalCluster(options: Self.options())
        #expect(cluster.nodes == 1...3)
        #expect(cluster.httpURL(2) == "http://127.0.0.1:8002")
        #expect(cluster.httpURLs == ["http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003"])
        #expect(cluster.dataDirectory(3) == "/tmp/chorus-x/n3")
        #expect(cluster.logFile(1) == "/tmp/chorus-x/n1.log")
        #expect(cluster.peerList == "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003")
        // Every URL is one the client accepts as an endpoint.
        _ = try ChorusClient(endpoints: cluster.httpURLs)
    }

    @Test func eachNodesCommandLineNamesItsPortsItsDirectoryAndThisProcess() throws {
        var options = Self.options()
        options.extraArguments = ["--tick-ms", "5"]
        let cluster = try LocalCluster(options: options)
        #expect(
            cluster.arguments(2) == [
                "node", "--id", "2", "--data-dir", "/tmp/chorus-x/n2", "--listen", "127.0.0.1:7002",
                "--http", "127.0.0.1:8002", "--peers", "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003",
                "--parent-pid", "\(getpid())", "--resp", "127.0.0.1:9002", "--auth-keys", "/tmp/chorus-x/auth-keys.json",
                "--tls-ca", "/tmp/chorus-x/certs/ca.pem", "--tls-cert", "/tmp/chorus-x/certs/node-2.pem",
                "--tls-key", "/tmp/chorus-x/certs/node-2-key.pem", "--tick-ms", "5",
            ])
        options.authorization = .insecure
        options.peerSecurity = .insecure
        #expect(
            try LocalCluster(options: options).arguments(1).suffix(4) == ["--insecure-no-auth", "--insecure-peers", "--tick-ms", "5"])
    }

    @Test func aPeerDelayIsPassedToEveryNodeOnlyWhenSet() throws {
        var options = Self.options()
        options.peerDelayMilliseconds = 25
        options.extraArguments = ["--tick-ms", "5"]
        let delayed = try LocalCluster(options: options)
        #expect(Array(delayed.arguments(1).suffix(4)) == ["--peer-delay-ms", "25", "--tick-ms", "5"])
        #expect(!(try LocalCluster(options: Self.options())).arguments(1).contains("--peer-delay-ms"))
    }

    @Test func nodesThatNeverRanHaveNoProcess() async throws {
        let cluster = try LocalCluster(options: Self.options())
        #expect(cluster.processID(1) == nil)
        #expect(!cluster.isRunning(1))
        #expect(cluster.termination(1) == nil)
        #expect(!cluster.signal(1, SIGTERM))
        #expect(await cluster.terminate(1) == false)
        #expect(await cluster.waitForExit(1, timeoutMilliseconds: 10))
        #expect(throws: LocalCluster.ClusterError.self) { try cluster.start(4) }
    }

    @Test func aStartThatCannotSpawnSaysWhichNode() throws {
        let directory = NSTemporaryDirectory() + "chorus-lc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = LocalCluster.Options(
            nodeCount: 1, dataDirectory: directory, basePort: 7_000, executable: directory + "/no-such-binary")
        let cluster = try LocalCluster(options: options)
        do {
            try cluster.start(1)
            Issue.record("a missing executable was started")
        } catch {
            guard case .spawnFailed(node: 1, _) = error else {
                Issue.record("expected spawnFailed for node 1, got \(error)")
                return
            }
        }
        #expect(FileManager.default.fileExists(atPath: cluster.logFile(1)), "the log file is created before the spawn")
    }
}

/// Free-port helpers, against sockets this test binds itself.
@Suite struct LocalClusterPortTests {
    /// Binds and listens on 127.0.0.1:`port` (0: any); returns the descriptor and the port.
    static func listeningSocket(port: Int = 0) -> (descriptor: Int32, port: Int)? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 4) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            return nil
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func freePortsAreDistinctAndBindable() throws {
        let ports = LocalCluster.freePorts(6)
        #expect(ports.count == 6)
        #expect(Set(ports).count == 6)
        for port in ports {
            #expect((1...65_535).contains(port))
            #expect(LocalCluster.isPortFree(port), "port \(port) was handed out but cannot be bound")
        }
        #expect(LocalCluster.freePorts(0).isEmpty)
    }

    @Test func aListeningPortIsNotFreeAndOutOfRangeNeverIs() throws {
        let listener = try #require(Self.listeningSocket())
        defer { close(listener.descriptor) }
        #expect(!LocalCluster.isPortFree(listener.port))
        #expect(!LocalCluster.isPortFree(0))
        #expect(!LocalCluster.isPortFree(65_536))
    }

    @Test func aFreeBasePortAvoidsAnOccupiedLayout() throws {
        // Occupy the HTTP port of node 2 in the layout based at `base`.
        let listener = try #require(Self.listeningSocket())
        defer { close(listener.descriptor) }
        let base = listener.port - 1_002
        try #require(base > 0, "the kernel gave a port below 1002")
        let chosen = try #require(LocalCluster.freeBasePort(nodeCount: 3, preferred: base))
        #expect(chosen != base, "the preferred layout holds a listening port")
        for node in 1...3 {
            #expect(LocalCluster.isPortFree(chosen + node))
            #expect(LocalCluster.isPortFree(chosen + 1_000 + node))
        }
        #expect((25_000...29_000).contains(chosen))
    }

    /// Ports for tests come from below the ephemeral range, never twice.
    @Test func freePortsAreBelowTheEphemeralRangeAndNeverRepeat() {
        let first = LocalCluster.freePorts(50)
        let second = LocalCluster.freePorts(50)
        #expect(first.count == 50 && second.count == 50)
        #expect(Set(first + second).count == 100)
        #expect((first + second).allSatisfy { (10_000...24_999).contains($0) && LocalCluster.isPortFree($0) })
    }

    @Test func aFreePreferredBasePortIsKept() throws {
        // A layout found free is returned as is when preferred.
        let base = try #require(LocalCluster.freeBasePort(nodeCount: 2))
        #expect(LocalCluster.freeBasePort(nodeCount: 2, preferred: base) == base)
    }

    @Test func theCurrentExecutableIsThisTestBinary() {
        let path = LocalCluster.currentExecutable()
        #expect(path.hasPrefix("/"))
        #expect(FileManager.default.isExecutableFile(atPath: path))
    }
}
