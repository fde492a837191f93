import CoreMetrics
import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusRaft
import ChorusReplica
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// The runtime of one node: an interpreter of one `RaftReplica`'s effects on
/// real files, sockets and timers. It lives on one event loop; every method
/// runs there, so the replica needs no lock (DESIGN.md §7), and other threads
/// reach it only through `ChorusNode`, which hops here.
///
/// The Ready loop itself (batching, early apply, persist-before-send, write
/// completion, read admission, compaction) is `RaftReplica`'s, the same one
/// the simulator runs; see its documentation. What is the node's own:
///
/// - **Batching per loop turn.** Inputs schedule one `drive()` with
///   `loop.execute`, so every request that arrived in this turn joins one
///   proposal batch and one ReadIndex request.
/// - **Persistence.** A `persist` effect becomes log records appended with
///   one call whose completion (on the log's writer thread, after its
///   fdatasync) hops back here and calls `persisted`; a snapshot from the
///   leader is saved first, as a checkpoint. A commit-index-only change is not
///   written (it is written lazily with the next record that must be synced).
/// - **Snapshots** are serialized on the thread pool, and checkpoints are
///   saved there one after another.
/// - **Continuations**: every request is a token; its answer resumes the
///   caller's continuation.
final class NodeCore {
    let configuration: NodeConfiguration
    let loop: any EventLoop
    let logger: Logger
    let metrics = NodeMetrics()
    let storage: DurableStorage
    let threadPool: NIOThreadPool
    var replica: RaftReplica<ReplicatedMachines>
    var transport: PeerTransport
    var peerHTTPURLs: [NodeID: String] = [:]
    /// Accepted peer connections now open: one slot per peer, and a pool for
    /// strangers before their handshake (a few per peer, for reconnects
    /// racing the old connection's close).
    lazy var inboundPeers = InboundPeerSlots<InboundPeerHandler>(strangersMaximum: 4 * configuration.peers.count + 4)
    /// Called once if the node stops for good (a storage failure).
    let onFatalError: @Sendable (String) -> Void

    var driveScheduled = false
    var checkpointChain: EventLoopFuture<Void>
    var lastLeader: NodeID = .none
    /// What has been exported as metrics already.
    var exported = ReplicaStatistics()
    var readRoundsExported: UInt64 = 0
    var stopReason: String?
    var tickTask: RepeatedTask?
    /// This node's leaderless keyspaces, on this loop too (`LeaderlessCore`).
    var leaderless: LeaderlessCore?
    /// The applied index at which the catalog was last handed to `leaderless`.
    var catalogCheckedAt: LogIndex = .zero
    /// The replica's time, from the uptime clock: a SIGSTOP or a starved
    /// loop makes the repeating timer fire late, never makes time stand still.
    var clock: TickClock

    // Requests in flight, by token.
    var nextToken: UInt64 = 0
    var writeContinuations: [RequestToken: WriteContinuation] = [:]
    var readContinuations: [RequestToken: ReadContinuation] = [:]
    /// The node's own proposal of a cluster epoch, while it is in flight.
    var epochProposal: RequestToken?

    typealias WriteResultType = WriteResult<ReplicatedMachines.Output>
    typealias ReadResultType = ReadResult<ReplicatedMachines.Answer>
    typealias WriteContinuation = CheckedContinuation<Result<WriteResultType, NodeError>, Never>
    typealias ReadContinuation = CheckedContinuation<Result<ReadResultType, NodeError>, Never>

    init(
        configuration: NodeConfiguration, loop: any EventLoop, logger: Logger, storage: DurableStorage,
        threadPool: NIOThreadPool, replica: RaftReplica<ReplicatedMachines>, seed: UInt64, tls: PeerTLS? = nil,
        onFatalError: @escaping @Sendable (String) -> Void
    ) {
        loop.preconditionInEventLoop()
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.storage = storage
        self.threadPool = threadPool
        self.replica = replica
        self.onFatalError = onFatalError
        self.checkpointChain = loop.makeSucceededVoidFuture()
        self.clock = TickClock(
            intervalMicroseconds: UInt64(configuration.tickMilliseconds) * 1_000,
            startMicroseconds: Self.localMicroseconds(rate: configuration.clockRate))
        self.transport = PeerTransport(
            configuration: configuration, loop: loop, logger: logger, metrics: metrics, tls: tls, seed: seed)
        metrics.term.record(Int64(replica.raft.term.rawValue))
    }

