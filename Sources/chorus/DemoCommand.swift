import ChorusAPI
import ArgumentParser
import ChorusClient
import ChorusLocalCluster
import Foundation

/// `chorus demo`: a guided tour of a local three-node cluster.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a local 3-node cluster and tour it: writes, a leader crash, reads at every level, events, a payment saga, permissions.",
        discussion: """
            The cluster runs as three `chorus node` processes on 127.0.0.1 with their storage \
            in a temporary directory. After the tour it keeps running, with its URLs printed, \
            until Ctrl-C (or exits at once with --no-wait).
            """
    )

    @Option(
        name: .customLong("base-port"),
        help: "Node i uses BASE+i for peers and BASE+1000+i for HTTP (default 7000, or free ports if those are taken).")
    var basePort: Int?

    @Option(name: .customLong("data-dir"), help: "Where the nodes keep storage and logs (default: a new temporary directory).")
    var dataDirectory: String?

    @Flag(name: .customLong("no-wait"), help: "Stop the cluster after the tour instead of waiting for Ctrl-C.")
    var noWait = false

    @Flag(name: .customLong("no-color"), help: "Plain output even on a terminal.")
    var noColor = false

    func validate() throws {
        if let basePort, !(1...(65_535 - 1_009)).contains(basePort) {
            throw ValidationError("--base-port must leave room for BASE+1009")
        }
    }

    func run() async throws {
        let style = Style(enabled: !noColor && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil)
        let base: Int
        if let basePort {
            base = basePort
        } else if let free = LocalCluster.freeBasePort(nodeCount: 3, preferred: 7_000) {
            base = free
        } else {
            printError("chorus demo: no free ports found for three nodes; pass --base-port")
            throw ExitCode(2)
        }
        let directory = try dataDirectory ?? makeTemporaryDirectory(prefix: "chorus-demo")
        var options = LocalCluster.Options(
            nodeCount: 3, dataDirectory: directory, basePort: base, executable: LocalCluster.currentExecutable())
        options.extraArguments = ["--log-level", "info", "--projections", try Tour.writeProjections(in: directory)]
        let cluster = try LocalCluster(options: options)
        do { try cluster.prepareAuthorization() } catch {
            printError("chorus demo: \(error)")
            throw ExitCode(1)
        }
        let interrupted = SignalWaiter()
        var clientConfiguration = ChorusClient.Configuration()
        clientConfiguration.operationTimeoutMilliseconds = 8_000
        clientConfiguration.bearerToken = cluster.adminToken
        let client = try ChorusClient(endpoints: cluster.httpURLs, configuration: clientConfiguration)
        defer { client.shutdown() }

        let tour = Tour(cluster: cluster, client: client, style: style)
        do {
            try await tour.run()
        } catch {
            print(style.red("\n✗ the tour stopped: \(error)"))
            print("  node logs: \(directory)/n1.log … n3.log")
            await cluster.shutdown()
            throw ExitCode(1)
        }
        print("")
        print(style.bold("The cluster keeps running:"))
        for node in cluster.nodes where cluster.isRunning(node) {
            print("  n\(node)  \(cluster.httpURL(node))   \(cluster.respURL(node) ?? "")")
        }
        print("  storage and logs: \(directory)")
        print("  peer links: mutual TLS, cluster CA and node certificates in \(cluster.certificatesDirectory)")
        print("  admin token (role admin; every request but /healthz needs a token): \(cluster.adminTokenFile)")
        print("    \(cluster.adminToken ?? "?")")
        print("")
        print("  export CHORUS_TOKEN_FILE=\(cluster.adminTokenFile)")
        print("  chorus kv put greeting bonjour --endpoint \(cluster.httpURL(1))")
        print("  chorus kv get greeting --consistency sequential --endpoint \(cluster.httpURL(3))")
        print("  chorus saga list --endpoint \(cluster.httpURL(2))        # the tour's two order sagas, from a follower's fold")
        print("  redis-cli -u \(cluster.respURL(3) ?? "") -a $(cat \(cluster.adminTokenFile)) --no-auth-warning SMEMBERS <the cart>")
        print("  curl -s -H \"Authorization: Bearer $(cat \(cluster.adminTokenFile))\" \(cluster.httpURL(1))/v1/cluster")
        print("  chorus tokens issue --keys \(cluster.keyringFile) --subject alice --role reader --expires 1h")
        if noWait {
            await cluster.shutdown()
            return
        }
        print("")
        print(style.dim("Press Ctrl-C to stop."))
        await interrupted.wait()
        print("\nStopping…")
        await cluster.shutdown()
    }
}

