import ChorusCore
import ChorusRaft
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// How peer connections are set up, on both ends: the one place where the
/// channel pipeline of a peer link is built, so that what wraps the byte
/// stream (mutual TLS) is added here and nowhere near the protocols.
///
///     dialled:  [security] · OutboundPeerHandler            (writes frames, reads nothing)
///     accepted: [security] · FrameDecoder · InboundPeerHandler (handshake, then frames by protocol)
enum PeerBootstrap {
    /// Binds the peer listener; every accepted connection gets the inbound pipeline.
    static func listen(
        configuration: NodeConfiguration, eventLoop: any EventLoop, core: NIOLoopBound<NodeCore>
    ) async throws -> any Channel {
        let limit = configuration.wire.maximumFrameBytes
        let handshakeLimit = configuration.wire.maximumHandshakeBytes
        return try await ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(firstFrameLimit: handshakeLimit, limit: limit)))
                    try channel.pipeline.syncOperations.addHandler(InboundPeerHandler(core: core.value))
                }
            }
            .bind(host: configuration.peerListenAddress.host, port: configuration.peerListenAddress.port)
            .get()
    }

    /// Dials `peer`; `onClose` runs (on the loop) when the connection closes.
    static func dial(
        _ peer: PeerAddress, configuration: NodeConfiguration, eventLoop: any EventLoop,
        onClose: @escaping () -> Void
    ) -> EventLoopFuture<any Channel> {
        let highWater = configuration.peerOutboundBufferBytesMaximum
        let onCloseBound = NIOLoopBound(onClose, eventLoop: eventLoop)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            .channelInitializer { channel in
                // Runs on `eventLoop` (the bootstrap's only loop).
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(OutboundPeerHandler(onClose: onCloseBound.value))
                }
            }
            .connect(host: peer.address.host, port: peer.address.port)
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

/// What arrives on an accepted peer connection.
enum InboundPeerFrame {
    /// The first frame: the dialler's handshake.
    case handshake([UInt8])
    /// Every later frame: a protocol's message.
    case frame(PeerFrame)
}

/// Splits a byte stream into frames, refusing oversized frames from their
/// header and corrupt ones by checksum (either closes the connection). The
/// first frame is the handshake; each later one starts with its protocol byte.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = InboundPeerFrame
    /// The bound on the next frame's payload: the handshake's size for the
    /// first frame, then `limitAfterFirstFrame`.
    private(set) var limit: Int
    let limitAfterFirstFrame: Int
    private var handshakeSeen = false

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
        try buffer.withUnsafeReadableBytes { bytes throws(WireError) in
            try Frame.verify(UnsafeRawBufferPointer(rebasing: bytes[0..<header.payloadLength]), against: header)
        }
        let isHandshake = !handshakeSeen
        handshakeSeen = true
        limit = limitAfterFirstFrame
        if isHandshake {
            context.fireChannelRead(wrapInboundOut(.handshake(buffer.readBytes(length: header.payloadLength)!)))
            return .continue
        }
        guard header.payloadLength >= 1, let tag = buffer.readInteger(as: UInt8.self) else {
            throw WireError.invalid("a frame without a protocol byte")
        }
        let body = buffer.readBytes(length: header.payloadLength - 1)!
        context.fireChannelRead(wrapInboundOut(.frame(PeerFrame(protocolTag: PeerProtocol(tag), body: body))))
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
    typealias InboundIn = InboundPeerFrame
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
        switch unwrapInboundIn(data) {
        case .handshake(let payload): readHandshake(payload, context: context)
        case .frame(let frame): read(frame, context: context)
        }
    }

    private func readHandshake(_ payload: [UInt8], context: ChannelHandlerContext) {
        guard peer == nil else {
            refuse(context, "a second handshake")
            return
        }
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
    }

    /// Hands a frame to its protocol: Raft messages to the replica; a
    /// protocol this node does not serve closes the connection.
    private func read(_ frame: PeerFrame, context: ChannelHandlerContext) {
        guard let peer else {
            refuse(context, "a frame before the handshake")
            return
        }
        switch frame.protocolTag {
        case .raft:
            do {
                let message = try MessageCodec.decode(frame.body, limits: core.configuration.wire)
                guard message.from == peer, message.to == core.configuration.nodeID else {
                    refuse(context, "message from \(message.from) to \(message.to) on \(peer)'s connection")
                    return
                }
                core.receive(message)
            } catch {
                refuse(context, "undecodable message from \(peer): \(error)")
            }
        default:
            refuse(context, "\(peer) speaks \(frame.protocolTag), which this node does not serve")
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
