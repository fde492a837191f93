import ChorusCore
import ChorusKeyValue
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// The runtime of one node: it owns the `RaftNode`, the key-value state
/// machine and the transport, and it lives on one event loop. Every method
/// runs on that loop, so the core needs no lock (DESIGN.md §7); other
/// threads reach it only through `ChorusNode`, which hops here.
///
/// **The Ready loop** (the `Ready` contract, etcd raft's `RawNode` usage):
///
/// ```
///  proposals, reads, messages, ticks ──▶ RaftNode ──ready()──▶ persist ──fsync──▶ send
///                                              ▲                               │
///                                              └──advance()◀── serve reads ◀── apply
/// ```
///
/// 1. `pump()` takes a `Ready` only when none is in flight.
/// 2. Persist: a received snapshot is saved as a checkpoint (storage
///    snapshot); entries and hard state become log records, appended with one
///    call whose completion (on the log's writer thread, after its fdatasync)
///    hops back to this loop.
/// 3. Then send the messages, apply the snapshot and committed entries to the
///    store, hand confirmed reads their read index, serve what is applied,
///    and `advance`.
///
/// While a `Ready` is being made durable, proposals keep arriving; they are
/// appended to the core's log and leave together in the next `Ready`, so one
/// fsync covers every write that arrived during the previous one (group
/// commit, without a timer). Proposals that arrive in one loop turn are
/// proposed as one batch (`propose(batch:)`), and reads that arrive in one
/// turn share one ReadIndex request.
///
/// **Write completion.** A write proposed at (index, term) completes when the
/// entry at that index is applied: with its result if the applied entry has
/// that term, as `proposalLost` if another term's entry took the index (thesis
/// §6.3: a leader's uncommitted suffix can be replaced), and as
/// `outcomeUnknown` on timeout. Never a false success.
final class NodeCore {
    let configuration: NodeConfiguration
    let loop: any EventLoop
    let logger: Logger
    let metrics = NodeMetrics()
    let storage: DurableStorage
    let threadPool: NIOThreadPool
    var raft: RaftNode
    var store: KeyValueStore
    var transport: PeerTransport
    var peerHTTPURLs: [NodeID: String] = [:]
    /// Accepted peer connections now open, handshaken or not (on the loop).
    var inboundConnections = 0
    /// Each peer needs one; a few more allow for reconnects racing the old
    /// connection's close.
    var inboundConnectionsMaximum: Int { 4 * configuration.peers.count + 4 }
    /// Called once if the node stops for good (a storage failure).
    let onFatalError: @Sendable (String) -> Void

    // The Ready pipeline.
    var readyInFlight = false
    var pumpScheduled = false
    var durableLastIndex: LogIndex
    var durableHardState: HardState
    var checkpointsInFlight = 0
    /// A compaction whose store snapshot is being serialized off the loop.
    var compactionInProgress = false
    /// A serialized store snapshot waiting for the gap between two `Ready`s.
    var preparedSnapshot: (index: LogIndex, data: [UInt8])?
    var checkpointChain: EventLoopFuture<Void>
    var lastLeader: NodeID = .none
    /// The core's `readRoundsConfirmed` already exported as a metric.
    var readRoundsExported: UInt64 = 0
    var stopReason: String?
    var tickTask: RepeatedTask?
    var tickCount: UInt64 = 0

    // Writes.
    var proposalQueue: [PendingProposal] = []
    var proposalFlushScheduled = false
    var writeWaiters: [UInt64: WriteWaiter] = [:]
    var pendingWriteCount = 0

    // Reads.
    var readQueue: [ReadWaiter] = []
    var readFlushScheduled = false
    var readBatches: [UInt64: ReadBatch] = [:]
    var readsAwaitingApply: [(index: LogIndex, batch: ReadBatch)] = []
    var sequentialWaiters: [(minimumIndex: LogIndex, waiter: ReadWaiter)] = []
    var pendingReadCount = 0
    var nextReadContext: UInt64 = 0

    typealias WriteContinuation = CheckedContinuation<Result<WriteOutcome, NodeError>, Never>
    typealias ReadContinuation = CheckedContinuation<Result<ReadOutcome, NodeError>, Never>

    struct PendingProposal {
        var command: [UInt8]
        var continuation: WriteContinuation
    }

    struct WriteWaiter {
        var term: Term
        var deadlineTick: UInt64
        var continuation: WriteContinuation
    }

    struct ReadWaiter {
        var key: String
        var deadlineTick: UInt64
        var continuation: ReadContinuation
    }