/// The tour's steps.
struct Tour {
    let cluster: LocalCluster
    let client: ChorusClient
    let style: Style

    struct TourError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    func run() async throws {
        print(style.bold("Chorus demo") + style.dim(" — three processes, one log: a key-value store at every consistency level, an event store, sagas, a leaderless Redis cart, tokens"))
        print("")

        // Start.
        let started = ContinuousClock.now
        try cluster.startAll()
        guard await cluster.waitUntilServing(client: client), let leader = await cluster.waitForLeader(client: client) else {
            throw TourError("the nodes did not elect a leader; see \(cluster.options.dataDirectory)/n*.log")
        }
        step("Started 3 nodes (Raft over TCP, a write-ahead log each) and elected a leader in \(milliseconds(since: started))")
        for node in cluster.nodes {
            print("    n\(node)  \(cluster.httpURL(node))" + (node == leader.node ? style.green("  ← leader, term \(leader.term)") : ""))
        }
        print("")

        // 1. Writes and linearizable reads.
        heading("1. Writes, each fsynced on a majority before it is acknowledged")
        let follower = cluster.nodes.first { $0 != leader.node }!
        let writeStart = ContinuousClock.now
        let version = try await client.put("greeting", Array("hello, world".utf8))
        print("    PUT /v1/kv/greeting  \"hello, world\"      → version \(version)   (\(milliseconds(since: writeStart)))")
        let cities = ["paris", "tokyo", "lima", "oslo"]
        for (position, city) in cities.enumerated() {
            let version = try await client.put("city/\(position)", Array(city.utf8))
            print("    PUT /v1/kv/city%2F\(position)  \"\(city)\"" + String(repeating: " ", count: 12 - city.count) + "→ version \(version)")
        }
        let followerClient = try ChorusClient(endpoints: [cluster.httpURL(follower)], configuration: client.configuration)
        defer { followerClient.shutdown() }
        let readStart = ContinuousClock.now
        guard let greeting = try await followerClient.get("greeting", consistency: .linearizable) else {
            throw TourError("the greeting is missing")
        }
        print(
            "    GET  greeting on n\(follower) (a follower), linearizable → \"\(String(decoding: greeting.value, as: UTF8.self))\" "
                + style.dim("(\(milliseconds(since: readStart)))"))
        print(style.dim("      ReadIndex: the leader confirmed it still leads; n\(follower) waited until it had applied that far"))
        let current = try await client.put("counter", Array("1".utf8))
        let swapped = try await client.put("counter", Array("2".utf8), expectedVersion: current)
        print("    compare-and-set counter: version \(current) → \(swapped) " + style.green("✓"))
        do {
            _ = try await client.put("counter", Array("3".utf8), expectedVersion: current)
            throw TourError("a stale compare-and-set succeeded")
        } catch ChorusClientError.versionMismatch(let now) {
            print("    compare-and-set with the stale version \(current) → 412, the key is at version \(now) " + style.green("✓"))
        }
        print("")

        // 2. Kill the leader.
        heading("2. Acknowledge 100 writes, then kill the leader (SIGKILL)")
        let acknowledged = try await writeBatch(prefix: "ack", count: 100)
        print("    100 writes acknowledged (\(acknowledged.elapsed), 16 at a time)")
        let killedAt = ContinuousClock.now
        await cluster.crash(leader.node)
        print("    " + style.red("kill -9") + " n\(leader.node), the leader")
        guard let newLeader = await cluster.waitForLeader(client: client, excluding: [leader.node], timeoutMilliseconds: 15_000) else {
            throw TourError("no new leader was elected")
        }
        step("New leader n\(newLeader.node) elected in \(milliseconds(since: killedAt)) (term \(newLeader.term))")
        var missing: [String] = []
        for (key, value) in acknowledged.values {
            let read = try await client.get(key, consistency: .linearizable)
            if read?.value != value { missing.append(key) }
        }
        guard missing.isEmpty else { throw TourError("acknowledged writes lost: \(missing.sorted())") }
        step("All 100 acknowledged writes are still there (read linearizably from the new leader)")
        let afterCrash = try await client.put("greeting", Array("hello again".utf8))
        print("    and the cluster keeps accepting writes with 2 of 3 nodes: greeting → version \(afterCrash)")
        print("")

