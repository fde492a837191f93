import ChorusCore
import ChorusRaft

/// The runtime's name for one request, chosen by the runtime and handed back
/// with the request's answer (a continuation in the node, a client and
/// request id in the simulator).
public struct RequestToken: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "request \(rawValue)" }
}

/// Names a write for de-duplication while it is in flight: a retry that
/// arrives while the original is still queued or uncommitted on this replica
/// joins the original instead of being proposed again, and both are answered
/// with the original's fate. (Once applied, de-duplication is the machine's
/// job: a key-value session, an event id.)
public struct IdempotencyKey: Hashable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A client session's write: its client id and sequence number.
    public init(client: UInt64, sequence: UInt64) {
        var writer = ByteWriter(capacity: 16)
        writer.writeFixed(client)
        writer.writeFixed(sequence)
        bytes = writer.bytes
    }

    public var description: String { "idempotency key of \(bytes.count) bytes" }
}

/// When a replica may answer a read, as the caller's consistency level asks
/// (DESIGN.md §2). Every requirement is proven by the replica before it
/// answers; none is weakened silently.
public enum ReadRequirement: Sendable, Hashable {
    /// Confirmed by the leader with a ReadIndex round (or its lease), then
    /// served once this replica has applied that index (thesis §6.4).
    case linearizable
    /// From this replica's applied state, once it has applied at least
    /// `minimumIndex` (a session's high-water mark: `sequential` and
    /// `session`), waiting up to `ReplicaConfiguration.catchUpWaitTicks`.
    case appliedAtLeast(LogIndex)
    /// From this replica's applied state at once (`eventual`; on Raft data
    /// also `consistentPrefix`, since an applied state is always a prefix of
    /// the log).
    case immediate
    /// At most `maximumVersions` log entries behind what was acknowledged when
    /// the read began, and reflecting everything acknowledged more than
    /// `maximumLagTicks` ago (each bound optional, both honoured when given).
    ///
    /// The proof is a ReadIndex confirmation: the index `i` it returns holds
    /// every write acknowledged before its request left at tick `a`. A bound
    /// on versions is met once this replica has applied `i − K` (the entries
    /// it misses are at most K, so at most K versions of any key). A bound on
    /// lag is met by the replica's latest confirmation `(a, i)` alone while
    /// `(now − a + 1 tick) × (1 + clock drift bound) ≤ T` and it has applied
    /// `i`: no round trip, which is where the level's speed comes from.
    /// Both together need a new confirmation (for K), and K's slack may not
    /// reach below a confirmation recent enough for T (without one, below
    /// the new confirmation itself): the entries within the slack may have
    /// been acknowledged long before the read began. (A 10,000-seed campaign
    /// found the read that served `i − K` for both; seeds 109070 and 109178.)
    case boundedStaleness(maximumVersions: UInt64?, maximumLagTicks: UInt64?)
}

/// What a replica proved about how stale an answer may be.
public struct Staleness: Sendable, Hashable {
    /// At most this many log entries acknowledged before the read began are
    /// missing from the answer (0: none).
    public var maximumMissingEntries: UInt64?
    /// Every write acknowledged at least this many ticks before the answer is in it.
    public var maximumLagTicks: UInt64?

    public init(maximumMissingEntries: UInt64?, maximumLagTicks: UInt64?) {
        self.maximumMissingEntries = maximumMissingEntries
        self.maximumLagTicks = maximumLagTicks
    }

    public static let none = Staleness(maximumMissingEntries: 0, maximumLagTicks: 0)
}

/// A write that was applied: where, what it returned, and how far this
/// replica had applied when it answered.
public struct WriteResult<Output: Sendable>: Sendable {
    public var index: LogIndex
    public var output: Output
    public var appliedIndex: LogIndex
}

/// A read's answer, the applied index it was served at, and what the replica
/// proved about its staleness (nil: nothing beyond its own applied state).
public struct ReadResult<Value: Sendable>: Sendable {
    public var value: Value
    public var appliedIndex: LogIndex
    public var staleness: Staleness?
}

/// What the runtime must make durable for one `Ready`, then acknowledge with
/// `RaftReplica.persisted(_:)` (at once if `isEmpty`).
///
/// Order: the `snapshot` first (a node saves it as a checkpoint file, being
/// too large for a log record), then `entries` (writing an entry at index i
/// discards every stored entry at i or above), then `hardState`; fsync when
/// `mustSync`. Messages held for after persistence go out only once the
/// runtime acknowledges.
public struct PersistRequest: Sendable {
    /// Names this request in `persisted(_:)`.
    public var ticket: UInt64
    public var snapshot: Snapshot?
    public var entries: [LogEntry]
    public var hardState: HardState?
    public var mustSync: Bool
    /// The hard state durable before this request: with `hardState`, what a
    /// runtime writes beside a received snapshot so the two agree.
    public var durableHardState: HardState

    public var isEmpty: Bool { snapshot == nil && entries.isEmpty && hardState == nil }
}

/// A checkpoint to save atomically: the machines' snapshot, the hard state
/// and the durable entries after the snapshot. Once it is durable, the log
/// records it covers may be released; acknowledge with `checkpointSaved()`.
public struct CheckpointRequest: Sendable {
    public var hardState: HardState
    public var snapshot: Snapshot
    public var entries: [LogEntry]
}

/// One thing the runtime must do, in the order given. Every effect is the
/// replica's decision; the runtime carries it out and reports back through
/// the acknowledgement inputs (`persisted`, `snapshotPrepared`,
/// `checkpointSaved`).
public enum ReplicaEffect<Machine: ReplicatedStateMachine>: Sendable {
    /// A `Ready` was taken from the core, before any of its work is done
    /// (for observers: the simulator's safety checker, metrics).
    case readyTaken(Ready)
    /// The role or leader changed.
    case roleChanged(SoftState, term: Term)
    /// Send these messages now.
    case send([RaftMessage])
    /// Make these records durable, then call `persisted(ticket)`.
    case persist(PersistRequest)
    /// Serialize this copy of the machines (`snapshot()`, off the hot path if
    /// the runtime likes), then call `snapshotPrepared(index:data:)`.
    case prepareSnapshot(Machine, index: LogIndex)
    /// Save this checkpoint atomically, then call `checkpointSaved()`.
    case saveCheckpoint(CheckpointRequest)
    /// A snapshot from the leader replaced the machines' state.
    case snapshotInstalled(SnapshotMetadata)
    /// A batch of writes was proposed (for metrics).
    case proposed(count: Int)
    /// Linearizable reads were batched into one ReadIndex request (for metrics).
    case readIndexRequested(reads: Int)
    /// A write's answer.
    case writeCompleted(RequestToken, Result<WriteResult<Machine.Output>, ReplicaError>)
    /// A read's answer.
    case readCompleted(RequestToken, Result<ReadResult<Machine.QueryResult>, ReplicaError>)
    /// The replica cannot go on (a snapshot that does not restore); it has stopped.
    case fatal(String)
}
