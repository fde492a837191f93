import ChorusCore
import ChorusRaft

/// One replica of a Raft group and the state machines it hosts, as one
/// sans-IO driver: the only place where a `Ready` turns into work (DESIGN.md
/// §3). The node runtime and the simulator both run exactly this loop and
/// differ only in how they carry out its effects: real files, sockets and
/// continuations, or a simulated disk, network and clients.
///
/// ```
///  submitWrite / submitRead / receive / tick ──▶ RaftReplica ──effects──▶ runtime
///                         ▲                                                   │
///                         └── persisted / snapshotPrepared / checkpointSaved ─┘
/// ```
///
/// **The loop.** `pump()` proposes the writes queued since the last pump as
/// one batch and the linearizable reads as one ReadIndex request, then takes
/// a `Ready` if none is in flight:
///
/// 1. `readyTaken`, and `roleChanged` if the role moved;
/// 2. committed entries that were durable here before this `Ready` are
///    applied at once (early apply, `Ready` step 3), answering their writes
///    one fsync sooner;
/// 3. a leader's messages leave now when the `Ready` allows it
///    (`messagesMayPrecedePersistence`, thesis §10.2.1), so followers write
///    while the leader writes;
/// 4. `persist`: the runtime makes the records durable and calls
///    `persisted(ticket)`;
/// 5. then the held messages leave, the snapshot and committed entries are
///    applied, confirmed reads are served, and the core is advanced.
///
/// While a `Ready` is being made durable, writes keep arriving; they are
/// appended to the core's log and leave together in the next `Ready`, so one
/// fsync covers every write that arrived during the previous one (group
/// commit, without a timer).
///
/// **Write completion.** A write proposed at (index, term) completes when the
/// entry at that index is applied: with the machine's output if the applied
/// entry has that term, as `proposalLost` if another term's entry took the
/// index (thesis §6.3: a leader's uncommitted suffix can be replaced), and as
/// `outcomeUnknown` on timeout or when a snapshot jumps over it. Never a
/// false success.
///
/// **Bookkeeping** is asserted after every input (TigerBeetle style): the
/// pending counts equal what the queues hold, no write waits for an index
/// already applied, and between `Ready`s the machines have applied exactly
/// what the core has.
public struct RaftReplica<Machine: ReplicatedStateMachine>: Sendable {
    public let configuration: ReplicaConfiguration
    public internal(set) var raft: RaftNode
    public internal(set) var machine: Machine
    /// Ticks since this replica started.
    public internal(set) var tickCount: UInt64 = 0
    /// Why the replica stopped, once it has.
    public internal(set) var stopReason: String?
    /// Monotonic counters for the runtime's metrics.
    public internal(set) var statistics = ReplicaStatistics()

    // The Ready pipeline.
    var readyInFlight: Ready?
    /// Whether the in-flight `Ready`'s messages wait for its persistence.
    var messagesHeld = false
    var durableLastIndex: LogIndex
    var durableHardState: HardState
    var checkpointsInFlight = 0
    var compactionInProgress = false
    var preparedSnapshot: (index: LogIndex, data: [UInt8])?

    // Writes.
    var proposalQueue: [QueuedWrite] = []
    var writeWaiters: [UInt64: WriteWaiter] = [:]
    /// Where each in-flight write with an idempotency key is.
    var writesByKey: [IdempotencyKey: WriteLocation] = [:]
    /// Requests waiting for a write's answer (a write joined by retries counts each).
    var pendingWriteCount = 0

    // Reads.
    var readQueue: [ReadWaiter] = []
    var readBatches: [UInt64: ReadBatch] = [:]
    var readsAwaitingApply: [(index: LogIndex, batch: ReadBatch)] = []
    var catchUpWaiters: [(minimumIndex: LogIndex, waiter: ReadWaiter)] = []
    var pendingReadCount = 0
    var nextReadContext: UInt64 = 0
    /// The latest ReadIndex confirmation: every write acknowledged before
    /// `tick` is at or below `index` (the proof behind bounded-staleness reads).
    var freshness: (tick: UInt64, index: LogIndex)?