        // 3. Restart and a follower read at sequential.
        heading("3. Restart n\(leader.node): it recovers from its disk and catches up")
        let restartAt = ContinuousClock.now
        try cluster.start(leader.node)
        guard await cluster.waitUntilServing(client: client) else { throw TourError("n\(leader.node) did not come back") }
        let token = client.sessionIndex
        let restartedClient = try ChorusClient(endpoints: [cluster.httpURL(leader.node)], configuration: client.configuration)
        defer { restartedClient.shutdown() }
        var sequential: VersionedValue?
        let readDeadline = ContinuousClock.now + .seconds(10)
        while sequential == nil && ContinuousClock.now < readDeadline {
            sequential = try? await readSequential(restartedClient, key: "greeting", minimumIndex: token)
            if sequential == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let sequential else { throw TourError("n\(leader.node) did not catch up") }
        print(
            "    GET greeting on n\(leader.node) at consistency=sequential with X-Chorus-Min-Index: \(token)"
                + " → \"\(String(decoding: sequential.value, as: UTF8.self))\"")
        step(
            "n\(leader.node) restarted, replayed its log, caught up to index \(token) and served the read itself in \(milliseconds(since: restartAt))"
        )
        print(style.dim("    (sequential: any replica answers from its own state, never older than what this session has seen)"))
        print("")

        try await spectrum(follower: cluster.nodes.first { $0 != newLeader.node }!)
        try await eventStore(follower: cluster.nodes.first { $0 != newLeader.node }!)
        try await paymentSaga(follower: cluster.nodes.first { $0 != newLeader.node }!)
        try await leaderlessCart()
        try await permissions()
    }

    /// A sequential read on one node that must reflect at least `minimumIndex`.
    func readSequential(_ client: ChorusClient, key: String, minimumIndex: UInt64) async throws -> VersionedValue? {
        // The per-node client's own session index starts at 0; carry the demo session's token over.
        try await client.get(key, consistency: .sequential, minimumIndexOverride: minimumIndex)
    }

    func writeBatch(prefix: String, count: Int) async throws -> (values: [(String, [UInt8])], elapsed: String) {
        let start = ContinuousClock.now
        let client = self.client
        let values: [(String, [UInt8])] = (0..<count).map { ("\(prefix)-\($0)", Array("value-\($0)".utf8)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for _ in 0..<16 {
                guard next < values.count else { break }
                let (key, value) = values[next]
                next += 1
                group.addTask { try await client.put(key, value) }
            }
            while try await group.next() != nil {
                guard next < values.count else { continue }
                let (key, value) = values[next]
                next += 1
                group.addTask { try await client.put(key, value) }
            }
        }
        return (values, milliseconds(since: start))
    }

    func heading(_ text: String) { print(style.bold(text)) }
    func step(_ text: String) { print(style.green("  ✓ ") + text) }

    func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let value = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        return value < 10 ? String(format: "%.1f ms", value) : "\(Int(value.rounded())) ms"
    }
}

/// ANSI colours, only on a terminal.
struct Style {
    let enabled: Bool
    func wrap(_ code: String, _ text: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { wrap("1", text) }
    func dim(_ text: String) -> String { wrap("2", text) }
    func green(_ text: String) -> String { wrap("32", text) }
    func red(_ text: String) -> String { wrap("31", text) }
}

/// Each line goes straight to standard output (not through stdio's buffer),
/// so a script reading a redirected output sees every line as it is printed.
private func print(_ line: String = "") { writeLine(line) }
