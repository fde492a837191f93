import ChorusClient
import Foundation
import Testing

@testable import ChorusLocalCluster

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One real `chorus node` child process: started, observed, killed.
@Suite struct LocalClusterProcessTests {
    /// The debug `chorus` built beside this test bundle (as the integration tests find it), or nil.
    static let executable: String? = {
        var directory = (LocalCluster.currentExecutable() as NSString).deletingLastPathComponent
        for _ in 0..<4 {
            let candidate = directory + "/chorus"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return nil
    }()

    /// A one-node cluster serving on ports found free. Another test may take
    /// such a port before the child binds it (the child then exits), so a
    /// child that exits before serving is tried again on fresh ports.
    static func startServing(directory: String, client: (LocalCluster) throws -> ChorusClient) async throws
        -> (LocalCluster, ChorusClient)?
    {
        for _ in 0..<3 {
            let ports = LocalCluster.freePorts(2)
            try #require(ports.count == 2)
            var options = LocalCluster.Options(
                nodeCount: 1, dataDirectory: directory, peerPorts: [ports[0]], httpPorts: [ports[1]],
                executable: try #require(Self.executable))
            options.extraArguments = ["--log-level", "warning"]
            let cluster = try LocalCluster(options: options)
            try cluster.prepareAuthorization()
            let chorus = try client(cluster)
            try cluster.start(1)
            // Generous: on a loaded machine (the whole package's tests at once) a start can take seconds.
            if await cluster.waitUntilServing(client: chorus, timeoutMilliseconds: 60_000) { return (cluster, chorus) }
            cluster.killAll()
            #expect(cluster.termination(1) != nil, "a node that neither serves nor exits within a minute")
        }
        return nil
    }

    @Test(.enabled(if: executable != nil, "needs the chorus executable next to the test bundle (swift build)"))
    func aOneNodeClusterStartsLeadsAndDiesBySignal() async throws {
        let directory = NSTemporaryDirectory() + "chorus-lc-spawn-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = 10_000
        let started = try await Self.startServing(directory: directory) { cluster in
            var configuration = configuration
            configuration.bearerToken = try #require(cluster.adminToken, "the cluster made no admin token")
            return try ChorusClient(endpoints: cluster.httpURLs, configuration: configuration)
        }
        let (cluster, client) = try #require(started, "the node did not serve; logs in \(directory)")
        defer { cluster.killAll() }

        let pid = try #require(cluster.processID(1))
        try cluster.start(1)
        #expect(cluster.processID(1) == pid, "starting a running node again does nothing")
        let view = try #require(await cluster.waitForLeader(client: client, timeoutMilliseconds: 60_000))
        #expect(view.node == 1 && view.role == "leader" && view.leader == 1 && view.term >= 1)
        #expect(try await client.put("k", [1]) >= 1)

        await cluster.crash(1)
        #expect(!cluster.isRunning(1))
        #expect(cluster.termination(1) == "signal \(SIGKILL)")
        #expect(await cluster.view(of: 1, client: client) == nil)
        #expect(FileManager.default.fileExists(atPath: cluster.dataDirectory(1)))
    }
}
