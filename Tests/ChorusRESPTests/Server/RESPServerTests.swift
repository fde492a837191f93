import Logging
import ChorusRESP
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite struct RESPServerTests {
    @Test func pipelinedCommandsAreAnsweredInOrder() async throws {
        let backend = InMemoryRESPBackend()
        try await withServer(backend) { server in
            try await withConnection(port: server.port) { connection in
                var input: [UInt8] = []
                var expected: [RESPValue] = []
                for index in 0..<500 {
                    input += multibulk("SET", "k\(index)", "v\(index)")
                    input += multibulk("GET", "k\(index)")
                    input += bytes("INCR counter\r\n")
                    expected += [.ok, .bulk("v\(index)"), .integer(Int64(index + 1))]
                }
                // One write: the server reads many commands per read.
                try await connection.send(input)
                #expect(try await connection.replies(expected.count) == expected)
                try await connection.send(multibulk("DBSIZE"))
                #expect(try await connection.reply() == .integer(501))
            }
        }
    }

    @Test func unknownCommandsAndArityErrorsKeepTheConnection() async throws {
        try await withServer(InMemoryRESPBackend()) { server in
            try await withConnection(port: server.port) { connection in
                try await connection.send(multibulk("FOO", "bar") + multibulk("GET") + multibulk("PING"))
                #expect(try await connection.replies(3) == [
                    .error("ERR unknown command 'FOO', with args beginning with: 'bar' "),
                    .error("ERR wrong number of arguments for 'get' command"),
                    .simpleString("PONG"),
                ])
            }
        }
    }

    @Test func aProtocolErrorIsAnsweredThenTheConnectionCloses() async throws {
        try await withServer(InMemoryRESPBackend()) { server in
            try await withConnection(port: server.port) { connection in
                try await connection.send(multibulk("PING") + bytes("*1\r\n$x\r\n") + multibulk("PING"))
                #expect(try await connection.replies(2) == [
                    .simpleString("PONG"), .error("ERR Protocol error: invalid bulk length"),
                ])
                #expect(try await connection.isClosedByServer())
                #expect(connection.received.isEmpty, "nothing after the error line")
            }
        }
    }

    @Test func helloThreeSwitchesTheWireFormat() async throws {
        try await withServer(InMemoryRESPBackend()) { server in
            try await withConnection(port: server.port) { connection in
                try await connection.send(multibulk("GET", "missing") + multibulk("HELLO", "3") + multibulk("GET", "missing")
                    + multibulk("HSET", "h", "f", "v") + multibulk("HGETALL", "h"))
                guard let replies = try await connection.replies(5) else {
                    Issue.record("the server closed")
                    return
                }
                #expect(replies[0] == .null)
                guard case .map(let hello) = replies[1] else {
                    Issue.record("HELLO 3 did not answer a RESP3 map: \(replies[1])")
                    return
                }
                #expect(hello.first(where: { $0.key == .bulk("proto") })?.value == .integer(3))
                #expect(replies[2] == .null)
                #expect(replies[3] == .integer(1))
                #expect(replies[4] == .map([RESPMapEntry(.bulk("f"), .bulk("v"))]))
            }
            // The exact bytes: RESP2 `$-1`, RESP3 `_`.
            try await withConnection(port: server.port) { connection in
                try await connection.send(multibulk("GET", "missing") + multibulk("HELLO", "3", "SETNAME", "x")
                    + multibulk("GET", "missing"))
                _ = try await connection.replies(3)
                #expect(connection.received.isEmpty)
            }
        }
    }

    @Test func quitAnswersThenCloses() async throws {
        try await withServer(InMemoryRESPBackend()) { server in
            try await withConnection(port: server.port) { connection in
                try await connection.send(bytes("QUIT\r\nPING\r\n"))
                #expect(try await connection.reply() == .ok)
                #expect(try await connection.isClosedByServer())
                #expect(connection.received.isEmpty, "PING after QUIT is not answered")
            }
        }
    }

    @Test func commandsBeforeAHalfCloseAreStillAnswered() async throws {
        try await withServer(InMemoryRESPBackend()) { server in
            try await withConnection(port: server.port) { connection in
                try await connection.send(bytes("SET a 1\r\nGET a\r\n"))
                try await connection.channel.close(mode: .output)
                #expect(try await connection.replies(2) == [.ok, .bulk("1")])
            }
        }
    }

    @Test func connectionsPastTheLimitAreRefusedWithRedisError() async throws {
        var configuration = RESPServerConfiguration()
        configuration.maximumConnections = 1
        try await withServer(InMemoryRESPBackend(), configuration: configuration) { server in
            try await withConnection(port: server.port) { first in
                try await first.send(bytes("PING\r\n"))
                #expect(try await first.reply() == .simpleString("PONG"))
                try await withConnection(port: server.port) { (second: inout RESPTestConnection) async throws in
                    #expect(try await second.reply() == .error("ERR max number of clients reached"))
                    #expect(try await second.isClosedByServer())
                }
                try await first.send(bytes("PING\r\n"))
                #expect(try await first.reply() == .simpleString("PONG"))
            }
        }
    }

    @Test func shutdownClosesOpenConnections() async throws {
        let server = try await RESPServer.start(
            host: "127.0.0.1", port: 0, backend: InMemoryRESPBackend(), group: MultiThreadedEventLoopGroup.singleton,
            logger: .init(label: "resp-test"))
        try await withConnection(port: server.port) { connection in
            try await connection.send(bytes("PING\r\n"))
            #expect(try await connection.reply() == .simpleString("PONG"))
            #expect(server.connectionCount == 1)
            await server.shutdown()
            #expect(try await connection.isClosedByServer())
        }
    }

    @Test func anInvalidConfigurationIsRefusedAtStart() async {
        var configuration = RESPServerConfiguration()
        configuration.maximumPendingBatches = 1
        await #expect(throws: RESPServerConfigurationError(problems: ["maximumPendingBatches must be at least 2"])) {
            _ = try await RESPServer.start(
                host: "127.0.0.1", port: 0, backend: InMemoryRESPBackend(), group: MultiThreadedEventLoopGroup.singleton,
                logger: .init(label: "resp-test"), configuration: configuration)
        }
    }

    /// A connection whose commands wait on a slow backend stops being read:
    /// the client's writes back up instead of the server buffering them.
    @Test func aStalledConnectionStopsReading() async throws {
        let backend = GatedBackend()
        try await withServer(backend) { server in
            try await withConnection(port: server.port) { connection in
                let value = String(repeating: "x", count: 16 << 10)
                var flood = multibulk("GET", "gate")
                let echo = multibulk("ECHO", value)
                let count = 2_048  // 32 MiB of commands
                for _ in 0..<count { flood += echo }
                connection.channel.writeAndFlush(connection.channel.allocator.buffer(bytes: flood), promise: nil)
                try await Task.sleep(for: .seconds(1))
                let channel = connection.channel
                let writable = try await channel.eventLoop.submit { channel.isWritable }.get()
                #expect(!writable, "the server read the whole flood while its first command was stalled")
                backend.open()
                let replies = try await connection.replies(count + 1)
                #expect(replies?.count == count + 1)
                #expect(replies?.first == .bulk("open"))
                #expect(replies?.last == .bulk(value))
            }
        }
    }
}

