import ChorusCore
import Logging
import NIOCore

/// Runs one connection: batches in, replies out, in order. An actor whose
/// executor is the channel's event loop, so the loop resumes where NIO
/// delivers the batches and writes without a thread hop; only a backend
/// that lives elsewhere costs a hop, once per command.
///
/// ```
///  socket ─▶ RESPCommandDecoder ─▶ RESPBatchingHandler ─▶ inbound batches ─▶ run()
///                                                                           │ session.execute, one by one
///  socket ◀──────────────────────── one write per batch (or per replyFlushBytes) ◀┘
/// ```
actor RESPConnectionRunner<Backend: RESPBackend> {
    private let eventLoop: any EventLoop
    private let logger: Logger

    nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }

    init(eventLoop: any EventLoop, logger: Logger) {
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func run(
        _ channel: NIOAsyncChannel<[RESPFrame], ByteBuffer>, session initial: RESPSession<Backend>,
        gate: RESPAuthenticationGate, replyFlushBytes: Int
    ) async {
        var session = initial
        let allocator = channel.channel.allocator
        do {
            try await channel.executeThenClose { inbound, outbound in
                var replies = ByteWriter(capacity: 4096)
                func flush() async throws {
                    guard replies.count > 0 else { return }
                    let buffer = replies.bytes.withUnsafeBytes { allocator.buffer(bytes: $0) }
                    replies.bytes.removeAll(keepingCapacity: true)
                    try await outbound.write(buffer)
                }
                for try await batch in inbound {
                    for frame in batch {
                        switch frame {
                        case .command(let arguments):
                            let response = await session.execute(arguments)
                            if session.state.isAuthenticated != gate.isAuthenticated {
                                gate.set(session.state.isAuthenticated)
                            }
                            if let reply = response.reply {
                                RESPEncoder.encode(reply, version: session.state.protocolVersion, into: &replies)
                            }
                            if response.closesConnection {
                                try await flush()
                                return
                            }
                            if replies.count >= replyFlushBytes { try await flush() }
                        case .protocolError(let error):
                            logger.debug("closing a connection after a protocol error", metadata: ["error": "\(error)"])
                            RESPEncoder.encode(error.reply, version: session.state.protocolVersion, into: &replies)
                            try await flush()
                            return
                        }
                    }
                    try await flush()
                }
            }
        } catch {
            logger.debug("RESP connection ended", metadata: ["error": "\(error)"])
        }
    }
}
