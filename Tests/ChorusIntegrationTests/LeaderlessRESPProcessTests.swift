import ChorusClient
import ChorusLocalCluster
import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let redisCLI: String? = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// Three real node processes serving the leaderless keyspace `leaderless`
/// over the Redis protocol (`chorus node --resp`), driven by the real
/// `redis-cli` and the `redis` Python client: writes on every node, reads
/// from every node, authorization, and a node SIGSTOPped (then SIGKILLed
/// and restarted) while the others take writes, after which every
/// acknowledged write is read back from every node, and the returning node
/// holds every key itself.
@Suite(.serialized, .enabled(if: redisCLI != nil, "redis-cli is not installed (Debian package redis-tools)"))
struct LeaderlessRESPProcessTests {
    /// redis-cli against node `node` with the admin token; its output and status.
    static func cli(_ harness: ClusterHarness, _ node: Int, _ arguments: String...) async throws -> String {
        try await cli(harness, node, token: harness.token, arguments)
    }

    static func cli(_ harness: ClusterHarness, _ node: Int, token: String?, _ arguments: [String]) async throws -> String {
        let port = try #require(harness.cluster.options.respPorts.count >= node ? harness.cluster.options.respPorts[node - 1] : nil)
        var prefix = ["-h", "127.0.0.1", "-p", String(port)]
        if let token { prefix += ["-a", token, "--no-auth-warning"] }
        return try await run(redisCLI!, prefix + arguments)
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Retries a redis-cli command until its output is `expected` (the keyspace
    /// reaching every node, SWIM settling) or the deadline; the last output.
    static func eventually(_ harness: ClusterHarness, _ node: Int, _ arguments: [String], _ expected: String, seconds: Int = 20)
        async throws -> String
    {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var output = ""
        while ContinuousClock.now < deadline {
            output = try await cli(harness, node, token: harness.token, arguments)
            if output == expected { return output }
            try await Task.sleep(for: .milliseconds(100))
        }
        return output
    }

    @Test func redisClientsWorkOnEveryNodeWithTheKindsSemanticsAndAuthorization() async throws {
        try await ClusterHarness.withCluster(name: "resp-kinds", redisProtocol: true) { harness in
            let created = await harness.cluster.createLeaderlessKeyspace(client: harness.client)
            try #require(created)
            #expect(try await Self.eventually(harness, 1, ["SADD", "cart", "apple"], "1\n") == "1\n")
            #expect(try await Self.eventually(harness, 2, ["SADD", "cart", "pear", "apple"], "1\n") == "1\n")
            #expect(try await Self.eventually(harness, 3, ["SMEMBERS", "cart"], "apple\npear\n") == "apple\npear\n")
            #expect(try await Self.cli(harness, 1, "SET", "greeting", "hello world") == "OK\n")
            #expect(try await Self.eventually(harness, 3, ["GET", "greeting"], "hello world\n") == "hello world\n")
            // Increments through different coordinators merge.
            #expect(try await Self.cli(harness, 1, "INCRBY", "visits", "5") == "5\n")
            _ = try await Self.cli(harness, 2, "INCR", "visits")
            #expect(try await Self.eventually(harness, 3, ["GET", "visits"], "6\n") == "6\n")
            #expect(try await Self.cli(harness, 2, "HSET", "user:1", "name", "ada", "lang", "swift") == "2\n")
            #expect(try await Self.eventually(harness, 1, ["HGETALL", "user:1"], "lang\nswift\nname\nada\n") == "lang\nswift\nname\nada\n")
            #expect(try await Self.cli(harness, 1, "GET", "cart") == "WRONGTYPE Operation against a key holding the wrong kind of value\n\n")
            #expect(try await Self.cli(harness, 1, "SET", "k", "v", "EX", "10").hasPrefix("ERR SET with an expiry is not supported"))
            #expect(try await Self.cli(harness, 3, "DEL", "greeting", "cart", "absent") == "2\n")
            #expect(try await Self.eventually(harness, 1, ["EXISTS", "greeting", "cart", "visits"], "1\n") == "1\n")
            #expect(try await Self.cli(harness, 1, "FOO") == "ERR unknown command 'FOO', with args beginning with: \n\n")
            // Authorization: no token, a reader's token, a forged one.
            #expect(try await Self.cli(harness, 1, token: nil, ["GET", "visits"]).hasPrefix("NOAUTH"))
            let reader = try harness.issueToken(role: "reader", subject: "ann")
            #expect(try await Self.cli(harness, 2, token: reader, ["GET", "visits"]) == "6\n")
            #expect(try await Self.cli(harness, 2, token: reader, ["SET", "visits", "0"]).hasPrefix("NOPERM"))
            #expect(try await Self.cli(harness, 2, token: "chorus1.forged", ["PING"]).contains("WRONGPASS"))
            try await Self.pythonClient(harness)
            try await Self.versionedSiblingsOverHTTP(harness)
            try await Self.causalSessionsAcrossNodes(harness)
        }
    }

    /// A causal keyspace with R = W = 1: each write acknowledged by its first
    /// replica, each read answered by one. A session that writes on one node
    /// and reads on another with its token reads its write every time (the
    /// answering replica waits until the session's dependencies are visible
    /// there), and CRDT keys over HTTP merge across coordinators.
    static func causalSessionsAcrossNodes(_ harness: ClusterHarness) async throws {
        let client = harness.client
        let urls = harness.cluster.httpURLs
        let auth = [("Authorization", "Bearer \(harness.token)")]
        let definition = #"{"replication":"leaderless","replicas":3,"readQuorum":1,"writeQuorum":1,"causal":true}"#
        let leader = try await harness.leader()
        let created = try await client.send(
            .PUT, url: urls[leader.node - 1] + "/v1/keyspaces/timeline", headers: auth, body: Array(definition.utf8))
        #expect(created.status == 200, "\(created.bodyText)")
        var token: String?
        var stale = 0
        for round in 0..<30 {
            let writer = round % 3
            let reader = (round + 1) % 3
            let session = token.map { [("X-Chorus-Session", $0)] } ?? []
            let written = try await client.send(
                .POST, url: urls[writer] + "/v1/crdt/timeline/set/posts", headers: auth + session,
                body: Array(#"{"add":["post-\#(round)"]}"#.utf8))
            #expect(written.status == 200, "\(written.bodyText)")
            token = written.headers.first(name: "X-Chorus-Session")
            let read = try await client.send(
                .GET, url: urls[reader] + "/v1/crdt/timeline/set/posts", headers: auth + [("X-Chorus-Session", token ?? "")])
            #expect(read.status == 200, "\(read.bodyText)")
            if !read.bodyText.contains("\"post-\(round)\"") { stale += 1 }
            token = read.headers.first(name: "X-Chorus-Session") ?? token
        }
        #expect(stale == 0, "\(stale) of 30 reads on another node missed the session's own write")
        // Increments through every coordinator merge, and the session that
        // made them reads all three at once on any node.
        for node in 0..<3 {
            let incremented = try await client.send(
                .POST, url: urls[node] + "/v1/crdt/timeline/counter/likes", headers: auth + [("X-Chorus-Session", token ?? "")],
                body: Array(#"{"increment":2}"#.utf8))
            #expect(incremented.status == 200, "\(incremented.bodyText)")
            token = incremented.headers.first(name: "X-Chorus-Session") ?? token
        }
        let likes = try await client.send(
            .GET, url: urls[1] + "/v1/crdt/timeline/counter/likes", headers: auth + [("X-Chorus-Session", token ?? "")])
        #expect(likes.bodyText.contains("\"value\":6"), "\(likes.bodyText)")
    }

    /// `/v1/kv/{keyspace}/{key}` on a leaderless keyspace: two writes from one
    /// context become siblings (300), a write with the merged context resolves
    /// them, and bad input is a 4xx with a code.
    static func versionedSiblingsOverHTTP(_ harness: ClusterHarness) async throws {
        let client = harness.client
        let urls = harness.cluster.httpURLs
        let auth = [("Authorization", "Bearer \(harness.token)")]
        func context(_ response: ChorusResponse) -> String { response.headers.first(name: "X-Chorus-Context") ?? "" }
        try await client.createKeyspace("docs", replication: "leaderless", defaultLevel: "eventual")
        let first = try await client.send(.PUT, url: urls[0] + "/v1/kv/docs/readme", headers: auth, body: Array("v1".utf8))
        #expect(first.status == 200, "\(first.bodyText)")
        let read = try await client.send(.GET, url: urls[2] + "/v1/kv/docs/readme", headers: auth)
        #expect(read.status == 200 && read.bodyText == "v1")
        let seen = context(read)
        for (node, value) in [(0, "from-a"), (2, "from-b")] {
            let write = try await client.send(
                .PUT, url: urls[node] + "/v1/kv/docs/readme", headers: auth + [("X-Chorus-Context", seen)], body: Array(value.utf8))
            #expect(write.status == 200, "\(write.bodyText)")
        }
        let siblings = try await client.send(.GET, url: urls[1] + "/v1/kv/docs/readme?r=3", headers: auth)
        #expect(siblings.status == 300, "\(siblings.bodyText)")
        #expect(siblings.bodyText.contains("\"siblings\":[\"ZnJvbS1h\",\"ZnJvbS1i\"]"), "\(siblings.bodyText)")
        let resolved = try await client.send(
            .PUT, url: urls[1] + "/v1/kv/docs/readme?w=3", headers: auth + [("X-Chorus-Context", context(siblings))],
            body: Array("merged".utf8))
        #expect(resolved.status == 200, "\(resolved.bodyText)")
        let after = try await client.send(.GET, url: urls[0] + "/v1/kv/docs/readme?r=3", headers: auth)
        #expect(after.status == 200 && after.bodyText == "merged", "\(after.status) \(after.bodyText)")
        let badContext = try await client.send(
            .PUT, url: urls[0] + "/v1/kv/docs/readme", headers: auth + [("X-Chorus-Context", "not base64!")], body: [1])
        #expect(badContext.status == 400 && badContext.bodyText.contains("invalid_header"))
        let badQuorum = try await client.send(.GET, url: urls[0] + "/v1/kv/docs/readme?r=zero", headers: auth)
        #expect(badQuorum.status == 400 && badQuorum.bodyText.contains("invalid_parameter"))
        let cluster = try await client.send(.GET, url: urls[2] + "/v1/cluster", headers: auth)
        #expect(cluster.bodyText.contains("\"leaderless\":{\"members\":[{\"id\":1,\"status\":\"alive\"}"), "\(cluster.bodyText)")
    }

    /// The `redis` package from PyPI, in a private virtual environment made once per machine.
    static func pythonClient(_ harness: ClusterHarness) async throws {
        let environment = NSTemporaryDirectory() + "chorus-python-redis"
        let python = environment + "/bin/python"
        var ready = FileManager.default.isExecutableFile(atPath: python)
        if ready { ready = try await run(python, ["-c", "import redis"]).isEmpty }
        if !ready {
            _ = try await run("/usr/bin/python3", ["-m", "venv", environment])
            let installed = try await run(environment + "/bin/pip", ["install", "-q", "redis>=5"])
            try #require(FileManager.default.isExecutableFile(atPath: python), "no virtual environment: \(installed)")
        }
        let script = """
            import redis, sys
            ports, token = [int(p) for p in sys.argv[1].split(",")], sys.argv[2]
            clients = [redis.Redis(host="127.0.0.1", port=p, password=token, decode_responses=True) for p in ports]
            assert clients[0].ping()
            clients[0].sadd("py:tags", "a", "b")
            clients[1].srem("py:tags", "a")
            assert clients[2].smembers("py:tags") == {"b"}, clients[2].smembers("py:tags")
            assert clients[1].incrby("py:count", 40) == 40
            assert clients[2].incr("py:count", 2) == 42
            clients[0].hset("py:h", mapping={"x": "1", "y": "2"})
            assert clients[2].hgetall("py:h") == {"x": "1", "y": "2"}
            assert clients[1].hdel("py:h", "x") == 1
            assert clients[0].hget("py:h", "x") is None
            pipe = clients[2].pipeline(transaction=False)
            pipe.set("py:s", "one").get("py:s").set("py:s", "two").get("py:s")
            assert pipe.execute() == [True, "one", True, "two"]
            try:
                clients[0].get("py:tags")
                raise SystemExit("GET of a set did not fail")
            except redis.ResponseError as error:
                assert str(error).startswith("WRONGTYPE"), error
            print("python redis client: ok")
            """
        let ports = harness.cluster.options.respPorts.map(String.init).joined(separator: ",")
        let output = try await run(python, ["-c", script, ports, harness.token])
        #expect(output == "python redis client: ok\n", "\(output)")
    }

    @Test func everyAcknowledgedWriteSurvivesAPausedThenKilledNodeAndTheNodeConverges() async throws {
        try await ClusterHarness.withCluster(name: "resp-nemesis", redisProtocol: true) { harness in
            try #require(await harness.cluster.createLeaderlessKeyspace(client: harness.client))
            #expect(try await Self.eventually(harness, 3, ["SADD", "warm", "up"], "1\n") == "1\n")
            // Node 3 stops answering: W=2 writes go on through nodes 1 and 2.
            // A write whose coordinating replica was node 3 before SWIM suspected
            // it times out (its outcome unknown, as Dynamo's); the rest are acknowledged.
            harness.cluster.pause(3)
            var acknowledged: Set<String> = []
            var increments = 0
            for index in 0..<60 {
                let node = 1 + index % 2
                if try await Self.cli(harness, node, "SADD", "orders", "order-\(index)") == "1\n" { acknowledged.insert("order-\(index)") }
                if Int(try await Self.cli(harness, node, "INCR", "order-count").dropLast()) != nil { increments += 1 }
            }
            #expect(acknowledged.count >= 50, "\(acknowledged.count) of 60 writes acknowledged with one node paused")
            // Killed while paused, then restarted from its log.
            await harness.cluster.crash(3)
            try harness.cluster.start(3)
            // Every node converges on one set holding every acknowledged add.
            let reference = try await Self.eventually(harness, 1, ["SMEMBERS", "orders"], "", seconds: 1)
            let members = Set(reference.split(separator: "\n").map(String.init))
            #expect(acknowledged.isSubset(of: members), "lost: \(acknowledged.subtracting(members).sorted())")
            #expect(members.isSubset(of: Set((0..<60).map { "order-\($0)" })))
            for node in 2...3 {
                #expect(try await Self.eventually(harness, node, ["SMEMBERS", "orders"], reference) == reference, "node \(node)")
            }
            let count = try await Self.eventually(harness, 1, ["GET", "order-count"], "", seconds: 1)
            #expect((increments...60).contains(Int(count.dropLast()) ?? -1), "order-count \(count), \(increments) increments acknowledged")
            for node in 2...3 { #expect(try await Self.eventually(harness, node, ["GET", "order-count"], count) == count, "node \(node)") }
            // Node 3 itself holds every key again (anti-entropy and read repair), not just reads through others.
            #expect(try await Self.eventually(harness, 3, ["DBSIZE"], "3\n", seconds: 30) == "3\n")
        }
    }

    /// Five processes, N=3, W=2, so every key has two nodes that hold nothing
    /// of it: node 4 paused and node 5 killed while 100 adds go to ten sets
    /// through the other three. Keys whose primaries include both faulty
    /// nodes stay writable through fallbacks (sloppy quorum, hints). Then
    /// node 4 is killed too and both restart from their logs: every node reads
    /// every acknowledged add with all three primaries answering (r=3), and
    /// every hint is delivered.
    @Test func fiveNodesKeepEveryAcknowledgedWriteThroughTwoFaultsAndConverge() async throws {
        try await ClusterHarness.withCluster(nodes: 5, name: "leaderless-five") { harness in
            try #require(await harness.cluster.createLeaderlessKeyspace(client: harness.client))
            let client = harness.client
            let urls = harness.cluster.httpURLs
            let auth = [("Authorization", "Bearer \(harness.token)")]
            harness.cluster.pause(4)
            await harness.cluster.crash(5)
            var acknowledged: [String: Set<String>] = [:]
            var attempted: [String: Set<String>] = [:]
            for index in 0..<100 {
                let key = "cart-\(index % 10)", order = "order-\(index)"
                attempted[key, default: []].insert(order)
                let answer = try? await client.send(
                    .POST, url: urls[index % 3] + "/v1/crdt/leaderless/set/\(key)", headers: auth,
                    body: Array(#"{"add":["\#(order)"]}"#.utf8))
                if answer?.status == 200 { acknowledged[key, default: []].insert(order) }
            }
            let count = acknowledged.values.map(\.count).reduce(0, +)
            #expect(count >= 80, "\(count) of 100 adds acknowledged with two of five nodes down")
            print("leaderless five nodes: \(count) of 100 adds acknowledged with node 4 paused and node 5 killed")
            await harness.cluster.crash(4)
            try harness.cluster.start(4)
            try harness.cluster.start(5)
            let deadline = ContinuousClock.now + .seconds(60)
            func converged() async -> [String] {
                var problems: [String] = []
                for node in 0..<5 {
                    for key in attempted.keys.sorted() {
                        let read = try? await client.send(.GET, url: urls[node] + "/v1/crdt/leaderless/set/\(key)?r=3", headers: auth)
                        guard read?.status == 200, let body = read?.bodyText else {
                            problems.append("n\(node + 1) \(key): \(read?.status ?? 0)")
                            continue
                        }
                        let missing = (acknowledged[key] ?? []).filter { !body.contains("\"\($0)\"") }
                        if !missing.isEmpty { problems.append("n\(node + 1) \(key) misses \(missing.sorted())") }
                    }
                    let cluster = try? await client.send(.GET, url: urls[node] + "/v1/cluster", headers: auth)
                    if cluster?.bodyText.contains("\"hintsPending\":0,") != true { problems.append("n\(node + 1) has hints pending") }
                }
                return problems
            }
            var problems = await converged()
            while !problems.isEmpty, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                problems = await converged()
            }
            #expect(problems.isEmpty, "not converged within 60 s: \(problems.prefix(10))")
            print("leaderless five nodes: converged, every hint delivered, \(ContinuousClock.now - (deadline - .seconds(60))) after the restarts")
        }
    }
}
