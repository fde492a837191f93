import ChorusCertificates
import ChorusCore
import ChorusStorage
import ChorusRaft
import ChorusWire
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// How peer connections are set up, on both ends: the one place where the
/// channel pipeline of a peer link is built, so that what wraps the byte
/// stream (mutual TLS) is added here and nowhere near the protocols.
///
///     dialled:  [NIOSSLClientHandler · TLSHandshakeWaiter] · OutboundPeerHandler   (writes frames, reads nothing)
///     accepted: [NIOSSLServerHandler] · FrameDecoder · InboundPeerHandler         (handshake, then frames by protocol)
///
/// With mutual TLS, a dialled connection is handed to the transport only
/// once its handshake has completed and the acceptor's certificate named
/// the node dialled; until then nothing is written on it. An accepted
/// connection's certificate is checked during the handshake, and the node
/// it names is compared with the dialler's `Handshake.from` before any
/// frame after the handshake is decoded (`InboundPeerHandler`).
enum PeerBootstrap {
    /// Validates the configuration and builds the TLS of the node's peer
    /// links, or nil for plaintext (once per node, before anything starts).
    static func security(for configuration: NodeConfiguration) throws(NodeStartupError) -> PeerTLS? {
        do { try configuration.validate() } catch { throw .configuration(error) }
        guard case .mutualTLS(let credentials) = configuration.peerSecurity else { return nil }
        do {
            return try PeerTLS(credentials: credentials)
        } catch {
            throw .configuration(.invalid("the peer TLS credentials are refused by the TLS library: \(error)"))
        }
    }

    /// Binds the peer listener; every accepted connection gets the inbound
    /// pipeline. On failure the node's storage is closed (nothing else is
    /// running yet) and the bind error thrown.
    static func listen(
        configuration: NodeConfiguration, tls: PeerTLS?, eventLoop: any EventLoop, core: NIOLoopBound<NodeCore>,
        storage: DurableStorage
    ) async throws(NodeStartupError) -> any Channel {
        let limit = configuration.wire.maximumFrameBytes
        let handshakeLimit = configuration.wire.maximumHandshakeBytes
        do {
            return try await ServerBootstrap(group: eventLoop)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let certified = try tls.map { tls in
                            try addServerTLS(tls, to: channel, core: core.value)
                        }
                        try channel.pipeline.syncOperations.addHandler(idleStateHandler(configuration))
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(FrameDecoder(firstFrameLimit: handshakeLimit, limit: limit)))
                        try channel.pipeline.syncOperations.addHandler(InboundPeerHandler(core: core.value, certified: certified))
                    }
                }
                .bind(host: configuration.peerListenAddress.host, port: configuration.peerListenAddress.port)
                .get()
        } catch {
            await storage.close()
            throw .bind(address: configuration.peerListenAddress.description, reason: "\(error)")
        }
    }

    /// The acceptor's TLS: the dialler must present a certificate of the
    /// cluster CA allowed for clientAuth; the node it names is recorded for
    /// the handshake check.
    private static func addServerTLS(_ tls: PeerTLS, to channel: any Channel, core: NodeCore) throws -> CertifiedPeer {
        let certified = CertifiedPeer()
        let remote = channel.remoteAddress
        let verification = tls.verification(presentedBy: .dialler, expecting: nil) { result in
            switch result {
            case .success(let node):
                certified.node = node
            case .failure(let rejection):
                certified.rejectionReported = true
                reportPeerTLSRejection(
                    rejection.label, detail: rejection.description, remote: remote, logger: core.logger, metrics: core.metrics)
            }
        }
        try channel.pipeline.syncOperations.addHandler(
            NIOSSLServerHandler(context: tls.serverContext, customVerificationCallback: verification))
        return certified
    }

    /// Reports a link's silences (nothing read for `peerSilenceMilliseconds`)
    /// and quiet spells (nothing written for a keepalive interval) to the
    /// handler behind it, on both ends.
    static func idleStateHandler(_ configuration: NodeConfiguration) -> IdleStateHandler {
        IdleStateHandler(
            readTimeout: .milliseconds(Int64(configuration.peerSilenceMilliseconds)),
            writeTimeout: .milliseconds(Int64(configuration.peerKeepaliveMilliseconds)))
    }

    /// The keepalive frame, as it goes on the wire.
    static let keepaliveFrame: [UInt8] = {
        var bytes: [UInt8] = []
        Frame.append(payload: [PeerProtocol.keepalive.rawValue], to: &bytes)
        return bytes
    }()

    /// Writes a keepalive frame from `context`, unless the connection cannot take it now.
    static func writeKeepalive(_ context: ChannelHandlerContext) {
        guard context.channel.isWritable else { return }
        var buffer = context.channel.allocator.buffer(capacity: keepaliveFrame.count)
        buffer.writeBytes(keepaliveFrame)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    /// Dials `peer`; `onClose` runs (on the loop) when the connection closes.
    /// With TLS the future completes once the handshake has, and fails if the
    /// peer's certificate is refused (logged and counted here).
    static func dial(
        _ peer: PeerAddress, configuration: NodeConfiguration, tls: PeerTLS?, eventLoop: any EventLoop, logger: Logger,
        metrics: NodeMetrics, onClose: @escaping () -> Void
    ) -> EventLoopFuture<any Channel> {
        let highWater = configuration.peerOutboundBufferBytesMaximum
        let onCloseBound = NIOLoopBound(onClose, eventLoop: eventLoop)
        let connection = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            .channelInitializer { channel in
                // Runs on `eventLoop` (the bootstrap's only loop).
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let remote = channel.remoteAddress
                        let verification = tls.verification(presentedBy: .acceptor, expecting: peer.id) { result in
                            guard case .failure(let rejection) = result else { return }
                            reportPeerTLSRejection(
                                rejection.label, detail: "\(rejection) (dialled node \(peer.id.rawValue) at \(peer.address))",
                                remote: remote, logger: logger, metrics: metrics)
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(
                                context: tls.clientContext, serverHostname: nil, customVerificationCallback: verification))
                        try channel.pipeline.syncOperations.addHandler(
                            TLSHandshakeWaiter(eventLoop: channel.eventLoop, timeout: InboundPeerHandler.handshakeTimeout))
                    }
                    try channel.pipeline.syncOperations.addHandler(idleStateHandler(configuration))
                    try channel.pipeline.syncOperations.addHandler(
                        OutboundPeerHandler(silenceMilliseconds: configuration.peerSilenceMilliseconds, onClose: onCloseBound.value))
                }
            }
            .connect(host: peer.address.host, port: peer.address.port)
        guard tls != nil else { return connection }
        return connection.flatMap { channel in
            channel.pipeline.handler(type: TLSHandshakeWaiter.self)
                .flatMap { $0.completed }
                .map { channel }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
        }
    }
}

