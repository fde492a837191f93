import NIOHTTP1
import ChorusClient
import ChorusLocalCluster
import Foundation
import Testing

enum HarnessError: Error { case notServing }

/// Starts real `chorus node` processes for a test and always kills them.
struct ClusterHarness {
    let cluster: LocalCluster
    let client: ChorusClient
    let directory: String
    /// The cluster's admin token (the default path: a generated keyring and
    /// `admin.token`, as `chorus cluster up` makes them); every client here sends it.
    let token: String
    /// The nodes' own network namespaces, when the test asked for them (`partitionable`).
    var network: NodeNetwork? { cluster.options.network }

    /// The `chorus` binary built beside the test bundle, or nil (the test then skips).
    static var executable: String? {
        let testBinary = LocalCluster.currentExecutable()
        var directory = (testBinary as NSString).deletingLastPathComponent
        // On Linux the test bundle is an executable in the build directory; on
        // macOS it is a bundle whose binary sits three levels deeper.
        for _ in 0..<4 {
            let candidate = directory + "/chorus"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return nil
    }

    /// Runs `body` against a fresh cluster; the nodes are killed and the
    /// directory removed afterwards, whether `body` throws or not. With
    /// `partitionable`, each node runs in a network namespace of its own
    /// (`NodeNetwork`, removed afterwards too), for the network nemesis.
    static func withCluster(
        nodes: Int = 3, extraArguments: [String] = [], nodeArguments: [Int: [String]] = [:], name: String,
        redisProtocol: Bool = false, partitionable: Bool = false, _ body: (ClusterHarness) async throws -> Void
    ) async throws {
        guard let executable else {
            print("skipping \(name): no chorus executable next to the test bundle (build it with `swift build`)")
            return
        }
        let directory = NSTemporaryDirectory() + "chorus-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var options: LocalCluster.Options
        let network = partitionable ? try NodeNetwork.create(nodeCount: nodes) : nil
        defer { network?.remove() }
        if let network {
            options = LocalCluster.Options(network: network, dataDirectory: directory, executable: executable)
            if !redisProtocol { options.respPorts = [] }
        } else {
            let ports = LocalCluster.freePorts(nodes * 3)
            try #require(ports.count == nodes * 3, "could not find free ports")
            options = LocalCluster.Options(
                nodeCount: nodes, dataDirectory: directory, peerPorts: Array(ports[0..<nodes]),
                httpPorts: Array(ports[nodes..<(2 * nodes)]), executable: executable)
            if redisProtocol { options.respPorts = Array(ports[(2 * nodes)...]) }
        }
        options.extraArguments = ["--log-level", "info"] + extraArguments
        options.nodeArguments = nodeArguments
        let cluster = try LocalCluster(options: options)
        try cluster.prepareAuthorization()
        let token = try #require(cluster.adminToken, "no admin token in \(directory)")
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = 8_000
        configuration.bearerToken = token
        let client = try ChorusClient(endpoints: cluster.httpURLs, configuration: configuration)
        defer {
            cluster.killAll()
            client.shutdown()
        }
        try cluster.startAll()
        // Bounded, and generous: the whole suite starts at once on two cores.
        let serving = await cluster.waitUntilServing(client: client, timeoutMilliseconds: 60_000)
        if !serving {
            // What each node answers now, for the failure message.
            var answers: [String] = []
            for node in 1...nodes {
                guard let (origin, _) = HTTPOrigin.parse(cluster.httpURL(node)) else { continue }
                do {
                    answers.append("n\(node): \(try await client.clusterJSON(at: origin).prefix(120))")
                } catch {
                    answers.append("n\(node) (running: \(cluster.isRunning(node))): \(error)")
                }
            }
            Issue.record("the nodes did not all serve within 60 s; logs in \(directory); now: \(answers.joined(separator: "; "))")
            throw HarnessError.notServing
        }
        let leader = await cluster.waitForLeader(client: client)
        try #require(leader != nil, "no leader was elected; logs in \(directory)")
        let harness = ClusterHarness(cluster: cluster, client: client, directory: directory, token: token)
        do {
            try await body(harness)
        } catch {
            await cluster.shutdown()
            print("cluster logs kept in \(directory)")
            throw error
        }
        await cluster.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A token of `role` for `subject`, issued by the `chorus` executable with the cluster's keyring.
    func issueToken(role: String, subject: String = "test", expires: String = "1h") throws -> String {
        try cluster.issueToken(subject: subject, role: role, expires: expires, file: "\(subject)-\(role).token")
    }

    func leader(excluding: Set<Int> = []) async throws -> LocalCluster.NodeView {
        let view = await cluster.waitForLeader(client: client, excluding: excluding, timeoutMilliseconds: 15_000)
        return try #require(view, "no leader; logs in \(directory)")
    }

    /// A client that talks to one node only.
    func client(for node: Int, timeoutMilliseconds: Int = 8_000) throws -> ChorusClient {
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = timeoutMilliseconds
        configuration.bearerToken = token
        return try ChorusClient(endpoints: [cluster.httpURL(node)], configuration: configuration)
    }

    /// A client for a nemesis workload: an attempt gives up on a silent
    /// (SIGSTOPped) node after `requestTimeoutMilliseconds`, and the whole
    /// operation after `operationTimeoutMilliseconds`, so clients keep going.
    func loadClient(
        endpoints: [String], operationTimeoutMilliseconds: Int = 3_000, requestTimeoutMilliseconds: Int = 1_000
    ) throws -> ChorusClient {
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = operationTimeoutMilliseconds
        configuration.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        configuration.connectTimeoutMilliseconds = min(configuration.connectTimeoutMilliseconds, requestTimeoutMilliseconds)
        configuration.bearerToken = token
        return try ChorusClient(endpoints: endpoints, configuration: configuration)
    }

    /// Undoes whatever a nemesis left: every node resumed, every stopped one
    /// started again and serving, and a leader elected.
    func heal() async throws {
        if let network {
            try network.heal()
            for node in cluster.nodes { try network.attach(node) }
        }
        for node in cluster.nodes {
            cluster.resume(node)
            if !cluster.isRunning(node) { try cluster.start(node) }
        }
        // Bounded, and generous: the whole suite starts at once on two cores.
        let serving = await cluster.waitUntilServing(client: client, timeoutMilliseconds: 60_000)
        try #require(serving, "the nodes did not all serve again; logs in \(directory)")
        _ = try await leader()
    }

    /// SIGKILLs `node` and starts it again, `times` times: each restart comes
    /// back with the state it had persisted, behind what the others went on
    /// committing, until it catches up.
    func crashAndRestart(_ node: Int, times: Int, upMilliseconds: Int = 700, downMilliseconds: Int = 500) async throws {
        for _ in 0..<times {
            try await Task.sleep(for: .milliseconds(upMilliseconds))
            await cluster.crash(node)
            try await Task.sleep(for: .milliseconds(downMilliseconds))
            try cluster.start(node)
        }
    }

    func metric(_ name: String, node: Int) async throws -> Double? {
        let response = try await client.send(.GET, url: cluster.httpURL(node) + "/metrics")
        for line in response.bodyText.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return nil
    }
}

/// Every test that runs `chorus node` processes, one at a time: a 2-core
/// machine running two clusters at once would turn timing into flakiness.
@Suite(.serialized) struct RealProcessTests {}
