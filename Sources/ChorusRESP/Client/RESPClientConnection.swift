import NIOCore
import NIOPosix

/// A small RESP client over one socket, for tools, the demo and tests:
/// commands go out as multibulk arrays (or raw bytes, exactly as given), and
/// replies are read back with `RESPValueParser`. Not a connection pool and
/// not a full client library: one caller, one command at a time (or a
/// pipeline of `send` then `replies`).
public struct RESPClientConnection {
    public let channel: any Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    /// Bytes read but not yet parsed into a reply.
    public var received: [UInt8] = []
    public var version = RESPProtocolVersion.resp2

    /// Connects to `host:port`, runs `body`, and closes the connection.
    public static func with<Result: Sendable>(
        host: String = "127.0.0.1", port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        _ body: (inout RESPClientConnection) async throws -> Result
    ) async throws -> Result {
        let client = try await ClientBootstrap(group: group)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await client.executeThenClose { inbound, outbound in
            var connection = RESPClientConnection(channel: client.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    /// Sends one command and reads its reply; nil if the server closed the connection.
    public mutating func command(_ arguments: String...) async throws -> RESPValue? {
        try await send(Self.encode(arguments.map { Array($0.utf8) }))
        return try await reply()
    }

    /// One command as a RESP multibulk array: `*N\r\n` then `$len\r\narg\r\n` per argument.
    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8)
            bytes += argument
            bytes += [13, 10]
        }
        return bytes
    }

    public mutating func send(_ bytes: [UInt8]) async throws {
        try await outbound.write(channel.allocator.buffer(bytes: bytes))
    }

    /// Reads `count` replies, waiting for bytes as needed; nil at EOF.
    public mutating func replies(_ count: Int) async throws -> [RESPValue]? {
        var values: [RESPValue] = []
        while values.count < count {
            guard let (value, _) = try await nextReply() else { return nil }
            values.append(value)
        }
        return values
    }

    public mutating func reply() async throws -> RESPValue? { try await replies(1)?.first }

    /// Reads `count` replies and returns each one's exact bytes; nil at EOF.
    public mutating func rawReplies(_ count: Int) async throws -> [[UInt8]]? {
        var raw: [[UInt8]] = []
        while raw.count < count {
            guard let (_, bytes) = try await nextReply() else { return nil }
            raw.append(bytes)
        }
        return raw
    }

    /// The next reply and its exact bytes, reading from the socket as needed; nil at EOF.
    mutating func nextReply() async throws -> (RESPValue, [UInt8])? {
        while true {
            let (consumed, outcome) = RESPValueParser.parse(received)
            switch outcome {
            case .value(let value):
                let bytes = Array(received[..<consumed])
                received.removeFirst(consumed)
                return (value, bytes)
            case .protocolError(let error):
                throw error
            case .needMoreData:
                guard let buffer = try await inbound.next() else { return nil }
                received.append(contentsOf: buffer.readableBytesView)
            }
        }
    }

    /// True once the server has closed the connection (after reading what is left).
    public mutating func isClosedByServer() async throws -> Bool {
        while let buffer = try await inbound.next() { received.append(contentsOf: buffer.readableBytesView) }
        return true
    }
}
