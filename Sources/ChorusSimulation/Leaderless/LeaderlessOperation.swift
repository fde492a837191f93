import ChorusClocks
import ChorusCore
import ChorusReplication

/// The consistency level an operation asked for (DESIGN §2's leaderless three).
public enum LeaderlessLevel: String, Sendable, Hashable {
    /// Any one replica's value (r = 1).
    case eventual
    /// Read-your-writes and monotonic reads per key: the front end accepts a
    /// reply only if its context covers everything the session saw of the
    /// key, else retries; writes carry that context (monotonic writes and
    /// writes-follow-reads per key).
    case session
    /// Causal+ in the causal keyspace: the session's dependencies travel
    /// with every request (`LeaderlessSessionState`).
    case causal
}

/// One client operation of a leaderless history, as the client saw it.
/// Every written value (and set element, map label and register value) is
/// unique, so a value names the one write that produced it.
public struct LeaderlessOperation: Sendable {
    public enum Action: Sendable, Hashable {
        /// A versioned put; `context` nil is a blind put, superseding what
        /// the coordinating replica holds (`WriteContext.observedAtCoordinatingReplica`).
        case put(value: [UInt8], context: VersionVector?)
        case delete(context: VersionVector)
        case increment(Int64)
        case insert([UInt8])
        case remove([UInt8])
        case assign([UInt8])
        case map(LeaderlessMapAction)
        case read

        public var isWrite: Bool { self != .read }
    }

    public enum Outcome: Sendable {
        case pending
        case written(WriteReply)
        case read(ReadReply)
        /// Refused before anything was stored (unavailable, refused, overloaded).
        case failed(RequestFailure)
        /// A session read whose every reply was older than the session (not returned).
        case stale(attempts: Int)
        /// No answer in time, or the coordinator timed out: a write may have happened.
        case indeterminate
    }

    public var client: Int
    public var key: ObjectKey
    public var action: Action
    public var level: LeaderlessLevel
    public var invokedAt: UInt64
    public var completedAt: UInt64?
    public var outcome: Outcome

    public var writeReply: WriteReply? { if case .written(let reply) = outcome { reply } else { nil } }
    public var readReply: ReadReply? { if case .read(let reply) = outcome { reply } else { nil } }

    /// A write that may have been applied: acknowledged, or without a definite answer.
    public var mayHaveApplied: Bool {
        guard action.isWrite else { return false }
        switch outcome {
        case .written, .indeterminate, .pending: return true
        case .failed, .read, .stale: return false
        }
    }
}

/// The map operations of the workload, on `LeaderlessWorkload`'s fields.
public enum LeaderlessMapAction: Sendable, Hashable {
    case increment(Int64)
    case insertLabel(String)
    case assignName(String)
    case enable
    case disable
    case removeName
}