/// Completes `completed` when the dialled connection's TLS handshake does,
/// and fails it if the handshake fails, the connection closes first, or
/// `timeout` passes (then it closes the connection).
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let promise: EventLoopPromise<Void>
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var done = false
    var completed: EventLoopFuture<Void> { promise.futureResult }

    struct TimedOut: Error, CustomStringConvertible {
        let timeout: TimeAmount
        var description: String { "no TLS handshake within \(timeout)" }
    }

    init(eventLoop: any EventLoop, timeout: TimeAmount) {
        self.promise = eventLoop.makePromise()
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.finish(.failure(TimedOut(timeout: handler.timeout)))
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { finish(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.eof))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(ChannelError.ioOnClosedChannel))
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !done else { return }
        done = true
        deadline?.cancel()
        promise.completeWith(result)
    }
}

/// Watches a dialled connection: only the acceptor's keepalives come back on
/// it; a quiet spell sends one of ours, a silence closes it, and its closing
/// triggers a reconnect. Both wait for `introduced` (set once the transport
/// has written the handshake, which must be the first frame).
final class OutboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let silenceMilliseconds: Int
    let onClose: () -> Void
    var introduced = false

    init(silenceMilliseconds: Int, onClose: @escaping () -> Void) {
        self.silenceMilliseconds = silenceMilliseconds
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Keepalives: that bytes arrived is all they say (the idle handler before this one noted it).
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard introduced, let idle = event as? IdleStateHandler.IdleStateEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch idle {
        case .write: PeerBootstrap.writeKeepalive(context)
        case .read:
            // The peer is silent (partitioned, paused, gone without a FIN):
            // dial again rather than write into a connection nobody reads.
            context.close(promise: nil)
        case .all: break
        }
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
/// one handshake-sized frame and must complete TLS and send it within
/// `handshakeTimeout`; the node keeps a bounded pool of strangers, the
/// oldest evicted by a newcomer (`InboundPeerSlots`). With mutual TLS, the
/// handshake's `from` must be the node the dialler's certificate names
/// (`certified`). Once introduced, the connection takes its peer's slot
/// (closing an older one of the same peer), answers quiet spells with a
/// keepalive and is closed after `peerSilenceMilliseconds` of silence.
final class InboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = InboundPeerFrame
    let core: NodeCore
    /// The TLS layer's findings; nil on a plaintext link.
    let certified: CertifiedPeer?
    var peer: NodeID?
    /// Set while the connection holds a place in `core.inboundPeers`.
    private var channel: (any Channel)?
    private var handshakeDeadline: Scheduled<Void>?
    static let handshakeTimeout = TimeAmount.seconds(5)

    init(core: NodeCore, certified: CertifiedPeer? = nil) {
        self.core = core
        self.certified = certified
    }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        if let evicted = core.inboundPeers.admit(self) {
            core.logger.warning(
                "closing the oldest peer connection without a handshake: too many strangers on the peer port",
                metadata: ["remote": "\(evicted.channel?.remoteAddress.map { "\($0)" } ?? "?")"])
            evicted.channel?.close(promise: nil)
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        handshakeDeadline = context.eventLoop.scheduleTask(in: Self.handshakeTimeout) {
            let (handler, context) = bound.value
            if handler.peer == nil { handler.refuse(context, "no handshake within \(Self.handshakeTimeout)") }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        if channel != nil {
            core.inboundPeers.remove(self)
            channel = nil
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
            if let certified {
                guard let node = certified.node, node == handshake.from else {
                    let rejection = PeerCertificateRejection.identityMismatch(
                        certified: certified.node?.rawValue ?? 0, expected: handshake.from.rawValue)
                    certified.rejectionReported = true
                    reportPeerTLSRejection(
                        rejection.label, detail: "\(rejection) (claimed in its handshake)", remote: context.remoteAddress,
                        logger: core.logger, metrics: core.metrics)
                    context.close(promise: nil)
                    return
                }
            }
            self.peer = handshake.from
            handshakeDeadline?.cancel()
            if let replaced = core.inboundPeers.introduce(self, as: handshake.from) {
                core.logger.info("a peer's new connection replaces its old one", metadata: ["peer": "\(handshake.from)"])
                replaced.channel?.close(promise: nil)
            }
            core.peerIntroduced(handshake.from, httpURL: handshake.httpURL)
        } catch {
            refuse(context, "handshake refused: \(error)")
        }
    }

    /// Hands a frame to its protocol: Raft messages to the replica; a
    /// protocol this node does not serve closes the connection.
    private func read(_ frame: PeerFrame, context: ChannelHandlerContext) {
        // A stopped node's accepted connections close at the next frame, so
        // the sender reconnects (to the node's next incarnation, when it was
        // restarted in the same process).
        guard core.stopReason == nil else {
            context.close(promise: nil)
            return
        }
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
        case .keepalive:
            break  // the idle handler before this one noted the read
        case .replication, .gossip:
            guard let leaderless = core.leaderless else {
                refuse(context, "\(peer) speaks \(frame.protocolTag), but this node serves no leaderless keyspaces")
                return
            }
            if !leaderless.receive(frame.body, protocol: frame.protocolTag, from: peer) {
                refuse(context, "undecodable \(frame.protocolTag) message from \(peer)")
            }
        default:
            refuse(context, "\(peer) speaks \(frame.protocolTag), which this node does not serve")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent {
            // Strangers have the handshake deadline instead.
            guard let peer else { return }
            switch idle {
            case .write: PeerBootstrap.writeKeepalive(context)
            case .read: refuse(context, "\(peer) was silent for \(core.configuration.peerSilenceMilliseconds) ms")
            case .all: break
            }
            return
        }
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { certified?.established = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let certified, !certified.established, !certified.rejectionReported {
            // A TLS handshake that failed before (or without) a certificate to verify.
            certified.rejectionReported = true
            let text = "\(error)"
            let reason = text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || text.contains("CERTIFICATE_REQUIRED")
                ? "no_certificate" : "handshake"
            reportPeerTLSRejection(reason, detail: text, remote: context.remoteAddress, logger: core.logger, metrics: core.metrics)
        }
        refuse(context, "connection error: \(error)")
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        core.logger.warning(
            "closing a peer connection",
            metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
        context.close(promise: nil)
    }
}
