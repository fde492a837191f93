import ChorusRESP
import Foundation
import Testing

let redisCLIPath: String? = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// The real `redis-cli` (Debian `redis-tools`) against the server and the
/// reference backend: the commands issue 14 names, as a user types them.
/// Skipped, with the reason, where redis-cli is not installed.
@Suite(.enabled(if: redisCLIPath != nil, "redis-cli is not installed (Debian package redis-tools)"))
struct RedisCLITests {
    static var redisCLI: String? { redisCLIPath }

    /// Runs redis-cli with `arguments` against `port`; its standard output
    /// and exit status. Not a TTY, so redis-cli prints raw replies.
    static func run(port: Int, _ arguments: String...) async throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: redisCLI!)
        process.arguments = ["-h", "127.0.0.1", "-p", String(port)] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        // Wait without blocking a cooperative thread: the backend runs there.
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (text, status)
    }

    @Test func redisCLIWorksUnchanged() async throws {
        try await withServer(InMemoryRESPBackend()) { server in
            let port = server.port
            #expect(try await Self.run(port: port, "PING") == ("PONG\n", 0))
            #expect(try await Self.run(port: port, "SET", "greeting", "hello world") == ("OK\n", 0))
            #expect(try await Self.run(port: port, "GET", "greeting") == ("hello world\n", 0))
            #expect(try await Self.run(port: port, "INCRBY", "visits", "7") == ("7\n", 0))
            #expect(try await Self.run(port: port, "INCRBY", "visits", "3") == ("10\n", 0))
            #expect(try await Self.run(port: port, "SADD", "tags", "b", "a", "b") == ("2\n", 0))
            #expect(try await Self.run(port: port, "SMEMBERS", "tags") == ("a\nb\n", 0))
            #expect(try await Self.run(port: port, "HSET", "user", "name", "ada", "lang", "swift") == ("2\n", 0))
            #expect(try await Self.run(port: port, "HGETALL", "user") == ("lang\nswift\nname\nada\n", 0))
            // In RESP3 the reply is a map, which redis-cli prints as pairs.
            #expect(try await Self.run(port: port, "-3", "HGETALL", "user") == ("lang swift\nname ada\n", 0))
            let hello = try await Self.run(port: port, "HELLO", "3")
            #expect(hello.status == 0)
            #expect(hello.output.hasPrefix("server chorus\nversion 7.0.0\nproto 3\nid "), "\(hello.output)")
            #expect(try await Self.run(port: port, "-3", "GET", "nothing") == ("\n", 0))
            #expect(try await Self.run(port: port, "FOO", "bar")
                == ("ERR unknown command 'FOO', with args beginning with: 'bar' \n\n", 0))
            #expect(try await Self.run(port: port, "GET", "tags")
                == ("WRONGTYPE Operation against a key holding the wrong kind of value\n\n", 0))
            #expect(try await Self.run(port: port, "DBSIZE") == ("4\n", 0))
        }
    }
}