    var effects: [ReplicaEffect<Machine>] = []

    struct QueuedWrite: Sendable {
        var command: [UInt8]
        var key: IdempotencyKey?
        /// The request, and any retries of it that arrived before it was proposed.
        var tokens: [RequestToken]
    }

    struct WriteWaiter: Sendable {
        var term: Term
        var deadlineTick: UInt64
        var key: IdempotencyKey?
        var tokens: [RequestToken]
    }

    enum WriteLocation: Sendable, Hashable {
        case queued(position: Int)
        case proposed(index: UInt64)
    }

    struct ReadWaiter: Sendable {
        var query: Machine.Query
        var deadlineTick: UInt64
        var token: RequestToken
        /// How many entries behind the confirmed index may serve it (a
        /// bounded-staleness read's K; 0 for a linearizable read).
        var slack: UInt64 = 0
        /// The index below which the slack may not reach: a read bounded by
        /// T as well as K is served no earlier than the latest confirmation
        /// recent enough for T (entries within the slack may have been
        /// acknowledged long before the read began).
        var floor: LogIndex = .zero
        /// What the answer will be proven to be.
        var staleness: Staleness? = nil
    }

    struct ReadBatch: Sendable {
        var deadlineTick: UInt64
        var waiters: [ReadWaiter]
        /// The leader the request went to (this replica, or the one it was forwarded to).
        var leader: NodeID
        /// When the ReadIndex request left: the confirmed index holds every
        /// write acknowledged before this tick.
        var requestedAtTick: UInt64
    }

    /// A replica of a core recovered from `durable` (what the runtime read
    /// back from its storage) and machines restored to the core's snapshot.
    public init(
        configuration: ReplicaConfiguration, raft: RaftNode, machine: Machine, durable: RaftPersistentState
    ) throws(ReplicaConfigurationError) {
        try configuration.validate()
        precondition(
            machine.appliedIndex == raft.appliedIndex,
            "machines at \(machine.appliedIndex) but the core has applied \(raft.appliedIndex)")
        self.configuration = configuration
        self.raft = raft
        self.machine = machine
        self.durableLastIndex = durable.entries.last?.index ?? durable.snapshot.metadata.index
        self.durableHardState = durable.hardState
        checkInvariants()
    }

    /// Hands over the effects produced since the last call, in order.
    public mutating func takeEffects() -> [ReplicaEffect<Machine>] {
        defer { effects.removeAll(keepingCapacity: true) }
        return effects
    }

    /// Whether `pump()` has work: queued requests, or a `Ready` it may take.
    public var needsPump: Bool {
        guard stopReason == nil else { return false }
        return !proposalQueue.isEmpty || !readQueue.isEmpty || (readyInFlight == nil && raft.hasReady)
            || (readyInFlight == nil && preparedSnapshot != nil)
    }

    /// Whether a `Ready` is being made durable.
    public var isPersisting: Bool { readyInFlight != nil }

    // MARK: Inputs

    /// Advances time by `elapsedTicks` (a `TickClock` reading; 1 when the
    /// timer kept time): the replica's clock, which dates read confirmations
    /// and request deadlines, moves by all of it; the core's timers tick as
    /// often, up to one election timeout (more would only repeat heartbeats
    /// and campaigns already due); and the deadlines of waiting requests are
    /// swept whenever a multiple of `expiryIntervalTicks` is passed.
    public mutating func tick(elapsedTicks: UInt64 = 1) {
        guard stopReason == nil else { return }
        defer { checkInvariants() }
        precondition(elapsedTicks >= 1, "a tick advances time")
        // The negative control: time the process did not run is not counted.
        let elapsed = configuration.injectedBug == .pausedTimeUncounted ? 1 : elapsedTicks
        let before = tickCount
        tickCount += elapsed
        for _ in 0..<min(elapsed, UInt64(raft.configuration.electionTimeoutTicks)) { raft.tick() }
        if tickCount / configuration.expiryIntervalTicks != before / configuration.expiryIntervalTicks { expireWaiters() }
    }

