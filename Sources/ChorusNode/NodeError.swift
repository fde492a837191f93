import ChorusCore

/// The expected failures of a request to a node. Each maps to one HTTP status
/// and error code in `ChorusHTTP`; each says whether a retry is safe.
public enum NodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// This node is not the leader; `leaderURL` is the leader's HTTP URL if known.
    case notLeader(leader: NodeID, leaderURL: String?)
    /// No leader is known (an election is under way). Safe to retry.
    case noLeader
    /// Too many requests are waiting; retry later. Nothing was proposed.
    case overloaded(String)
    /// The write's log position was taken by another leader's entry: it was
    /// not applied and never will be. Safe to retry.
    case proposalLost
    /// The write may or may not have been applied (timeout, shutdown, a
    /// snapshot skipped over it). Retry only with an idempotency session.
    case outcomeUnknown(String)
    /// A read was not confirmed in time (leadership moved, a partition). Safe to retry.
    case readTimeout
    /// A sequential read asked for an index this replica has not applied in time.
    case notCaughtUp(applied: LogIndex, wanted: LogIndex)
    /// The node has stopped (shutdown or a storage failure).
    case stopped(String)

    public var description: String {
        switch self {
        case .notLeader(let leader, let url):
            "this node is not the leader; the leader is \(leader)" + (url.map { " at \($0)" } ?? "")
        case .noLeader: "no leader is known (an election is in progress)"
        case .overloaded(let reason): "overloaded: \(reason)"
        case .proposalLost: "the write lost its log position to another leader and was not applied"
        case .outcomeUnknown(let reason): "the write's outcome is unknown: \(reason)"
        case .readTimeout: "the read was not confirmed in time"
        case .notCaughtUp(let applied, let wanted):
            "this replica has applied \(applied.rawValue), not yet \(wanted.rawValue)"
        case .stopped(let reason): "the node has stopped: \(reason)"
        }
    }
}