    var raft: RaftNode { replica.raft }

    // MARK: Lifecycle

    func start() {
        loop.preconditionInEventLoop()
        transport.start()
        let bound = NIOLoopBound(self, eventLoop: loop)
        // A tick of this node's clock, in real time (`clockRate` is 1 outside tests).
        let interval = TimeAmount.microseconds(Int64(Double(configuration.tickMilliseconds * 1_000) / configuration.clockRate))
        tickTask = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            bound.value.tick()
        }
        scheduleDrive()
    }

    /// Stops everything on the loop: timers, connections, waiters.
    func stop(reason: String) {
        loop.preconditionInEventLoop()
        guard stopReason == nil else { return }
        stopReason = reason
        tickTask?.cancel()
        tickTask = nil
        leaderless?.stop(reason: reason)
        transport.close()
        replica.stop(reason: reason)
        interpret(replica.takeEffects())
        precondition(writeContinuations.isEmpty && readContinuations.isEmpty, "a stopped node answers every request")
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

    // MARK: Inputs

    func tick() {
        guard stopReason == nil else { return }
        replica.tick(elapsedTicks: clock.timerFired(atMicroseconds: Self.localMicroseconds(rate: configuration.clockRate)))
        handCatalogToLeaderless()
        scheduleDrive()
    }

    /// Counts time the timer has not: after a pause, a request can be
    /// handled before the late timer fires, and must see the time that passed.
    func catchUpClock() {
        let due = clock.catchUp(atMicroseconds: Self.localMicroseconds(rate: configuration.clockRate))
        if due > 0 { replica.tick(elapsedTicks: due) }
    }

    static func uptimeMicroseconds() -> UInt64 { NIODeadline.now().uptimeNanoseconds / 1_000 }

    /// This node's clock: the uptime clock at `rate` (1 but in clock-skew tests).
    static func localMicroseconds(rate: Double) -> UInt64 {
        rate == 1 ? uptimeMicroseconds() : UInt64(Double(uptimeMicroseconds()) * rate)
    }

    func receive(_ message: RaftMessage) {
        guard stopReason == nil else { return }
        metrics.messagesReceived.increment()
        replica.receive(message)
        scheduleDrive()
    }

    func submitWrite(_ command: ReplicatedMachines.Command, key: IdempotencyKey?, continuation: WriteContinuation) {
        let token = makeToken()
        writeContinuations[token] = continuation
        catchUpClock()
        replica.submitWrite(command.encoded(), key: key, token: token)
        afterRequest()
    }

    func submitRead(_ query: ReplicatedMachines.Query, requirement: ReadRequirement, continuation: ReadContinuation) {
        metrics.reads.increment()
        let token = makeToken()
        readContinuations[token] = continuation
        catchUpClock()
        replica.submitRead(query, requirement: requirement, token: token)
        afterRequest()
    }

    /// A stopped node answers at once (the replica refused the request with
    /// `stopped`); a running one answers from the next drive.
    private func afterRequest() {
        if stopReason != nil {
            interpret(replica.takeEffects())
        } else {
            scheduleDrive()
        }
    }

    /// Gives the leaderless runtime the catalog's leaderless keyspaces when
    /// the applied log moved (a keyspace created anywhere is served here
    /// within a tick of this node applying it).
    func handCatalogToLeaderless() {
        guard let leaderless, replica.machine.appliedIndex != catalogCheckedAt else { return }
        catalogCheckedAt = replica.machine.appliedIndex
        leaderless.catalogChanged(LeaderlessKeyspaces.configurations(in: replica.machine.keyValue))
    }

    func makeToken() -> RequestToken {
        nextToken += 1
        return RequestToken(nextToken)
    }

    func peerIntroduced(_ peer: NodeID, httpURL: String) {
        if peerHTTPURLs[peer] != httpURL {
            logger.info("peer connected", metadata: ["peer": "\(peer)", "http": "\(httpURL)"])
        }
        peerHTTPURLs[peer] = httpURL
    }

    /// The HTTP URL of `leader`, if this node knows it.
    func httpURL(of node: NodeID) -> String? {
        node == configuration.nodeID ? configuration.advertisedHTTPURL : peerHTTPURLs[node]
    }
}
