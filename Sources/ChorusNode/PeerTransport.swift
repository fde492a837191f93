import ChorusCore
import ChorusRaft
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// Peer-to-peer messaging over TCP: one outbound connection per peer for
/// what this node sends, and the peers' outbound connections accepted here
/// for what it receives.
///
/// ```
///  this node ──(its outbound link to n2: handshake, then frames)──▶ n2's listener
///  this node ◀──(n2's outbound link: handshake, then frames)─────── n2
/// ```
///
/// Every channel (listener, accepted and dialled connections) lives on the
/// node's one event loop, the same loop that owns the Raft core, so a
/// received message is stepped into the core without a thread hop and a
/// `Ready`'s messages are written without one either.
///
/// - **Framing**: `ChorusWire.Frame` (length, CRC32C, payload). The length is
///   checked against `WireLimits.maximumFrameBytes` from the 8-byte header,
///   before the payload is buffered.
/// - **Handshake**: the dialler's first frame (`ChorusWire.Handshake`); the
///   acceptor checks cluster id, addressee and sender and closes the
///   connection on any mismatch, logging why.
/// - **Batching**: all messages of one `Ready` for a peer are encoded into one
///   buffer and written with one `writeAndFlush` (one syscall).
/// - **Reconnection**: exponential backoff with jitter (see `NodeConfiguration`).
/// - **Loss**: a message that cannot be delivered now (peer down, buffer over
///   its bound) is dropped and counted. Raft tolerates loss by design: the
///   leader retransmits from its progress tracking, candidates retry votes.
final class PeerTransport {
    let configuration: NodeConfiguration
    let loop: any EventLoop
    let logger: Logger
    let metrics: NodeMetrics
    var links: [PeerLink] = []
    /// Reused for every encoding, so a steady stream of messages allocates
    /// nothing per message for its bytes.
    var scratch = ByteWriter(capacity: 64 << 10)
    var random: SeededGenerator
    var isClosed = false

    init(configuration: NodeConfiguration, loop: any EventLoop, logger: Logger, metrics: NodeMetrics, seed: UInt64) {
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.metrics = metrics
        self.random = SeededGenerator(seed: seed)
        for peer in configuration.peers { links.append(PeerLink(peer: peer)) }
    }

    func start() {
        loop.preconditionInEventLoop()
        for index in links.indices { connect(linkAt: index) }
    }

    /// Sends a `Ready`'s messages: one buffer and one flush per peer.
    func send(_ messages: [RaftMessage]) {
        guard !messages.isEmpty, !isClosed else { return }
        for index in links.indices {
            let peer = links[index].peer.id
            var any = false
            for message in messages where message.to == peer {
                appendFrame(message)
                any = true
            }
            guard any else { continue }
            let bytes = scratch.bytes
            scratch.bytes.removeAll(keepingCapacity: true)
            deliver(bytes, toLinkAt: index)
        }
    }

