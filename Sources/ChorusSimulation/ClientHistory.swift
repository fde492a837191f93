import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusReplica

/// One client operation as the client saw it: what it asked, when, and what
/// came back. Times are virtual microseconds. Values are unique per write
/// (`"c<client>-<n>"`), so a value identifies the write that produced it.
public struct ClientOperation: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case get(key: String)
        case put(key: String, value: String)
        case delete(key: String)
        /// `expectedValue` is the value the client read at `expectedVersion`
        /// (nil: absent), so the operation can be judged on values alone.
        case compareAndSet(key: String, expectedVersion: LogIndex, expectedValue: String?, value: String)
        /// A range read of every key under `prefix` (the consistent-prefix workload).
        case range(prefix: String)

        /// The key, or the prefix of a range read.
        public var key: String {
            switch self {
            case .get(let key), .put(let key, _), .delete(let key), .compareAndSet(let key, _, _, _), .range(let key): key
            }
        }
    }

    public enum Outcome: Sendable, Hashable {
        /// A get returned this value (nil: absent) at this version.
        case read(value: String?, version: LogIndex)
        /// A write was applied.
        case written(KeyValueResult)
        /// A compare-and-set found another version: it did not happen.
        case compareAndSetFailed(currentVersion: LogIndex)
        /// No answer before the end: the operation may or may not have happened.
        case indeterminate
        /// A range read returned these keys with their versions and values.
        case range([RangeEntry])
    }

    /// One key of a range read's answer.
    public struct RangeEntry: Sendable, Hashable {
        public var key: String
        public var version: LogIndex
        public var value: String
    }

    public var client: Int
    public var kind: Kind
    public var invokedAt: UInt64
    public var completedAt: UInt64?
    public var outcome: Outcome
    /// Where the operation sits among every invocation and completion, for
    /// checkers that need real-time order without ties.
    public var invokedSequence = 0
    public var completedSequence: Int?
    /// A write's log index (its version; a delete's too), once acknowledged.
    public var writeIndex: LogIndex?
    /// The applied index a read was served at.
    public var readAppliedIndex: LogIndex?
}

/// What a client sends to a server, and what comes back: a machine command
/// or query, exactly as the service layer hands them to a node.
struct ClientRequest: Sendable {
    enum Body: Sendable {
        /// A command; a retry carries the same idempotency key.
        case write(ReplicatedMachines.Command, key: IdempotencyKey?)
        case read(ReplicatedMachines.Query, ReadRequirement)
    }

    var client: Int
    var requestID: UInt64
    var body: Body
}

struct ClientResponse: Sendable {
    enum Body: Sendable {
        /// A write's output and the log index it was applied at.
        case written(ReplicatedMachines.Output, index: LogIndex)
        /// A read's answer and the applied index it was served at.
        case read(ReplicatedMachines.Answer, appliedIndex: LogIndex)
        /// Not the leader; try this one (or any, if nil).
        case redirect(NodeID?)
        /// Overloaded or unable now; retry.
        case retry
    }

    var requestID: UInt64
    var body: Body
}
