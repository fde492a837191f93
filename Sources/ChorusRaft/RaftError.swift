import ChorusCore

/// The expected failures of the Raft API: a caller asked for something this
/// server cannot do now. Broken invariants are not errors; they trap.
public enum RaftError: Error, Sendable, Hashable, CustomStringConvertible {
    /// This server is not the leader. `leaderHint` is the leader it last heard
    /// from in the current term, or nil if it knows none; clients retry there.
    case notLeader(leaderHint: NodeID?)
    /// The leader is handing leadership over and accepts no proposals until the
    /// transfer completes or times out (thesis §3.10).
    case leadershipTransferInProgress(target: NodeID)
    /// Too many entries are uncommitted or too many reads are pending; retry later.
    case proposalDropped(DropReason)
    /// A membership change is already appended but not yet committed; only one
    /// may be in flight at a time (thesis §4.1).
    case membershipChangeInProgress(pendingIndex: LogIndex)
    /// A new leader must commit an entry of its own term before it changes
    /// membership (the single-server-change fix Ongaro posted to raft-dev in 2015).
    case leaderHasNotCommittedInCurrentTerm
    /// The change itself is not valid against the current configuration.
    case invalidMembershipChange(String)
    /// The learner's log is too far behind to let it vote (thesis §4.2.1).
    case learnerNotCaughtUp(learner: NodeID, matchIndex: LogIndex, leaderLastIndex: LogIndex)
    /// Leadership can be transferred only to another voter.
    case invalidTransferTarget(NodeID)
    /// Compaction was asked for an index that is not applied or already compacted.
    case compactionOutOfRange(requested: LogIndex, snapshotIndex: LogIndex, appliedIndex: LogIndex)

    public var description: String {
        switch self {
        case .notLeader(let hint):
            if let hint { "not the leader; the leader is \(hint)" } else { "not the leader; no leader is known" }
        case .leadershipTransferInProgress(let target): "leadership is being transferred to \(target)"
        case .proposalDropped(let reason): "proposal dropped: \(reason)"
        case .membershipChangeInProgress(let index): "a membership change at \(index) is not yet committed"
        case .leaderHasNotCommittedInCurrentTerm: "the leader has not yet committed an entry of its term"
        case .invalidMembershipChange(let reason): "invalid membership change: \(reason)"
        case .learnerNotCaughtUp(let learner, let match, let last):
            "learner \(learner) has matched \(match) of \(last); it must catch up before it votes"
        case .invalidTransferTarget(let node): "cannot transfer leadership to \(node)"
        case .compactionOutOfRange(let requested, let snapshot, let applied):
            "cannot compact through \(requested): snapshot is at \(snapshot), applied is \(applied)"
        }
    }
}

/// Why the core refused a proposal or a read for now.
public enum DropReason: Sendable, Hashable, CustomStringConvertible {
    /// `maximumUncommittedEntries` would be exceeded.
    case uncommittedEntries(uncommitted: Int, limit: Int)
    /// Reads waiting for a new leader's first commit in its term are at the limit.
    case readsAwaitingFirstCommit(limit: Int)
    /// `maximumPendingReads` reads are waiting for a heartbeat round.
    case pendingReads(limit: Int)

    public var description: String {
        switch self {
        case .uncommittedEntries(let uncommitted, let limit): "\(uncommitted) entries are uncommitted (limit \(limit))"
        case .readsAwaitingFirstCommit(let limit): "\(limit) reads are waiting for the leader's first commit"
        case .pendingReads(let limit): "too many pending reads (limit \(limit))"
        }
    }
}

/// Why a persistent state recovered from disk cannot be resumed.
public enum RaftRecoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    case inconsistent(String)

    public var description: String {
        switch self {
        case .inconsistent(let reason): "recovered Raft state is inconsistent: \(reason)"
        }
    }
}
