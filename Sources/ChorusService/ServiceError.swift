import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusNode
import ChorusReplica

/// Why an operation failed, as every front end sees it: a stable code, a
/// sentence, and the facts a front end may need to render it (where the
/// leader is, the key's current version, the replica's applied index).
public struct ServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problem: APIProblem
    /// For `notLeader`: the leader and its HTTP URL.
    public var leader: NodeID?
    public var leaderURL: String?
    /// For `versionMismatch`: the key's version (0 if absent).
    public var currentVersion: LogIndex?
    /// The replica's applied index, where the answer depends on it.
    public var appliedIndex: LogIndex?
    /// Seconds after which trying again makes sense, where that is known.
    public var retryAfterSeconds: Int?
    /// For `wrongExpectedVersion`: every condition that failed, with the
    /// stream's actual state (one for a single-stream append or delete).
    public var conflicts: [StreamConflict] = []

    public init(_ code: ErrorCode, _ message: String) {
        problem = APIProblem(code, message)
    }

    public var code: ErrorCode { problem.code }
    public var message: String { problem.message }
    public var description: String { problem.description }

    public init(_ problem: APIProblem) { self.problem = problem }

    /// A node's refusal, with its code.
    public init(_ error: NodeError) {
        switch error {
        case .notLeader(let leader, let url):
            if let url {
                self.init(.notLeader, "send writes to the leader \(leader) at \(url)")
                self.leader = leader
                self.leaderURL = url
            } else {
                self.init(.noLeader, "the leader \(leader) has not announced its HTTP URL yet")
                retryAfterSeconds = 1
            }
        case .noLeader:
            self.init(.noLeader, error.description)
            retryAfterSeconds = 1
        case .overloaded:
            self.init(.overloaded, error.description)
            retryAfterSeconds = 1
        case .proposalLost:
            self.init(.proposalLost, error.description)
            retryAfterSeconds = 0
        case .outcomeUnknown:
            self.init(.outcomeUnknown, error.description)
        case .readTimeout:
            self.init(.readTimeout, error.description)
            retryAfterSeconds = 0
        case .notCaughtUp(let applied, _):
            self.init(.notCaughtUp, error.description)
            appliedIndex = applied
            retryAfterSeconds = 0
        case .stopped:
            self.init(.stopped, error.description)
        }
    }
}