/// A backend whose `GET` waits until the test opens it.
final class GatedBackend: RESPBackend {
    private let waiters = Mutex<(isOpen: Bool, continuations: [CheckedContinuation<Void, Never>])>((false, []))
    let inner = InMemoryRESPBackend()

    func open() {
        let continuations = waiters.withLock { state in
            state.isOpen = true
            defer { state.continuations = [] }
            return state.continuations
        }
        for continuation in continuations { continuation.resume() }
    }

    var requiresAuthentication: Bool { false }
    func authenticate(username: [UInt8], password: [UInt8]) async throws(RESPBackendError) -> String { "" }
    func get(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        await withCheckedContinuation { continuation in
            let resumeNow = waiters.withLock { state in
                if state.isOpen { return true }
                state.continuations.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return bytes("open")
    }
    func set(_ request: RESPSetRequest, context: RESPRequestContext) async throws(RESPBackendError) -> RESPSetOutcome {
        try await inner.set(request, context: context)
    }
    func delete(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { try await inner.delete(keys, context: context) }
    func exists(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int { try await inner.exists(keys, context: context) }
    func multipleGet(_ keys: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]?] {
        try await inner.multipleGet(keys, context: context)
    }
    func multipleSet(_ pairs: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) {
        try await inner.multipleSet(pairs, context: context)
    }
    func incrementBy(_ key: [UInt8], amount: Int64, context: RESPRequestContext) async throws(RESPBackendError) -> Int64 {
        try await inner.incrementBy(key, amount: amount, context: context)
    }
    func setAdd(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try await inner.setAdd(key, members: members, context: context)
    }
    func setRemove(_ key: [UInt8], members: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try await inner.setRemove(key, members: members, context: context)
    }
    func setMembers(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [[UInt8]] {
        try await inner.setMembers(key, context: context)
    }
    func setIsMember(_ key: [UInt8], member: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> Bool {
        try await inner.setIsMember(key, member: member, context: context)
    }
    func hashSet(_ key: [UInt8], fields: [RESPKeyValue], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try await inner.hashSet(key, fields: fields, context: context)
    }
    func hashGet(_ key: [UInt8], field: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [UInt8]? {
        try await inner.hashGet(key, field: field, context: context)
    }
    func hashDelete(_ key: [UInt8], fields: [[UInt8]], context: RESPRequestContext) async throws(RESPBackendError) -> Int {
        try await inner.hashDelete(key, fields: fields, context: context)
    }
    func hashGetAll(_ key: [UInt8], context: RESPRequestContext) async throws(RESPBackendError) -> [RESPKeyValue] {
        try await inner.hashGetAll(key, context: context)
    }
    func databaseSize(context: RESPRequestContext) async throws(RESPBackendError) -> Int { try await inner.databaseSize(context: context) }
}