    /// Encodes one message as a frame at the end of `scratch`.
    private func appendFrame(_ message: RaftMessage) {
        let start = scratch.count
        scratch.writeFixed(UInt64(0))  // header placeholder: length and checksum
        do {
            try MessageCodec.encode(message, into: &scratch, limits: configuration.wire)
        } catch {
            scratch.bytes.removeSubrange(start...)
            metrics.messagesDropped.increment()
            logger.warning("dropping an unencodable message", metadata: ["kind": "\(message.kindName)", "error": "\(error)"])
            return
        }
        let payloadStart = start + Frame.headerBytes
        let length = UInt32(scratch.count - payloadStart)
        let checksum = scratch.bytes.withUnsafeBufferPointer {
            CRC32C.checksum(UnsafeBufferPointer(rebasing: $0[payloadStart...]))
        }
        for shift in 0..<4 {
            scratch.bytes[start + shift] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(shift)))
            scratch.bytes[start + 4 + shift] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(shift)))
        }
        metrics.messagesSent.increment()
    }

    private func deliver(_ bytes: [UInt8], toLinkAt index: Int) {
        switch links[index].state {
        case .connected(let channel):
            guard channel.isWritable else {
                metrics.messagesDropped.increment()
                return
            }
            var buffer = channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            channel.writeAndFlush(buffer, promise: nil)
        case .connecting:
            // Hold a bounded amount while the connection comes up (the first
            // vote requests of a fresh cluster, say); drop beyond it.
            if links[index].pendingBytes.count + bytes.count <= configuration.peerOutboundBufferBytesMaximum {
                links[index].pendingBytes.append(contentsOf: bytes)
            } else {
                metrics.messagesDropped.increment()
            }
        case .waiting, .idle:
            metrics.messagesDropped.increment()
        }
    }

    // MARK: Connections

    private func connect(linkAt index: Int) {
        guard !isClosed else { return }
        let peer = links[index].peer
        links[index].state = .connecting
        links[index].generation &+= 1
        let generation = links[index].generation
        let handshake: [UInt8]
        do {
            handshake = try Handshake(
                clusterID: configuration.clusterID, from: configuration.nodeID, to: peer.id,
                httpURL: configuration.advertisedHTTPURL
            ).encoded(limits: configuration.wire)
        } catch {
            preconditionFailure("the validated configuration produced an unencodable handshake: \(error)")
        }
        let highWater = configuration.peerOutboundBufferBytesMaximum
        let bound = NIOLoopBound(self, eventLoop: loop)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            .channelInitializer { channel in
                // Runs on `loop` (the bootstrap's only loop).
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        OutboundPeerHandler(onClose: { bound.value.connectionClosed(linkAt: index, generation: generation) }))
                }
            }
        let connection = bootstrap.connect(host: peer.address.host, port: peer.address.port)
        connection.whenComplete { result in
            bound.value.connectionAttemptFinished(
                linkAt: index, generation: generation, handshake: handshake, result: result)
        }
    }

    private func connectionAttemptFinished(
        linkAt index: Int, generation: UInt64, handshake: [UInt8], result: Result<any Channel, any Error>
    ) {
        let peer = links[index].peer
        guard links[index].generation == generation, !isClosed else {
            if case .success(let channel) = result { channel.close(promise: nil) }
            return
        }
        switch result {
        case .success(let channel):
            var frames: [UInt8] = []
            Frame.append(payload: handshake, to: &frames)
            frames.append(contentsOf: links[index].pendingBytes)
            links[index].pendingBytes = []
            var buffer = channel.allocator.buffer(capacity: frames.count)
            buffer.writeBytes(frames)
            channel.writeAndFlush(buffer, promise: nil)
            links[index].state = .connected(channel)
            links[index].backoffMilliseconds = 0
            metrics.peerConnections.increment()
            logger.info("connected to peer", metadata: ["peer": "\(peer.id)", "address": "\(peer.address)"])
        case .failure(let error):
            logger.debug(
                "cannot connect to peer", metadata: ["peer": "\(peer.id)", "address": "\(peer.address)", "error": "\(error)"])
            scheduleReconnect(linkAt: index)
        }
    }

    fileprivate func connectionClosed(linkAt index: Int, generation: UInt64) {
        guard links[index].generation == generation, !isClosed else { return }
        if case .connected = links[index].state {
            logger.info("connection to peer closed", metadata: ["peer": "\(links[index].peer.id)"])
            scheduleReconnect(linkAt: index)
        }
    }

    private func scheduleReconnect(linkAt index: Int) {
        links[index].pendingBytes = []
        let previous = links[index].backoffMilliseconds
        let step = previous == 0
            ? configuration.reconnectInitialMilliseconds
            : min(previous * 2, configuration.reconnectMaximumMilliseconds)
        links[index].backoffMilliseconds = step
        // Jitter: uniform in [step/2, step].
        let delay = step / 2 + Int(random.next() % UInt64(step / 2 + 1))
        let generation = links[index].generation
        let bound = NIOLoopBound(self, eventLoop: loop)
        let task = loop.scheduleTask(in: .milliseconds(Int64(delay))) {
            let transport = bound.value
            guard transport.links[index].generation == generation else { return }
            transport.connect(linkAt: index)
        }
        links[index].state = .waiting(task)
    }

    func close() {
        loop.preconditionInEventLoop()
        isClosed = true
        for index in links.indices {
            switch links[index].state {
            case .connected(let channel): channel.close(promise: nil)
            case .waiting(let task): task.cancel()
            case .connecting, .idle: break
            }
            links[index].state = .idle
            links[index].generation &+= 1
        }
    }
}