    struct ReadBatch {
        var deadlineTick: UInt64
        var waiters: [ReadWaiter]
        /// The leader the request went to (this node, or the one it was forwarded to).
        var leader: NodeID
    }

    init(
        configuration: NodeConfiguration, loop: any EventLoop, logger: Logger, storage: DurableStorage,
        threadPool: NIOThreadPool, raft: RaftNode, store: KeyValueStore, recovered: RecoveredRaftState,
        seed: UInt64, onFatalError: @escaping @Sendable (String) -> Void
    ) {
        loop.preconditionInEventLoop()
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.storage = storage
        self.threadPool = threadPool
        self.raft = raft
        self.store = store
        self.durableLastIndex = recovered.lastIndex
        self.durableHardState = recovered.hardState
        self.onFatalError = onFatalError
        self.checkpointChain = loop.makeSucceededVoidFuture()
        self.transport = PeerTransport(
            configuration: configuration, loop: loop, logger: logger, metrics: metrics, seed: seed)
        metrics.term.record(Int64(raft.term.rawValue))
    }

    // MARK: Lifecycle

    func start() {
        loop.preconditionInEventLoop()
        transport.start()
        let bound = NIOLoopBound(self, eventLoop: loop)
        let interval = TimeAmount.milliseconds(Int64(configuration.tickMilliseconds))
        tickTask = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            bound.value.tick()
        }
        schedulePump()
    }

    /// Stops everything on the loop: timers, connections, waiters.
    func stop(reason: String) {
        loop.preconditionInEventLoop()
        guard stopReason == nil else { return }
        stopReason = reason
        tickTask?.cancel()
        tickTask = nil
        transport.close()
        failAllWaiters(.stopped(reason))
    }

    /// A storage failure: the node cannot go on without risking an acknowledged
    /// write (a failed fsync is not retried; see `WriteAheadLogError.failed`).
    func fail(_ reason: String) {
        guard stopReason == nil else { return }
        logger.critical("stopping the node: \(reason)")
        // The handler first: the executable exits there, before any waiting
        // request could be answered from a node that is no longer trusted.
        onFatalError(reason)
        stop(reason: reason)
    }

    func failAllWaiters(_ error: NodeError) {
        for proposal in proposalQueue { proposal.continuation.resume(returning: .failure(error)) }
        proposalQueue = []
        for key in writeWaiters.keys.sorted() {
            writeWaiters[key]!.continuation.resume(returning: .failure(error))
        }
        writeWaiters = [:]
        pendingWriteCount = 0
        for waiter in readQueue { waiter.continuation.resume(returning: .failure(error)) }
        readQueue = []
        for context in readBatches.keys.sorted() {
            for waiter in readBatches[context]!.waiters { waiter.continuation.resume(returning: .failure(error)) }
        }
        readBatches = [:]
        for entry in readsAwaitingApply {
            for waiter in entry.batch.waiters { waiter.continuation.resume(returning: .failure(error)) }
        }
        readsAwaitingApply = []
        for entry in sequentialWaiters { entry.waiter.continuation.resume(returning: .failure(error)) }
        sequentialWaiters = []
        pendingReadCount = 0
    }

    // MARK: Inputs

    func tick() {
        guard stopReason == nil else { return }
        tickCount += 1
        raft.tick()
        // Sweep expired waiters ten times per second.
        if tickCount % UInt64(max(1, 100 / configuration.tickMilliseconds)) == 0 { expireWaiters() }
        schedulePump()
    }

    func receive(_ message: RaftMessage) {
        guard stopReason == nil else { return }
        metrics.messagesReceived.increment()
        raft.step(message)
        schedulePump()
    }

    func peerIntroduced(_ peer: NodeID, httpURL: String) {
        if peerHTTPURLs[peer] != httpURL {
            logger.info("peer connected", metadata: ["peer": "\(peer)", "http": "\(httpURL)"])
        }
        peerHTTPURLs[peer] = httpURL
    }

    func ticks(milliseconds: Int) -> UInt64 {
        UInt64(max(1, (milliseconds + configuration.tickMilliseconds - 1) / configuration.tickMilliseconds))
    }

    /// The error that tells a client where to go instead.
    func notLeaderError(hint: NodeID?) -> NodeError {
        let leader = hint ?? (raft.leaderID == .none ? nil : raft.leaderID)
        guard let leader, leader != configuration.nodeID else { return .noLeader }
        return .notLeader(leader: leader, leaderURL: peerHTTPURLs[leader])
    }
}
