import ChorusRESP
import Foundation
import NIOCore
import NIOPosix
import Testing

let redisServerPath: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// The real redis-server 7 as the oracle: the same bytes are sent to it and
/// to this server (over the reference backend), and the replies must match
/// byte for byte — error messages, RESP2 and RESP3 encodings, inline
/// parsing, protocol errors and closes. Replies that differ by design
/// (HELLO's server name, client ids) are read but not compared.
/// Skipped, with the reason, where redis-server is not installed.
@Suite(.enabled(if: redisServerPath != nil, "redis-server is not installed (Debian package redis-server)"))
struct RedisServerDifferentialTests {
    /// One connection's script: raw bytes per command, and whether its reply is compared.
    struct Step {
        var bytes: [UInt8]
        var compared = true
    }

    static func step(_ words: String...) -> Step { Step(bytes: multibulk(words.map { Array($0.utf8) })) }
    static func inline(_ line: String) -> Step { Step(bytes: Array(line.utf8)) }

    static let scripts: [(name: String, steps: [Step], closes: Bool)] = [
        ("arity, unknown commands, syntax", [
            step("GET"), step("SET", "k"), step("FOO", "a", "b c"), step("foo"), step("CLIENT", "KILLX"),
            step("CLIENT"), step("CLIENT", "SETNAME"), step("INCRBY", "k", "x"), step("INCRBY", "k", "01"),
            step("SET", "k", "v", "EX", "0"), step("SET", "k", "v", "NX", "XX"), step("SET", "k", "v", "EX", "abc"),
            step("SET", "k", "v", "KEEPTTL", "PX", "5"), step("SET", "k", "v", "EX"), step("SET", "k", "v", "BOGUS"),
            step("HELLO", "4"), step("HELLO", "x"), step("HELLO", "3", "BOGUS"), step("HELLO", "3", "AUTH", "u"),
            step("PING", "a", "b"), step("MSET", "a", "1", "b"), step("HSET", "h", "f"), step("SELECT", "x"),
            step("SELECT", "16"), step("DECRBY", "k", "-9223372036854775808"), step("AUTH", "a", "b", "c"),
            step("CLIENT", "SETNAME", "a b"), step("ECHO"), step("RESET", "x"), step("COMMAND", "COUNT", "x"),
            step("FOO", String(repeating: "x", count: 200), "next"), step("AUTH", "pw"), step("AUTH", "user", "pw"),
        ], false),
        ("strings, counters, sets, hashes in RESP2", [
            step("SET", "k", "v"), step("GET", "k"), step("SET", "k", "w", "NX"), step("SET", "k", "w", "XX", "GET"),
            step("GET", "k"), step("SET", "fresh", "1", "XX"), step("SET", "fresh", "1", "NX", "GET"),
            step("MSET", "a", "1", "b", "2"), step("MGET", "a", "nope", "b"), step("EXISTS", "a", "a", "nope"),
            step("DEL", "a", "nope"), step("INCR", "c"), step("INCRBY", "c", "5"), step("DECR", "c"),
            step("DECRBY", "c", "2"), step("GET", "c"), step("INCR", "k"), step("SET", "m", "9223372036854775807"),
            step("INCR", "m"), step("SADD", "s", "x", "x"), step("SISMEMBER", "s", "x"), step("SISMEMBER", "s", "y"),
            step("SMEMBERS", "s"), step("SREM", "s", "x", "y"), step("SMEMBERS", "s"), step("SADD", "s2", "a"),
            step("GET", "s2"), step("SET", "s2", "v", "GET"), step("MGET", "s2", "k"), step("INCR", "s2"),
            step("HSET", "h", "f", "v"), step("HSET", "h", "f", "w"), step("HGET", "h", "f"), step("HGET", "h", "g"),
            step("HGETALL", "h"), step("HGETALL", "nope"), step("HDEL", "h", "f", "g"), step("HGET", "s2", "f"),
            step("SMEMBERS", "h"), step("PING"), step("PING", "hi"), step("ECHO", "x"), step("CLIENT", "GETNAME"),
            step("CLIENT", "SETNAME", "app"), step("CLIENT", "GETNAME"), step("SELECT", "1"), step("GET", "k"),
            step("SELECT", "0"), step("DBSIZE"), step("RESET"), step("CLIENT", "GETNAME"),
        ], false),
        ("RESP3 after HELLO 3", [
            step("SET", "k", "v"), step("SADD", "s", "x"), step("HSET", "h", "f", "v"),
            Step(bytes: multibulk([Array("HELLO".utf8), Array("3".utf8)]), compared: false),
            step("GET", "nope"), step("GET", "k"), step("HGETALL", "h"), step("SMEMBERS", "s"), step("SISMEMBER", "s", "x"),
            step("MGET", "k", "nope"), step("INCR", "c"), step("SET", "k", "w", "NX"), step("HGET", "h", "nope"),
            step("GET"), step("HELLO", "2", "SETNAME", "x").compared(false), step("GET", "nope"),
        ], false),
        ("inline commands", [
            inline("set k \"a b\"\r\n"), inline("get k\r\n"), inline("echo \"\\x41\\n\"\r\n"), inline("echo 'it\\'s'\n"),
            inline("   \r\n"), inline("PING\r\n"),
        ], false),
        ("QUIT closes", [step("PING"), step("QUIT")], true),
        ("invalid bulk length", [step("PING"), inline("*1\r\n$x\r\n")], true),
        ("invalid multibulk length", [inline("*abc\r\n")], true),
        ("expected $", [inline("*1\r\n+OK\r\n")], true),
        ("unbalanced quotes", [inline("set \"a\r\n")], true),
        ("negative bulk length", [inline("*1\r\n$-5\r\n")], true),
    ]

