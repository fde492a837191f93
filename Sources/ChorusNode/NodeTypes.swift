import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// What an applied write produced.
public struct WriteOutcome: Sendable, Hashable {
    /// The log index at which the write was applied: the key's version for a
    /// put or a matching compare-and-set.
    public var index: LogIndex
    public var result: KeyValueResult
    /// The node's applied index after the write (≥ `index`), for session tokens.
    public var appliedIndex: LogIndex
}

/// A snapshot of the node for `/v1/cluster`, dashboards and tests.
public struct NodeStatus: Sendable, Hashable {
    public var node: NodeID
    public var role: RaftRole
    public var term: Term
    public var leader: NodeID
    /// The leader's HTTP URL, if known (this node's own when it leads).
    public var leaderURL: String?
    public var commitIndex: LogIndex
    public var appliedIndex: LogIndex
    public var lastIndex: LogIndex
    public var snapshotIndex: LogIndex
    public var members: [Member]
    /// Per follower (leader only).
    public var followers: [RaftStatus.FollowerStatus]
    public var keyCount: Int
    public var storage: StorageStatus

    public struct Member: Sendable, Hashable {
        public var id: NodeID
        public var peerAddress: String
        /// Learned from the member's handshake; nil until it has connected here.
        public var httpURL: String?
    }

    public struct StorageStatus: Sendable, Hashable {
        public var fsyncCount: UInt64
        public var acknowledgedRecords: UInt64
        public var recordsPerFsync: Double
        public var fsyncMillisecondsAverage: Double
    }
}