    /// A message from a peer.
    public mutating func receive(_ message: RaftMessage) {
        guard stopReason == nil else { return }
        defer { checkInvariants() }
        raft.step(message)
    }

    /// Hands leadership to `target` (thesis §3.10).
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        defer { checkInvariants() }
        try raft.transferLeadership(to: target)
    }

    /// Proposes a single-server membership change (thesis §4.1).
    @discardableResult
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(RaftError) -> ProposalOutcome {
        defer { checkInvariants() }
        return try raft.proposeMembershipChange(change)
    }

    /// Stops for good: every waiting request fails with `stopped`.
    public mutating func stop(reason: String) {
        guard stopReason == nil else { return }
        stopReason = reason
        failAllWaiters(.stopped(reason))
        checkInvariants()
    }

    // MARK: Invariants

    func checkInvariants() {
        precondition(pendingWriteCount >= 0 && pendingReadCount >= 0, "negative pending counts")
        precondition(
            pendingWriteCount >= proposalQueue.count + writeWaiters.count,
            "pending writes \(pendingWriteCount) < queued \(proposalQueue.count) + waiting \(writeWaiters.count)")
        precondition(writesByKey.count <= proposalQueue.count + writeWaiters.count, "more keys than writes in flight")
        precondition(pendingWriteCount <= configuration.maximumPendingWrites, "pending writes beyond the limit")
        precondition(pendingReadCount <= configuration.maximumPendingReads, "pending reads beyond the limit")
        precondition(machine.appliedIndex <= raft.commitIndex, "machines applied beyond the commit index")
        if readyInFlight == nil {
            let pendingSnapshotIndex = raft.pendingSnapshotIndex
            // A snapshot the core received counts as applied there at once; the
            // machines take it with the next Ready.
            precondition(
                machine.appliedIndex == raft.appliedIndex
                    || (pendingSnapshotIndex == raft.appliedIndex && machine.appliedIndex < raft.appliedIndex),
                "between Readies the machines (\(machine.appliedIndex)) and the core (\(raft.appliedIndex)) agree")
            precondition(!messagesHeld, "messages held without a Ready in flight")
        }
        precondition(checkpointsInFlight >= 0, "negative checkpoints in flight")
        if stopReason != nil {
            precondition(pendingWriteCount == 0 && pendingReadCount == 0, "a stopped replica holds no requests")
        }
        // O(n) bookkeeping: in debug builds and in the simulator's tests.
        assert(
            pendingWriteCount
                == proposalQueue.reduce(0) { $0 + $1.tokens.count } + writeWaiters.values.reduce(0) { $0 + $1.tokens.count },
            "pending writes ≠ the requests held")
        assert(
            writesByKey.allSatisfy { key, location in
                switch location {
                case .queued(let position): position < proposalQueue.count && proposalQueue[position].key == key
                case .proposed(let index): writeWaiters[index]?.key == key
                }
            }, "an idempotency key points at another write")
        assert(
            pendingReadCount
                == readQueue.count + readBatches.values.reduce(0) { $0 + $1.waiters.count }
                + readsAwaitingApply.reduce(0) { $0 + $1.batch.waiters.count } + catchUpWaiters.count,
            "pending reads ≠ the waiters held")
        assert(
            writeWaiters.keys.allSatisfy { $0 > machine.appliedIndex.rawValue },
            "a write waits for an index already applied")
    }
}

/// What a replica has done over its life, as counters a runtime exports.
public struct ReplicaStatistics: Sendable, Hashable {
    /// Committed entries applied (commands, empty and configuration entries).
    public var committedEntries: UInt64 = 0
    /// Commands applied to the machines.
    public var appliedCommands: UInt64 = 0
    /// Writes whose log position another leader's entry took.
    public var writesLost: UInt64 = 0
    /// Linearizable read batches confirmed by the core.
    public var readStates: UInt64 = 0

    public init() {}
}