/// One peer's outbound connection state. Loop-confined.
struct PeerLink {
    let peer: PeerAddress
    var state: State = .idle
    /// Bumped on every new attempt, so callbacks of an abandoned attempt are ignored.
    var generation: UInt64 = 0
    var backoffMilliseconds = 0
    /// Frames waiting for the connection being established.
    var pendingBytes: [UInt8] = []

    init(peer: PeerAddress) { self.peer = peer }

    enum State {
        case idle
        case connecting
        case connected(any Channel)
        case waiting(Scheduled<Void>)
    }
}

/// Watches a dialled connection: nothing is expected back on it, and its
/// closing triggers a reconnect.
final class OutboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let onClose: () -> Void

    init(onClose: @escaping () -> Void) { self.onClose = onClose }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The acceptor never writes on this connection; ignore anything that arrives.
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Splits a byte stream into frame payloads, refusing oversized frames from
/// their header and corrupt ones by checksum (either closes the connection).
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = [UInt8]
    /// The bound on the next frame's payload: the handshake's size for the
    /// first frame, then `limitAfterFirstFrame`.
    private(set) var limit: Int
    let limitAfterFirstFrame: Int

    init(firstFrameLimit: Int, limit: Int) {
        self.limit = firstFrameLimit
        self.limitAfterFirstFrame = limit
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= Frame.headerBytes,
            let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self),
            let checksum = buffer.getInteger(at: buffer.readerIndex + 4, endianness: .little, as: UInt32.self)
        else { return .needMoreData }
        let header = try Frame.parseHeader(lengthField: length, checksumField: checksum, limit: limit)
        guard buffer.readableBytes >= Frame.headerBytes + header.payloadLength else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
        guard let payload = buffer.readBytes(length: header.payloadLength) else { return .needMoreData }
        try Frame.verify(payload, against: header)
        limit = limitAfterFirstFrame
        context.fireChannelRead(wrapInboundOut(payload))
        return .continue
    }
}

/// The receiving end of a peer's connection: a handshake first, then Raft
/// messages stepped into the core. Any bad frame or message closes the
/// connection with a log line; the peer reconnects.
///
/// Before its handshake a connection is a stranger's: it may send at most
/// one handshake-sized frame, must send it within `handshakeTimeout`, and
/// only `NodeCore.inboundConnectionsMaximum` connections may be open at once.
final class InboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    let core: NodeCore
    var peer: NodeID?
    private var counted = false
    private var handshakeDeadline: Scheduled<Void>?
    static let handshakeTimeout = TimeAmount.seconds(5)

    init(core: NodeCore) { self.core = core }

    func channelActive(context: ChannelHandlerContext) {
        guard core.inboundConnections < core.inboundConnectionsMaximum else {
            refuse(context, "too many inbound peer connections (\(core.inboundConnections))")
            return
        }
        core.inboundConnections += 1
        counted = true
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        handshakeDeadline = context.eventLoop.scheduleTask(in: Self.handshakeTimeout) {
            let (handler, context) = bound.value
            if handler.peer == nil { handler.refuse(context, "no handshake within \(Self.handshakeTimeout)") }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        if counted {
            counted = false
            core.inboundConnections -= 1
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        guard let peer else {
            do {
                let handshake = try Handshake(decoding: payload, limits: core.configuration.wire)
                try handshake.validate(
                    clusterID: core.configuration.clusterID, localNode: core.configuration.nodeID,
                    knownPeers: core.configuration.peers.map(\.id))
                self.peer = handshake.from
                handshakeDeadline?.cancel()
                core.peerIntroduced(handshake.from, httpURL: handshake.httpURL)
            } catch {
                refuse(context, "handshake refused: \(error)")
            }
            return
        }
        do {
            let message = try MessageCodec.decode(payload, limits: core.configuration.wire)
            guard message.from == peer, message.to == core.configuration.nodeID else {
                refuse(context, "message from \(message.from) to \(message.to) on \(peer)'s connection")
                return
            }
            core.receive(message)
        } catch {
            refuse(context, "undecodable message from \(peer): \(error)")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        refuse(context, "connection error: \(error)")
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        core.logger.warning(
            "closing a peer connection",
            metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
        context.close(promise: nil)
    }
}
