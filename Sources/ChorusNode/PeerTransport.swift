import CoreMetrics
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
/// - **Mutual TLS** (`PeerSecurity.mutualTLS`): every connection is TLS 1.3
///   with a certificate of the cluster CA on both ends; the certificate's
///   node must be the one dialled and the one the handshake claims
///   (`PeerBootstrap`).
/// - **Batching**: all messages of one `Ready` for a peer are encoded into one
///   buffer and written with one `writeAndFlush` (one syscall). Messages of
///   the other protocols (leaderless replication, gossip) collect per peer
///   until the end of the loop's current turn and leave with one write too:
///   a burst of leaderless requests costs one TLS record and one syscall per
///   peer per turn, not one per message.
/// - **Reconnection**: exponential backoff with jitter (see `NodeConfiguration`).
/// - **Silence**: both ends of a link send a keepalive frame every heartbeat
///   interval they are otherwise quiet, and close a connection they heard
///   nothing on for `peerSilenceMilliseconds`; this end then dials again. A
///   partition is noticed in a few heartbeats, and a healed peer is dialled
///   within a connect timeout and a backoff step, not after TCP's
///   retransmission backoff (tens of seconds after a long cut).
/// - **Loss**: a message that cannot be delivered now (peer down, buffer over
///   its bound) is dropped and counted. Raft tolerates loss by design: the
///   leader retransmits from its progress tracking, candidates retry votes.
final class PeerTransport {
    let configuration: NodeConfiguration
    let loop: any EventLoop
    let logger: Logger
    let metrics: NodeMetrics
    /// The TLS every dialled connection is wrapped in; nil for plaintext.
    let tls: PeerTLS?
    var links: [PeerLink] = []
    /// Reused for every encoding, so a steady stream of messages allocates
    /// nothing per message for its bytes.
    var scratch = ByteWriter(capacity: 64 << 10)
    var random: SeededGenerator
    var isClosed = false
    /// Whether a flush of the links' `outgoing` frames is queued on the loop.
    var outgoingFlushQueued = false

