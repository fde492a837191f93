import Logging
import ChorusRESP
import NIOCore
import NIOPosix

/// A raw RESP client over a real socket for the server tests: writes bytes
/// exactly as given, reads replies with `RESPValueParser`.
struct RESPTestConnection {
    let channel: any Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var received: [UInt8] = []
    var version = RESPProtocolVersion.resp2

    mutating func send(_ bytes: [UInt8]) async throws {
        try await outbound.write(channel.allocator.buffer(bytes: bytes))
    }

    /// Reads `count` replies, waiting for bytes as needed; nil at EOF.
    mutating func replies(_ count: Int) async throws -> [RESPValue]? {
        var values: [RESPValue] = []
        while values.count < count {
            let (consumed, outcome) = RESPValueParser.parse(received)
            switch outcome {
            case .value(let value):
                values.append(value)
                received.removeFirst(consumed)
            case .protocolError(let error):
                throw error
            case .needMoreData:
                guard let buffer = try await inbound.next() else { return nil }
                received.append(contentsOf: buffer.readableBytesView)
            }
        }
        return values
    }

    mutating func reply() async throws -> RESPValue? { try await replies(1)?.first }

    /// Reads `count` replies and returns each one's exact bytes; nil at EOF.
    mutating func rawReplies(_ count: Int) async throws -> [[UInt8]]? {
        var raw: [[UInt8]] = []
        while raw.count < count {
            let (consumed, outcome) = RESPValueParser.parse(received)
            switch outcome {
            case .value:
                raw.append(Array(received[..<consumed]))
                received.removeFirst(consumed)
            case .protocolError(let error):
                throw error
            case .needMoreData:
                guard let buffer = try await inbound.next() else { return nil }
                received.append(contentsOf: buffer.readableBytesView)
            }
        }
        return raw
    }

    /// True once the server has closed the connection (after reading what is left).
    mutating func isClosedByServer() async throws -> Bool {
        while let buffer = try await inbound.next() { received.append(contentsOf: buffer.readableBytesView) }
        return true
    }
}

/// Connects to 127.0.0.1:`port` and runs `body`, closing afterwards.
func withConnection<Result: Sendable>(
    port: Int, _ body: (inout RESPTestConnection) async throws -> Result
) async throws -> Result {
    let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await client.executeThenClose { inbound, outbound in
        var connection = RESPTestConnection(channel: client.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound)
        return try await body(&connection)
    }
}

/// Starts a server on an ephemeral port over `backend`, runs `body`, shuts it down.
func withServer<Backend: RESPBackend, Result: Sendable>(
    _ backend: Backend, configuration: RESPServerConfiguration = RESPServerConfiguration(),
    _ body: (RESPServer) async throws -> Result
) async throws -> Result {
    let server = try await RESPServer.start(
        host: "127.0.0.1", port: 0, backend: backend, group: MultiThreadedEventLoopGroup.singleton,
        logger: .init(label: "resp-test"), configuration: configuration)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}
