import ChorusCore

/// One entry of the replicated log (Ongaro's thesis §3.5): a term, an index,
/// and what the entry carries.
public struct LogEntry: Sendable, Hashable {
    public var term: Term
    public var index: LogIndex
    public var payload: Payload

    public enum Payload: Sendable, Hashable {
        /// The entry a new leader appends at the start of its term, so that it
        /// can commit something of its own term and, through it, everything
        /// before (thesis §3.6.2 and §6.4: a leader learns its commit index
        /// only by committing an entry of its current term).
        case empty
        /// An application command, opaque to Raft.
        case command([UInt8])
        /// A whole membership configuration, effective from the moment the entry
        /// is appended to a log (thesis §4.1).
        case configuration(MembershipConfiguration)
    }

    public init(term: Term, index: LogIndex, payload: Payload) {
        self.term = term
        self.index = index
        self.payload = payload
    }

    /// An estimate of the entry's size on the wire, used to bound message sizes:
    /// the payload plus a fixed allowance for the term, index and framing.
    public var approximateByteCount: Int {
        switch payload {
        case .empty: Self.framingByteAllowance
        case .command(let bytes): Self.framingByteAllowance + bytes.count
        case .configuration(let configuration):
            Self.framingByteAllowance + 9 * (configuration.voters.count + configuration.learners.count)
        }
    }

    /// The fixed per-entry allowance in `approximateByteCount`.
    public static let framingByteAllowance = 24
}

/// What a server must keep on stable storage and recover after a crash
/// (thesis figure 3.1): its current term, its vote in that term, and (as etcd
/// raft does, to avoid re-applying from zero) the highest index it knows committed.
public struct HardState: Sendable, Hashable, CustomStringConvertible {
    public var term: Term
    public var vote: NodeID
    public var commit: LogIndex
    /// Non-zero while the server may lack entries it acknowledged in a term up
    /// to this one: it then grants no vote and never campaigns, until it holds
    /// a committed entry of a later term (see `suspendingVotes(termHighWater:)`).
    public var votingSuspendedThrough: Term

    public init(
        term: Term = .zero, vote: NodeID = .none, commit: LogIndex = .zero, votingSuspendedThrough: Term = .zero
    ) {
        self.term = term
        self.vote = vote
        self.commit = commit
        self.votingSuspendedThrough = votingSuspendedThrough
    }

    public var description: String {
        let suspended = votingSuspendedThrough == .zero ? "" : " VotingSuspendedThrough:\(votingSuspendedThrough.rawValue)"
        return "HardState Term:\(term.rawValue) Vote:\(vote.rawValue) Commit:\(commit.rawValue)\(suspended)"
    }
}

/// Where a snapshot ends and which configuration was in force there (thesis §5.1).
public struct SnapshotMetadata: Sendable, Hashable, CustomStringConvertible {
    /// The index of the last entry the snapshot replaces.
    public var index: LogIndex
    /// The term of that entry, so that the log-matching check still works at the boundary.
    public var term: Term
    /// The latest configuration at or before `index`.
    public var configuration: MembershipConfiguration

    public init(index: LogIndex, term: Term, configuration: MembershipConfiguration) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }

    public var description: String { "Index:\(index.rawValue) Term:\(term.rawValue) \(configuration)" }
}

/// The application state up to `metadata.index`, as opaque bytes the application
/// produced, plus the metadata Raft needs to continue the log after it.
public struct Snapshot: Sendable, Hashable {
    public var metadata: SnapshotMetadata
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}

/// Everything a `RaftNode` needs to resume after a restart, as the runtime
/// recovered it from its disk: the hard state, the latest snapshot (or the
/// bootstrap pseudo-snapshot at index 0) and the log entries after it.
public struct RaftPersistentState: Sendable, Hashable {
    public var hardState: HardState
    public var snapshot: Snapshot
    public var entries: [LogEntry]

    public init(hardState: HardState, snapshot: Snapshot, entries: [LogEntry]) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }

    /// A brand-new member of a brand-new cluster. The initial configuration is
    /// the configuration of an empty snapshot at index 0, so every founding
    /// member agrees on it without writing a log entry.
    public static func bootstrap(voters: [NodeID], learners: [NodeID] = []) -> RaftPersistentState {
        RaftPersistentState(
            hardState: HardState(),
            snapshot: Snapshot(
                metadata: SnapshotMetadata(
                    index: .zero, term: .zero,
                    configuration: MembershipConfiguration(voters: voters, learners: learners)),
                data: []),
            entries: [])
    }

    /// The state to resume from after recovery dropped a final log record that
    /// may have been synced, and so acknowledged: a complete record whose
    /// checksum fails, which a torn write and later damage to a synced record
    /// both leave (protocol-aware recovery, Alagappan et al., FAST '18).
    ///
    /// The lost record may have held a vote, or entries a leader counted toward
    /// a commit. `termHighWater` is the highest term the server ever entered,
    /// kept outside the log (a node's `TERM` file, written before any message
    /// of a new term leaves), so `through` = max(it, the recovered term) bounds
    /// every term the lost records can belong to. The server
    /// - moves to term `through + 1` with no vote: it never sent anything in
    ///   that term, so it cannot vote twice in any term;
    /// - grants no vote and never campaigns until it holds a committed entry of
    ///   a term after `through`. A leader of such a term holds every entry
    ///   committed before it, and an entry the server acknowledged in a term up
    ///   to `through` that is not in that leader's prefix can never be committed
    ///   (a later leader holds the committed entry, and terms only grow along a
    ///   log). Until then its vote could elect a leader lacking an entry whose
    ///   commit counted the server's lost acknowledgement.
    ///
    /// The price: while suspended the server is a learner in effect, so a
    /// cluster with it tolerates one failure fewer.
    public func suspendingVotes(termHighWater: Term) -> RaftPersistentState {
        let through = max(termHighWater, hardState.term, entries.last?.term ?? .zero)
        var state = self
        state.hardState = HardState(term: through.next, vote: .none, commit: hardState.commit, votingSuspendedThrough: through)
        return state
    }

    /// A server started to join an existing cluster: it knows no configuration
    /// and will not campaign until the leader's log (or snapshot) adds it.
    public static let joining = RaftPersistentState(
        hardState: HardState(),
        snapshot: Snapshot(metadata: SnapshotMetadata(index: .zero, term: .zero, configuration: .empty), data: []),
        entries: [])
}
