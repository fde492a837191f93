import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The RESP port of a node: a TCP listener whose connections each run a
/// `RESPSession` against one `RESPBackend`. Commands of a connection are
/// pipelined (read, executed and answered in order, a read's worth per
/// write), bounded (`RESPServerConfiguration`: connections, batch size,
/// pending batches, reply bytes) and isolated (a protocol error closes only
/// its own connection; an unknown command is an error reply).
///
/// ```
///  let server = try await RESPServer.start(host: "127.0.0.1", port: 6379, backend: backend,
///                                          group: .singletonMultiThreadedEventLoopGroup, logger: logger)
///  …
///  await server.shutdown()
/// ```
public final class RESPServer: Sendable {
    /// Where the server listens (the actual port when 0 was asked for).
    public let host: String
    public let port: Int

    private let serverChannel: any Channel
    private let acceptLoop: Task<Void, Never>
    private let counters: RESPServerCounters

    private init(host: String, port: Int, serverChannel: any Channel, acceptLoop: Task<Void, Never>, counters: RESPServerCounters) {
        self.host = host
        self.port = port
        self.serverChannel = serverChannel
        self.acceptLoop = acceptLoop
        self.counters = counters
    }

    /// How many connections are open.
    public var connectionCount: Int { counters.connections.load(ordering: .relaxed) }

    /// Binds `host:port` and starts accepting. Throws if the configuration
    /// is invalid or the address cannot be bound.
    public static func start<Backend: RESPBackend>(
        host: String, port: Int, backend: Backend, group: any EventLoopGroup, logger: Logger,
        configuration: RESPServerConfiguration = RESPServerConfiguration()
    ) async throws -> RESPServer {
        let problems = configuration.violations()
        guard problems.isEmpty else { throw RESPServerConfigurationError(problems: problems) }
        let counters = RESPServerCounters()
        let requiresAuthentication = backend.requiresAuthentication
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(configuration.backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { () throws -> RESPAcceptedConnection in
                    try accept(
                        channel, configuration: configuration, counters: counters,
                        requiresAuthentication: requiresAuthentication)
                }
            }
        let boundPort = listener.channel.localAddress?.port ?? port
        var sessionConfiguration = configuration.session
        sessionConfiguration.port = boundPort
        let sessionShared = sessionConfiguration
        let acceptLoop = Task {
            await withDiscardingTaskGroup { tasks in
                do {
                    try await listener.executeThenClose { connections in
                        for try await accepted in connections {
                            guard case .open(let channel, let gate, let clientID) = accepted else { continue }
                            tasks.addTask {
                                let remote = channel.channel.remoteAddress.map(describe) ?? ""
                                let local = channel.channel.localAddress.map(describe) ?? ""
                                let state = RESPConnectionState(
                                    clientID: clientID, requiresAuthentication: requiresAuthentication,
                                    remoteAddress: remote, localAddress: local)
                                let session = RESPSession(
                                    state: state, configuration: sessionShared, backend: backend,
                                    connectedClients: { counters.connections.load(ordering: .relaxed) })
                                let runner = RESPConnectionRunner<Backend>(eventLoop: channel.channel.eventLoop, logger: logger)
                                await runner.run(
                                    channel, session: session, gate: gate, replyFlushBytes: configuration.replyFlushBytes)
                            }
                        }
                    }
                } catch {
                    logger.debug("RESP listener ended", metadata: ["error": "\(error)"])
                }
            }
        }
        logger.info("RESP server listening", metadata: ["address": "\(host):\(boundPort)"])
        return RESPServer(host: host, port: boundPort, serverChannel: listener.channel, acceptLoop: acceptLoop, counters: counters)
    }

    /// Stops accepting, closes every connection (their tasks are cancelled,
    /// which ends their inbound streams and closes their channels), and
    /// returns once all have ended.
    public func shutdown() async {
        try? await serverChannel.close()
        acceptLoop.cancel()
        await acceptLoop.value
    }

    /// The child channel initializer: refuses past `maximumConnections`,
    /// else installs the codec and wraps the channel.
    private static func accept(
        _ channel: any Channel, configuration: RESPServerConfiguration, counters: RESPServerCounters,
        requiresAuthentication: Bool
    ) throws -> RESPAcceptedConnection {
        let open = counters.connections.add(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { _ in counters.connections.subtract(1, ordering: .relaxed) }
        guard open <= configuration.maximumConnections else {
            let line = RESPEncoder.encoded(RESPError.maximumClients.reply, version: .resp2)
            channel.writeAndFlush(channel.allocator.buffer(bytes: line)).whenComplete { _ in
                channel.close(promise: nil)
            }
            return .refused
        }
        let gate = RESPAuthenticationGate(authenticated: !requiresAuthentication)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteToMessageHandler(RESPCommandDecoder(limits: configuration.session.limits, gate: gate)))
        try pipeline.addHandler(RESPBatchingHandler(maximumCommands: configuration.maximumCommandsPerBatch))
        let wrapped = try NIOAsyncChannel<[RESPFrame], ByteBuffer>(
            wrappingChannelSynchronously: channel,
            configuration: .init(
                backPressureStrategy: .init(lowWatermark: 1, highWatermark: configuration.maximumPendingBatches)))
        let clientID = counters.nextClientID.add(1, ordering: .relaxed).newValue
        return .open(wrapped, gate, clientID: clientID)
    }
}

/// One accepted socket: open, or refused (over the connection limit).
enum RESPAcceptedConnection: Sendable {
    case open(NIOAsyncChannel<[RESPFrame], ByteBuffer>, RESPAuthenticationGate, clientID: UInt64)
    case refused
}

/// The server's shared counters.
final class RESPServerCounters: Sendable {
    let connections = Atomic<Int>(0)
    /// Client ids start at 1, as redis-server's do.
    let nextClientID = Atomic<UInt64>(0)
}

/// `ip:port`, as `CLIENT INFO` shows addresses.
private func describe(_ address: SocketAddress) -> String {
    "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
}