    @Test func repliesMatchRedisByteForByte() async throws {
        let port = try await Self.freePort()
        let redis = try Self.startRedis(port: port)
        defer {
            // SIGKILL: a throwaway server with nothing to save.
            kill(redis.processIdentifier, SIGKILL)
            redis.waitUntilExit()
        }
        try await Self.waitUntilListening(port: port)
        let others = Dictionary(uniqueKeysWithValues: (1...15).map { ($0, "ks\($0)") })
        let configuration = RESPServerConfiguration(
            session: RESPSessionConfiguration(databases: RESPDatabaseTable(defaultKeyspace: "ks0", others: others)))
        for (index, script) in Self.scripts.enumerated() {
            // Fresh keys per script on both sides: FLUSHALL there, a new backend here.
            _ = try await Self.exchange(port: port, [Self.step("FLUSHALL")], closes: false)
            let expected = try await Self.exchange(port: port, script.steps, closes: script.closes)
            let actual = try await withServer(InMemoryRESPBackend(), configuration: configuration) { server in
                try await Self.exchange(port: server.port, script.steps, closes: script.closes)
            }
            #expect(expected.count == script.steps.count + (script.closes ? 1 : 0), "\(script.name): redis answered \(expected.count)")
            for (step, (want, got)) in zip(script.steps + [Step(bytes: [])], zip(expected, actual)) where step.compared {
                #expect(got == want, "script \(index) '\(script.name)', command \(String(decoding: step.bytes, as: UTF8.self).debugDescription): redis \(String(decoding: want, as: UTF8.self).debugDescription), chorus \(String(decoding: got, as: UTF8.self).debugDescription)")
            }
            #expect(actual.count == expected.count, "\(script.name): \(actual.count) replies, redis gave \(expected.count)")
        }
    }

    /// Sends each step and reads its reply (one at a time, so a protocol
    /// error answers the step that caused it). With `closes`, also expects
    /// the server to close, recorded as a last empty reply.
    static func exchange(port: Int, _ steps: [Step], closes: Bool) async throws -> [[UInt8]] {
        try await withConnection(port: port) { connection in
            var replies: [[UInt8]] = []
            for step in steps {
                try await connection.send(step.bytes)
                let isBlank = step.bytes.allSatisfy { $0 == 32 || $0 == 13 || $0 == 10 }
                if isBlank { replies.append([]); continue }
                guard let reply = try await connection.rawReplies(1) else { return replies }
                replies.append(reply[0])
            }
            if closes, try await connection.isClosedByServer(), connection.received.isEmpty { replies.append([]) }
            return replies
        }
    }

    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    static func startRedis(port: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: redisServerPath!)
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--protected-mode", "no", "--daemonize", "no", "--dir", NSTemporaryDirectory(),
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitUntilListening(port: Int) async throws {
        for _ in 0..<100 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("redis-server did not start listening on \(port)")
    }
}

extension RedisServerDifferentialTests.Step {
    func compared(_ flag: Bool) -> Self {
        var copy = self
        copy.compared = flag
        return copy
    }
}
