import ChorusCore

/// Which protocol a frame between two nodes belongs to. After the handshake,
/// every frame's payload starts with this byte, and one connection per peer
/// carries all of them:
///
///     frame payload = protocol (u8) · that protocol's message
///
/// The receiving node hands each frame to the protocol's handler; a protocol
/// it does not serve closes the connection (a peer of another release).
public struct PeerProtocol: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// Raft messages (`MessageCodec`).
    public static let raft = PeerProtocol(1)
    /// Leaderless replication: coordinated reads and writes, hints.
    public static let replication = PeerProtocol(2)
    /// Merkle-tree anti-entropy exchanges.
    public static let antiEntropy = PeerProtocol(3)
    /// Failure-detector probes and membership gossip.
    public static let gossip = PeerProtocol(4)
    /// Snapshots sent in bounded, resumable chunks.
    public static let snapshotChunk = PeerProtocol(5)
    /// An empty frame that says the link is alive: the dialler sends one when
    /// it has written nothing for a keepalive interval, and the acceptor sends
    /// one back every interval (the only frames that travel from acceptor to
    /// dialler). Either end closes a connection it has heard nothing on for
    /// the silence timeout, so a silent peer is noticed in a few heartbeat
    /// intervals, not after TCP's retransmission backoff.
    public static let keepalive = PeerProtocol(6)

    public static func < (lhs: PeerProtocol, rhs: PeerProtocol) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .raft: "raft"
        case .replication: "replication"
        case .antiEntropy: "anti-entropy"
        case .gossip: "gossip"
        case .snapshotChunk: "snapshot-chunk"
        case .keepalive: "keepalive"
        default: "protocol-\(rawValue)"
        }
    }
}

/// One frame after the handshake: its protocol and that protocol's bytes.
public struct PeerFrame: Sendable, Hashable {
    public var protocolTag: PeerProtocol
    public var body: [UInt8]

    public init(protocolTag: PeerProtocol, body: [UInt8]) {
        self.protocolTag = protocolTag
        self.body = body
    }
}
