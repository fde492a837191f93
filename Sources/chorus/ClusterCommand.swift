import ArgumentParser
import ChorusClient
import ChorusLocalCluster
import ChorusKeyValue
import Foundation

/// `chorus cluster up`: a local cluster of `chorus node` processes.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a local cluster of node processes.",
        subcommands: [ClusterUpCommand.self]
    )
}

struct ClusterUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start N `chorus node` processes on 127.0.0.1 and keep them running until Ctrl-C.",
        discussion: """
            Node i listens for peers on BASE+i and serves HTTP on BASE+1000+i (with the default \
            base 7000: peers on 7001…, HTTP on 8001…). Each node keeps its storage in DIR/nI and \
            logs to DIR/nI.log. Ctrl-C or SIGTERM stops them all. On first start the cluster CA and \
            node certificates are made in DIR/certs (mutual TLS between the nodes) and an admin \
            token in DIR/admin.token; a restart reuses them.
            """
    )

    @Option(help: "How many nodes (1 to 9).")
    var nodes: Int = 3

    @Option(name: .customLong("data-dir"), help: "Where the nodes keep their storage and logs (default: a new temporary directory).")
    var dataDirectory: String?

    @Option(name: .customLong("base-port"), help: "Node i uses BASE+i for peers, BASE+1000+i for HTTP and BASE+2000+i for the Redis protocol.")
    var basePort: Int = 7000

    @Option(name: .customLong("log-level"), help: "The nodes' log level.")
    var logLevel: String = "info"

    @Option(name: .customLong("snapshot-entries"), help: "Each node takes a snapshot every this many applied entries.")
    var snapshotEntries: Int?

    @Flag(name: .customLong("insecure-no-auth"), help: "Start the nodes without client authorization (no keyring, no admin token).")
    var insecureNoAuth = false

    @Flag(name: .customLong("insecure-peers"), help: "Plain TCP between the nodes (no CA, no certificates).")
    var insecurePeers = false

    func validate() throws {
        guard (1...9).contains(nodes) else { throw ValidationError("--nodes must be 1 to 9") }
        guard (1...(65_535 - 2_009)).contains(basePort) else { throw ValidationError("--base-port must leave room for BASE+2009") }
    }

    func run() async throws {
        let directory = try dataDirectory ?? makeTemporaryDirectory(prefix: "chorus-cluster")
        var options = LocalCluster.Options(
            nodeCount: nodes, dataDirectory: directory, basePort: basePort, executable: LocalCluster.currentExecutable())
        options.extraArguments = ["--log-level", logLevel] + (snapshotEntries.map { ["--snapshot-entries", "\($0)"] } ?? [])
        options.authorization = insecureNoAuth ? .insecure : .generatedKeyring
        options.peerSecurity = insecurePeers ? .insecure : .generatedCertificates
        let cluster = try LocalCluster(options: options)
        do {
            try cluster.prepareAuthorization()
            try cluster.preparePeerCertificates()
        } catch {
            printError("chorus cluster up: \(error)")
            throw ExitCode(1)
        }
        let interrupted = SignalWaiter()
        var configuration = ChorusClient.Configuration()
        configuration.bearerToken = cluster.adminToken
        let client = try ChorusClient(endpoints: cluster.httpURLs, configuration: configuration)
        defer { client.shutdown() }
        do {
            try cluster.startAll()
        } catch {
            cluster.killAll()
            printError("chorus cluster up: \(error)")
            throw ExitCode(1)
        }
        print("Starting \(nodes) node(s); storage and logs in \(directory)")
        guard await cluster.waitUntilServing(client: client), let leader = await cluster.waitForLeader(client: client) else {
            printError("chorus cluster up: the nodes did not come up; see the logs in \(directory)")
            await cluster.shutdown()
            throw ExitCode(1)
        }
        let redis = await cluster.createLeaderlessKeyspace(client: client)
        for node in cluster.nodes {
            let resp = redis ? cluster.respURL(node).map { "   \($0)" } ?? "" : ""
            print("  n\(node)  \(cluster.httpURL(node))\(resp)\(node == leader.node ? "   (leader)" : "")")
        }
        if redis {
            print("Redis protocol: database 0 is leaderless keyspace '\(KeyspaceName.leaderlessDefaultName)' (N=\(min(3, nodes)), R=W=\(min(3, nodes) / 2 + 1)); try redis-cli -u \(cluster.respURL(leader.node) ?? "")\(cluster.adminToken == nil ? "" : " -a $(cat \(cluster.adminTokenFile))") SADD cart apple")
        } else {
            printError("chorus cluster up: could not create leaderless keyspace '\(KeyspaceName.leaderlessDefaultName)'; the Redis protocol has no database 0")
        }
        if let token = cluster.adminToken {
            print("Admin token (role admin), also in \(cluster.adminTokenFile):")
            print("  \(token)")
            print("Try: export CHORUS_TOKEN_FILE=\(cluster.adminTokenFile)")
            print("     chorus kv put hello world --endpoint \(cluster.httpURL(leader.node))")
            print("Other tokens: chorus tokens issue --keys \(cluster.keyringFile) --subject NAME --role reader|writer|monitor|admin --expires 1h")
        } else {
            print("Client authorization is OFF (--insecure-no-auth): anyone reaching these ports can do anything.")
            print("Try: chorus kv put hello world --endpoint \(cluster.httpURL(leader.node))")
        }
        if options.peerSecurity == .generatedCertificates {
            print("Peers: mutual TLS with the cluster CA in \(cluster.certificatesDirectory) (ca.pem, node-N.pem)")
        } else {
            print("Peer links are plain TCP (--insecure-peers): anyone reaching the peer ports can send Raft messages.")
        }
        print("Press Ctrl-C to stop the cluster.")
        // Report a node that exits on its own (a failed fsync, a crash), once.
        let monitor = Task {
            var reported: Set<Int> = []
            while !Task.isCancelled {
                for node in cluster.nodes where !reported.contains(node) && !cluster.isRunning(node) {
                    reported.insert(node)
                    printError("n\(node) exited (\(cluster.termination(node) ?? "?")); see \(cluster.logFile(node))")
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        await interrupted.wait()
        monitor.cancel()
        print("\nStopping…")
        await cluster.shutdown()
        print("Stopped. Data kept in \(directory)")
    }
}

/// Waits for SIGINT or SIGTERM (the process then handles them instead of dying).
final class SignalWaiter {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Void>

    init() {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func wait() async {
        for await _ in stream { return }
    }
}

func makeTemporaryDirectory(prefix: String) throws -> String {
    var base = NSTemporaryDirectory()
    while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
    var template = Array((base + "/\(prefix)-XXXXXX").utf8CString)
    guard let result = mkdtemp(&template) else {
        throw ValidationError("cannot create a temporary directory")
    }
    return String(cString: result)
}

/// Each line goes straight to standard output (not through stdio's buffer),
/// so a script reading a redirected output sees every line as it is printed.
private func print(_ line: String = "") { writeLine(line) }
