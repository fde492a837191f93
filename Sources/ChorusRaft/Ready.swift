import ChorusCore

/// The role a server plays in its current term (thesis §3.3, §9.6).
public enum RaftRole: String, Sendable, Hashable, CustomStringConvertible {
    case follower = "StateFollower"
    case preCandidate = "StatePreCandidate"
    case candidate = "StateCandidate"
    case leader = "StateLeader"

    public var description: String { rawValue }
}

/// Volatile state the runtime may want to observe (and need not persist).
public struct SoftState: Sendable, Hashable, CustomStringConvertible {
    public var role: RaftRole
    public var leader: NodeID

    public var description: String { "Lead:\(leader.rawValue) State:\(role)" }
}

/// A linearizable read that may now be served: once the state machine has
/// applied `index`, reading it reflects every write acknowledged before the
/// read was requested (thesis §6.4 steps 3–4).
public struct ReadState: Sendable, Hashable, CustomStringConvertible {
    public var index: LogIndex
    /// The caller's token from `readIndex(context:)`.
    public var context: UInt64

    public init(index: LogIndex, context: UInt64) {
        self.index = index
        self.context = context
    }

    public var description: String { "Index:\(index.rawValue) Context:\(context)" }
}

/// One batch of work the runtime must carry out for a `RaftNode`, acknowledged
/// with `RaftNode.advance(_:)`.
///
/// The runtime processes a `Ready` in this order, and the order is the contract:
///
///  1. **Persist** `snapshot` (if any), then `entries`, then `hardState` (if
///     any), and make them durable (fsync) when `mustSync` is true. Writing an
///     entry at index i discards every stored entry at i or above.
///  2. Only then **send** `messages`. Every message in a `Ready` may depend on
///     the state persisted in step 1 of the same or an earlier `Ready`: a vote
///     response must not leave before the vote is durable (thesis §3.8), and an
///     AppendEntries acknowledgement must not leave before the entries are.
///     The one exception is `messagesMayPrecedePersistence`: a leader's
///     messages may leave *before* step 1, so that followers write the entries
///     to their disks while the leader writes them to its own (thesis
///     §10.2.1). The leader counts itself toward a commit only once its own
///     entries are durable (`advance`), so nothing is acknowledged that is not
///     on a majority of disks.
///  3. **Apply** `snapshot` to the state machine, then `committedEntries` in
///     order. They are durable here after step 1. A committed entry that was
///     already durable here before this `Ready` (persisted by an earlier one,
///     and below the first index this one rewrites) may be applied before
///     step 1: it is durable locally and, being committed, on a quorum. The
///     node runtime does so, to answer writes one fsync sooner.
///  4. Serve the `readStates` whose index the state machine has applied.
///  5. Call `advance(ready)`. Until then `ready()` must not be called again,
///     but `step`, `tick`, `propose` and `readIndex` may be.
public struct Ready: Sendable {
    /// The role and leader, if they changed since the previous `Ready`.
    public var softState: SoftState?
    /// Term, vote and commit index to persist, if they changed.
    public var hardState: HardState?
    /// Log entries to append to stable storage.
    public var entries: [LogEntry]
    /// A snapshot received from the leader: persist it, then restore the state
    /// machine from it. It replaces every earlier entry.
    public var snapshot: Snapshot?
    /// Entries known committed, to apply in order.
    public var committedEntries: [LogEntry]
    /// Messages to send once step 1 is durable.
    public var messages: [RaftMessage]
    /// Linearizable reads confirmed since the previous `Ready`.
    public var readStates: [ReadState]
    /// Whether step 1 must fsync (a new term, vote, entry or snapshot); a
    /// commit-index-only change may be written lazily.
    public var mustSync: Bool
    /// Whether `messages` may be sent before step 1 (rather than after it):
    /// true when the `Ready` was taken by a leader whose term and vote are
    /// already durable. A leader's messages (AppendEntries, snapshots,
    /// heartbeats, read-index answers, refusals) never claim that anything of
    /// this `Ready` is on its disk; its term and vote were made durable when it
    /// campaigned, before its vote requests left. Any `Ready` that changes the
    /// term or the vote, or that was taken by a server that is not leading, has
    /// this false: its messages may acknowledge what step 1 writes.
    public var messagesMayPrecedePersistence: Bool

    /// This `Ready`'s number in the server's sequence of them (names it in acknowledgements).
    public let sequence: UInt64
    let lastEntry: (index: LogIndex, term: Term)?
    let lastCommittedIndex: LogIndex?

    public var isEmpty: Bool {
        softState == nil && hardState == nil && entries.isEmpty && snapshot == nil && committedEntries.isEmpty
            && messages.isEmpty && readStates.isEmpty
    }
}

/// Where a proposal went.
public enum ProposalOutcome: Sendable, Hashable {
    /// Appended to this leader's log at `index` in `term`. It is committed once an
    /// entry with that index *and term* appears in `Ready.committedEntries`; if
    /// another term's entry appears there instead, the proposal was lost.
    case appended(index: LogIndex, term: Term)
    /// Forwarded to the leader (`RaftConfiguration.proposalForwardingEnabled`);
    /// the caller learns its fate only by watching the applied commands.
    case forwarded(to: NodeID)
}

/// A snapshot of a server's state for dashboards, `/v1/cluster` and tests.
public struct RaftStatus: Sendable, Hashable {
    public var node: NodeID
    public var term: Term
    public var vote: NodeID
    public var role: RaftRole
    public var leader: NodeID
    public var commitIndex: LogIndex
    public var appliedIndex: LogIndex
    public var lastIndex: LogIndex
    public var snapshotIndex: LogIndex
    public var configuration: MembershipConfiguration
    /// Non-zero while the server grants no votes after a lossy recovery.
    public var votingSuspendedThrough: Term = .zero
    /// Per follower (leader only): match index, next index and replication state.
    public var followers: [FollowerStatus]

    public struct FollowerStatus: Sendable, Hashable {
        public var node: NodeID
        public var matchIndex: LogIndex
        public var nextIndex: LogIndex
        public var state: String
    }
}
