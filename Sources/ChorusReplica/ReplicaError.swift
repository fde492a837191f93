import ChorusCore
import ChorusRaft

/// Why the replica could not do what was asked: the expected failures of a
/// write or a read, typed, so every front end maps them to its own wire form
/// (an HTTP status and code, a RESP error) in one place.
public enum ReplicaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// This replica does not lead; `leader` is the leader it knows, if any.
    case notLeader(leader: NodeID?)
    /// No leader is known (an election is under way). Safe to retry.
    case noLeader
    /// Too many requests are waiting, or the core refused the proposal. Nothing was proposed.
    case overloaded(Overload)
    /// The write's log position was taken by another leader's entry: it was
    /// not applied and never will be. Safe to retry.
    case proposalLost
    /// The write may or may not have been applied. Retry only with an idempotency session.
    case outcomeUnknown(Uncertainty)
    /// A read was not confirmed in time (leadership moved, a partition). Safe to retry.
    case readTimeout
    /// A read asked for an index this replica has not applied in time.
    case notCaughtUp(applied: LogIndex, wanted: LogIndex)
    /// The replica has stopped (shutdown or a storage failure).
    case stopped(String)

    /// What was full.
    public enum Overload: Sendable, Hashable, CustomStringConvertible {
        case pendingWrites(limit: Int)
        case pendingReads(limit: Int)
        /// The Raft core refused the proposal (too many uncommitted entries,
        /// too many reads waiting for a round).
        case raft(DropReason)

        public var description: String {
            switch self {
            case .pendingWrites(let limit): "\(limit) writes are pending (the limit)"
            case .pendingReads(let limit): "\(limit) reads are pending (the limit)"
            case .raft(let reason): reason.description
            }
        }
    }

    /// Why a write's fate is not known.
    public enum Uncertainty: Sendable, Hashable, CustomStringConvertible {
        /// Not seen applied within the write timeout.
        case timedOut(ticks: UInt64)
        /// A snapshot from the leader replaced the log over the write's index.
        case replacedBySnapshot
        /// The proposal was forwarded to the leader, which answers no one.
        case forwarded

        public var description: String {
            switch self {
            case .timedOut(let ticks): "not applied within \(ticks) ticks"
            case .replacedBySnapshot: "a snapshot replaced the log"
            case .forwarded: "the proposal was forwarded"
            }
        }
    }

    public var description: String {
        switch self {
        case .notLeader(let leader):
            "this replica is not the leader" + (leader.map { "; the leader is \($0)" } ?? "")
        case .noLeader: "no leader is known (an election is in progress)"
        case .overloaded(let overload): "overloaded: \(overload)"
        case .proposalLost: "the write lost its log position to another leader and was not applied"
        case .outcomeUnknown(let uncertainty): "the write's outcome is unknown: \(uncertainty)"
        case .readTimeout: "the read was not confirmed in time"
        case .notCaughtUp(let applied, let wanted):
            "this replica has applied \(applied.rawValue), not yet \(wanted.rawValue)"
        case .stopped(let reason): "the replica has stopped: \(reason)"
        }
    }
}