    init(
        configuration: NodeConfiguration, loop: any EventLoop, logger: Logger, metrics: NodeMetrics, tls: PeerTLS?,
        seed: UInt64
    ) {
        self.configuration = configuration
        self.tls = tls
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
                appendRaftFrame(message)
                any = true
            }
            guard any else { continue }
            let bytes = scratch.bytes
            scratch.bytes.removeAll(keepingCapacity: true)
            deliver(bytes, toLinkAt: index)
        }
    }

    /// Sends one message of another protocol to `peer` (dropped, and counted,
    /// if the peer is unknown or its link cannot take it now).
    func send(_ body: [UInt8], protocol protocolTag: PeerProtocol, to peer: NodeID) {
        guard !isClosed, let index = links.firstIndex(where: { $0.peer.id == peer }) else {
            metrics.messagesDropped.increment()
            return
        }
        guard body.count + 1 <= configuration.wire.maximumFrameBytes else {
            metrics.messagesDropped.increment()
            logger.warning("dropping an oversized \(protocolTag) message", metadata: ["bytes": "\(body.count)"])
            return
        }
        let start = scratch.count
        scratch.writeFixed(UInt64(0))  // header placeholder: length and checksum
        scratch.write(protocolTag.rawValue)
        scratch.writeRaw(body)
        sealFrame(at: start)
        links[index].outgoing.append(contentsOf: scratch.bytes)
        scratch.bytes.removeAll(keepingCapacity: true)
        if links[index].outgoing.count >= Self.outgoingFlushBytes {
            flushOutgoing(linkAt: index)
        } else if !outgoingFlushQueued {
            outgoingFlushQueued = true
            let bound = NIOLoopBound(self, eventLoop: loop)
            loop.execute { bound.value.flushOutgoing() }
        }
    }

    /// Collected frames of a link leave at once beyond this many bytes.
    static let outgoingFlushBytes = 256 << 10

    /// Writes every link's collected frames (one write per link).
    private func flushOutgoing() {
        outgoingFlushQueued = false
        guard !isClosed else { return }
        for index in links.indices where !links[index].outgoing.isEmpty { flushOutgoing(linkAt: index) }
    }

    private func flushOutgoing(linkAt index: Int) {
        let bytes = links[index].outgoing
        links[index].outgoing.removeAll(keepingCapacity: true)
        deliver(bytes, toLinkAt: index)
    }

    /// Encodes one Raft message as a frame at the end of `scratch`.
    private func appendRaftFrame(_ message: RaftMessage) {
        let start = scratch.count
        scratch.writeFixed(UInt64(0))  // header placeholder: length and checksum
        scratch.write(PeerProtocol.raft.rawValue)
        do {
            try MessageCodec.encode(message, into: &scratch, limits: configuration.wire)
        } catch {
            scratch.bytes.removeSubrange(start...)
            metrics.messagesDropped.increment()
            logger.warning("dropping an unencodable message", metadata: ["kind": "\(message.kindName)", "error": "\(error)"])
            return
        }
        sealFrame(at: start)
    }

    /// Fills in the header of the frame that starts at `start` in `scratch`.
    private func sealFrame(at start: Int) {
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

    /// Writes `bytes` to a link now, or, with a configured peer delay, after
    /// it: the frames wait in the link's delay queue (bounded by
    /// `peerOutboundBufferBytesMaximum`) and one scheduled task on this loop
    /// releases them in the order they were sent.
    private func deliver(_ bytes: [UInt8], toLinkAt index: Int) {
        let delay = configuration.peerDelayMilliseconds
        guard delay > 0 else {
            deliverNow(bytes, toLinkAt: index)
            return
        }
        let deadline = NIODeadline.now() + .milliseconds(Int64(delay))
        let wasEmpty = links[index].delayed.isEmpty
        guard links[index].delayed.append(bytes, deadline: deadline, byteLimit: configuration.peerOutboundBufferBytesMaximum) else {
            metrics.messagesDropped.increment()
            return
        }
        if wasEmpty { scheduleDelayedRelease(linkAt: index) }
    }

    /// Schedules the release of the link's oldest delayed frames at their deadline.
    private func scheduleDelayedRelease(linkAt index: Int) {
        guard let deadline = links[index].delayed.nextDeadline else { return }
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(deadline: deadline) { bound.value.releaseDelayed(linkAt: index) }
    }

    /// Writes every delayed frame whose deadline has passed, oldest first, and
    /// schedules the rest.
    private func releaseDelayed(linkAt index: Int) {
        guard !isClosed else { return }
        for bytes in links[index].delayed.release(through: .now()) { deliverNow(bytes, toLinkAt: index) }
        scheduleDelayedRelease(linkAt: index)
    }

    private func deliverNow(_ bytes: [UInt8], toLinkAt index: Int) {
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
        let bound = NIOLoopBound(self, eventLoop: loop)
        let connection = PeerBootstrap.dial(
            peer, configuration: configuration, tls: tls, eventLoop: loop, logger: logger, metrics: metrics
        ) {
            bound.value.connectionClosed(linkAt: index, generation: generation)
        }
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
            // The handshake is out: keepalives and the silence check may start.
            (try? channel.pipeline.syncOperations.handler(type: OutboundPeerHandler.self))?.introduced = true
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
            links[index].delayed.removeAll()
            links[index].outgoing.removeAll()
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
    /// Frames held back by `NodeConfiguration.peerDelayMilliseconds`.
    var delayed = DelayedFrames()
    /// Frames of the other protocols collected in this loop turn (`PeerTransport.send(_:protocol:to:)`).
    var outgoing: [UInt8] = []

    init(peer: PeerAddress) { self.peer = peer }

    enum State {
        case idle
        case connecting
        case connected(any Channel)
        case waiting(Scheduled<Void>)
    }
}

