import ChorusKeyValue
import ChorusLocalCluster
import ChorusRESP

/// A shopping cart on a leaderless keyspace, over the Redis protocol (issue
/// 14): any node takes writes, one node is cut off (SIGSTOP) while the
/// other two go on, and once it returns every node answers the same merged
/// cart — an add-wins set and a counter whose increments add up — and the
/// returning node holds every key itself again (read repair, anti-entropy).
extension Tour {
    func leaderlessCart() async throws {
        heading("7. A shopping cart on a leaderless keyspace, spoken to in the Redis protocol")
        guard await cluster.createLeaderlessKeyspace(client: client) else { throw TourError("the leaderless keyspace was not created") }
        let urls = cluster.nodes.compactMap { cluster.respURL($0) }
        print("    keyspace '\(KeyspaceName.leaderlessDefaultName)' (N=3, W=2, R=2) is Redis database 0 on every node: \(urls.joined(separator: "  "))")
        let cart = "cart:\(UInt32.random(in: 1_000...9_999))"
        try await redis(1, "SADD", cart, "tea")
        try await redis(2, "SADD", cart, "cups")
        try await redis(3, "INCRBY", "\(cart):items", "2")
        print("    SADD \(cart) tea on n1, SADD \(cart) cups on n2, INCRBY \(cart):items 2 on n3")

        let cutAt = ContinuousClock.now
        cluster.pause(3)
        print("    " + style.red("kill -STOP") + " n3: it is cut off, the other two go on (any node coordinates; W=2 of the two that answer)")
        try await redis(1, "SADD", cart, "honey")
        try await redis(2, "SREM", cart, "cups")
        try await redis(1, "INCRBY", "\(cart):items", "1")
        try await redis(2, "INCRBY", "\(cart):items", "-1")
        print("    SADD honey on n1, SREM cups on n2, INCRBY items +1 on n1 and -1 on n2: all acknowledged")
        cluster.resume(3)

        let expected = "honey tea"
        var merged = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            merged = try await members(3, cart)
            if merged == expected { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard merged == expected else { throw TourError("n3's cart is [\(merged)], not [\(expected)]") }
        let items = try await string(3, key: "\(cart):items")
        guard items == "2" else { throw TourError("n3's item count is \(items), not 2") }
        for node in 1...2 where try await members(node, cart) != expected { throw TourError("n\(node)'s cart differs") }
        step("n3 is back: SMEMBERS \(cart) → [\(merged)] and GET items → \(items) on every node, \(milliseconds(since: cutAt)) after the cut")
        print(style.dim("    (sets are add-wins OR-sets, counters add their increments up: replicas merge, nothing is overwritten)"))
        print("")
    }

    /// One command on node `node` after `AUTH` with the admin token; throws on an error reply.
    @discardableResult
    func redis(_ node: Int, _ arguments: String...) async throws -> RESPValue {
        guard let port = cluster.options.respPorts.indices.contains(node - 1) ? cluster.options.respPorts[node - 1] : nil else {
            throw TourError("n\(node) serves no Redis protocol")
        }
        let token = cluster.adminToken
        let reply = try await RESPClientConnection.with(port: port) { connection -> RESPValue? in
            if let token, case .error(let message)? = try await connection.command("AUTH", token) {
                return .error(message)
            }
            try await connection.send(RESPClientConnection.encode(arguments.map { Array($0.utf8) }))
            return try await connection.reply()
        }
        guard let reply else { throw TourError("n\(node) closed the connection") }
        if case .error(let message) = reply { throw TourError("n\(node): \(arguments.joined(separator: " ")) → \(message)") }
        return reply
    }

    func members(_ node: Int, _ key: String) async throws -> String {
        guard case .array(let values) = try await redis(node, "SMEMBERS", key) else { throw TourError("SMEMBERS did not answer an array") }
        return values.map { if case .bulkString(let bytes) = $0 { String(decoding: bytes, as: UTF8.self) } else { "?" } }.joined(separator: " ")
    }

    func string(_ node: Int, key: String) async throws -> String {
        let reply = try await redis(node, "GET", key)
        guard case .bulkString(let bytes) = reply else { return "nil" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
private func print(_ line: String = "") { writeLine(line) }
