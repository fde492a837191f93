import ChorusCore
import ChorusReplica

/// Why a node could not serve a request: the replica's typed errors, with
/// the leader's HTTP URL added where one is known, so a front end can
/// redirect. Every case maps to one stable error code in the service layer.
public enum NodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// This node is not the leader; `leaderURL` is the leader's HTTP URL if known.
    case notLeader(leader: NodeID, leaderURL: String?)
    /// No leader is known (an election is under way). Safe to retry.
    case noLeader
    /// Too many requests are waiting; retry later. Nothing was proposed.
    case overloaded(ReplicaError.Overload)
    /// The write's log position was taken by another leader's entry: it was
    /// not applied and never will be. Safe to retry.
    case proposalLost
    /// The write may or may not have been applied (timeout, a snapshot skipped
    /// over it). Retry only with an idempotency session.
    case outcomeUnknown(ReplicaError.Uncertainty)
    /// A read was not confirmed in time (leadership moved, a partition). Safe to retry.
    case readTimeout
    /// A read asked for an index this replica has not applied in time.
    case notCaughtUp(applied: LogIndex, wanted: LogIndex)
    /// The node has stopped (shutdown or a storage failure); the reason is for operators.
    case stopped(String)

    /// The replica's error, with `leaderURL` resolving a leader to its HTTP URL.
    init(_ error: ReplicaError, leaderURL: (NodeID) -> String?) {
        switch error {
        case .notLeader(let leader?): self = .notLeader(leader: leader, leaderURL: leaderURL(leader))
        case .notLeader(nil), .noLeader: self = .noLeader
        case .overloaded(let overload): self = .overloaded(overload)
        case .proposalLost: self = .proposalLost
        case .outcomeUnknown(let uncertainty): self = .outcomeUnknown(uncertainty)
        case .readTimeout: self = .readTimeout
        case .notCaughtUp(let applied, let wanted): self = .notCaughtUp(applied: applied, wanted: wanted)
        case .stopped(let reason): self = .stopped(reason)
        }
    }

    public var description: String {
        switch self {
        case .notLeader(let leader, let url):
            "this node is not the leader; the leader is \(leader)" + (url.map { " at \($0)" } ?? "")
        case .noLeader: "no leader is known (an election is in progress)"
        case .overloaded(let overload): "overloaded: \(overload)"
        case .proposalLost: "the write lost its log position to another leader and was not applied"
        case .outcomeUnknown(let uncertainty): "the write's outcome is unknown: \(uncertainty)"
        case .readTimeout: "the read was not confirmed in time"
        case .notCaughtUp(let applied, let wanted):
            "this replica has applied \(applied.rawValue), not yet \(wanted.rawValue)"
        case .stopped(let reason): "the node has stopped: \(reason)"
        }
    }
}
