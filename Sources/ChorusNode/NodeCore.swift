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

    private func failAllWaiters(_ error: NodeError) {
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

    // MARK: Writes

    func submitWrite(command: [UInt8], continuation: WriteContinuation) {
        if let stopReason {
            continuation.resume(returning: .failure(.stopped(stopReason)))
            return
        }
        guard raft.role == .leader else {
            metrics.proposalsRefused.increment()
            continuation.resume(returning: .failure(notLeaderError(hint: nil)))
            return
        }
        guard pendingWriteCount < configuration.maximumPendingWrites else {
            metrics.proposalsRefused.increment()
            continuation.resume(
                returning: .failure(.overloaded("\(pendingWriteCount) writes are pending (limit \(configuration.maximumPendingWrites))")))
            return
        }
        pendingWriteCount += 1
        proposalQueue.append(PendingProposal(command: command, continuation: continuation))
        if !proposalFlushScheduled {
            proposalFlushScheduled = true
            // Runs after the tasks already queued on the loop: every write that
            // arrived in this turn joins the batch.
            let bound = NIOLoopBound(self, eventLoop: loop)
            loop.execute { bound.value.flushProposals() }
        }
    }

    func flushProposals() {
        proposalFlushScheduled = false
        guard stopReason == nil else { return }
        var start = 0
        while start < proposalQueue.count {
            let end = min(proposalQueue.count, start + configuration.maximumProposalBatch)
            let batch = proposalQueue[start..<end]
            start = end
            do {
                let outcome = try raft.propose(batch: batch.map(\.command))
                guard case .appended(let last, let term) = outcome else {
                    failWrites(batch, .outcomeUnknown("the proposal was forwarded"))
                    continue
                }
                let deadline = tickCount + ticks(milliseconds: configuration.writeTimeoutMilliseconds)
                var index = last.rawValue - UInt64(batch.count) + 1
                for proposal in batch {
                    writeWaiters[index] = WriteWaiter(term: term, deadlineTick: deadline, continuation: proposal.continuation)
                    index += 1
                }
                metrics.proposals.increment(by: Int64(batch.count))
                metrics.proposalBatches.increment()
                metrics.proposalBatchSize.record(batch.count)
            } catch .notLeader(let hint) {
                failWrites(batch, notLeaderError(hint: hint))
            } catch .leadershipTransferInProgress(let target) {
                failWrites(batch, notLeaderError(hint: target))
            } catch {
                failWrites(batch, .overloaded(error.description))
            }
        }
        proposalQueue.removeAll(keepingCapacity: true)
        schedulePump()
    }

    private func failWrites(_ batch: ArraySlice<PendingProposal>, _ error: NodeError) {
        metrics.proposalsRefused.increment(by: Int64(batch.count))
        pendingWriteCount -= batch.count
        for proposal in batch { proposal.continuation.resume(returning: .failure(error)) }
    }

    /// Completes the write waiting for `index`, if any, now that the entry of
    /// `term` was applied there.
    private func completeWrite(at index: LogIndex, term: Term, result: KeyValueResult?) {
        guard let waiter = writeWaiters.removeValue(forKey: index.rawValue) else { return }
        pendingWriteCount -= 1
        if waiter.term == term, let result {
            waiter.continuation.resume(
                returning: .success(WriteOutcome(index: index, result: result, appliedIndex: store.appliedIndex)))
        } else {
            metrics.writesLost.increment()
            waiter.continuation.resume(returning: .failure(.proposalLost))
        }
    }

    // MARK: Reads

    func submitRead(key: String, consistency: ReadConsistency, minimumIndex: LogIndex, continuation: ReadContinuation) {
        if let stopReason {
            continuation.resume(returning: .failure(.stopped(stopReason)))
            return
        }
        metrics.reads.increment()
        switch consistency {
        case .sequential:
            if store.appliedIndex >= minimumIndex {
                continuation.resume(returning: .success(ReadOutcome(record: store.get(key), appliedIndex: store.appliedIndex)))
                return
            }
            guard pendingReadCount < configuration.maximumPendingReads else {
                continuation.resume(returning: .failure(.overloaded("too many pending reads")))
                return
            }
            pendingReadCount += 1
            let deadline = tickCount + ticks(milliseconds: configuration.sequentialWaitMilliseconds)
            sequentialWaiters.append(
                (minimumIndex, ReadWaiter(key: key, deadlineTick: deadline, continuation: continuation)))
        case .linearizable:
            // Whether a leader is known is the core's call (`readIndex` throws
            // `notLeader`), made for the whole batch in `flushReads`.
            guard pendingReadCount < configuration.maximumPendingReads else {
                continuation.resume(returning: .failure(.overloaded("too many pending reads")))
                return
            }
            pendingReadCount += 1
            let deadline = tickCount + ticks(milliseconds: configuration.readTimeoutMilliseconds)
            readQueue.append(ReadWaiter(key: key, deadlineTick: deadline, continuation: continuation))
            if !readFlushScheduled {
                readFlushScheduled = true
                let bound = NIOLoopBound(self, eventLoop: loop)
                loop.execute { bound.value.flushReads() }
            }
        }
    }

    /// One ReadIndex request for every read that arrived in this loop turn.
    func flushReads() {
        readFlushScheduled = false
        guard stopReason == nil, !readQueue.isEmpty else { return }
        let waiters = readQueue
        readQueue = []
        nextReadContext += 1
        let context = nextReadContext
        do {
            try raft.readIndex(context: context)
        } catch {
            let failure: NodeError
            switch error {
            case .notLeader: failure = .noLeader
            default: failure = .overloaded(error.description)
            }
            pendingReadCount -= waiters.count
            for waiter in waiters { waiter.continuation.resume(returning: .failure(failure)) }
            return
        }
        metrics.readIndexRequests.increment()
        metrics.readIndexBatchSize.record(waiters.count)
        let deadline = waiters.map(\.deadlineTick).max() ?? tickCount
        readBatches[context] = ReadBatch(deadlineTick: deadline, waiters: waiters, leader: raft.leaderID)
        schedulePump()
    }

    private func serveReads(_ batch: ReadBatch) {
        pendingReadCount -= batch.waiters.count
        let applied = store.appliedIndex
        for waiter in batch.waiters {
            waiter.continuation.resume(returning: .success(ReadOutcome(record: store.get(waiter.key), appliedIndex: applied)))
        }
    }

    /// Serves every read whose index is now applied.
    private func serveAppliedReads() {
        let applied = store.appliedIndex
        if !readsAwaitingApply.isEmpty {
            var remaining: [(index: LogIndex, batch: ReadBatch)] = []
            for entry in readsAwaitingApply {
                if entry.index <= applied { serveReads(entry.batch) } else { remaining.append(entry) }
            }
            readsAwaitingApply = remaining
        }
        if !sequentialWaiters.isEmpty {
            var remaining: [(minimumIndex: LogIndex, waiter: ReadWaiter)] = []
            for entry in sequentialWaiters {
                if entry.minimumIndex <= applied {
                    pendingReadCount -= 1
                    entry.waiter.continuation.resume(
                        returning: .success(ReadOutcome(record: store.get(entry.waiter.key), appliedIndex: applied)))
                } else {
                    remaining.append(entry)
                }
            }
            sequentialWaiters = remaining
        }
    }

    private func expireWaiters() {
        let now = tickCount
        let expiredWrites = writeWaiters.filter { $0.value.deadlineTick <= now }.keys.sorted()
        for index in expiredWrites {
            let waiter = writeWaiters.removeValue(forKey: index)!
            pendingWriteCount -= 1
            waiter.continuation.resume(returning: .failure(.outcomeUnknown("not applied within \(configuration.writeTimeoutMilliseconds) ms")))
        }
        for context in readBatches.keys.sorted() where readBatches[context]!.deadlineTick <= now {
            let batch = readBatches.removeValue(forKey: context)!
            pendingReadCount -= batch.waiters.count
            for waiter in batch.waiters { waiter.continuation.resume(returning: .failure(.readTimeout)) }
        }
        if readsAwaitingApply.contains(where: { $0.batch.deadlineTick <= now }) {
            var remaining: [(index: LogIndex, batch: ReadBatch)] = []
            for entry in readsAwaitingApply {
                guard entry.batch.deadlineTick <= now else {
                    remaining.append(entry)
                    continue
                }
                pendingReadCount -= entry.batch.waiters.count
                for waiter in entry.batch.waiters { waiter.continuation.resume(returning: .failure(.readTimeout)) }
            }
            readsAwaitingApply = remaining
        }
        if sequentialWaiters.contains(where: { $0.waiter.deadlineTick <= now }) {
            var remaining: [(minimumIndex: LogIndex, waiter: ReadWaiter)] = []
            for entry in sequentialWaiters {
                guard entry.waiter.deadlineTick <= now else {
                    remaining.append(entry)
                    continue
                }
                pendingReadCount -= 1
                entry.waiter.continuation.resume(
                    returning: .failure(.notCaughtUp(applied: store.appliedIndex, wanted: entry.minimumIndex)))
            }
            sequentialWaiters = remaining
        }
    }

    // MARK: The Ready loop

    func schedulePump() {
        guard !pumpScheduled, !readyInFlight, stopReason == nil else { return }
        pumpScheduled = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.execute { bound.value.pump() }
    }

    func pump() {
        pumpScheduled = false
        guard stopReason == nil, !readyInFlight, raft.hasReady else { return }
        let ready = raft.ready()
        readyInFlight = true
        metrics.readies.increment()
        if let soft = ready.softState { observe(soft) }
        applyEntriesDurableBefore(ready)

        guard ready.mustSync else {
            // Nothing that must be durable first (a commit-index-only change is
            // written lazily, with the next record that must be synced).
            finish(ready)
            return
        }
        if let snapshot = ready.snapshot {
            persistReceivedSnapshot(snapshot, ready: ready)
        } else {
            appendRecords(of: ready)
        }
    }

    /// Applies the committed entries that were already durable here before
    /// this `Ready` (at or below `durableLastIndex`, and below the first index
    /// the `Ready` rewrites), while the `Ready`'s own records are written.
    ///
    /// The contract orders "apply" after "persist" so that nothing is applied
    /// before it is durable; these entries are durable here already, and
    /// committed means durable on a quorum too. Applying them now takes one
    /// fsync off every write's path: the leader learns an entry is committed
    /// while it writes the next batch, and would otherwise wait for that
    /// batch's fsync before answering the client.
    private func applyEntriesDurableBefore(_ ready: Ready) {
        guard ready.snapshot == nil else { return }
        let rewrittenFrom = ready.entries.first?.index ?? durableLastIndex.next
        var appliedAny = false
        for entry in ready.committedEntries {
            guard entry.index <= durableLastIndex, entry.index < rewrittenFrom else { break }
            apply(entry)
            appliedAny = true
        }
        guard appliedAny else { return }
        metrics.appliedIndex.record(Int64(store.appliedIndex.rawValue))
        serveAppliedReads()
    }

    /// A snapshot from the leader is saved as a checkpoint (it can be far
    /// larger than a log record may be); the entries and hard state of the
    /// same `Ready` follow it as log records.
    private func persistReceivedSnapshot(_ snapshot: ChorusRaft.Snapshot, ready: Ready) {
        let hard = ready.hardState ?? durableHardState
        let checkpoint = Checkpoint(
            hardState: HardState(term: hard.term, vote: hard.vote, commit: snapshot.metadata.index),
            snapshot: snapshot, entries: [])
        let bound = NIOLoopBound(self, eventLoop: loop)
        saveCheckpoint(checkpoint).whenComplete { result in
            let core = bound.value
            switch result {
            case .success:
                core.durableLastIndex = snapshot.metadata.index
                core.durableHardState = checkpoint.hardState
                core.metrics.snapshotsInstalled.increment()
                core.appendRecords(of: ready)
            case .failure(let error):
                core.fail("cannot save a snapshot received from the leader: \(error)")
            }
        }
    }

    /// Appends the `Ready`'s entries and hard state as log records, then
    /// finishes the `Ready` once they are durable.
    private func appendRecords(of ready: Ready) {
        var units: [[[UInt8]]] = []
        var unit: [[UInt8]] = []
        var unitBytes = 0
        func add(_ record: [UInt8]) {
            let cost = record.count + 32
            if !unit.isEmpty
                && (unit.count >= configuration.storage.maximumBatchRecords
                    || unitBytes + cost > configuration.storage.maximumBatchBytes)
            {
                units.append(unit)
                unit = []
                unitBytes = 0
            }
            unit.append(record)
            unitBytes += cost
        }
        if !ready.entries.isEmpty {
            let recordLimit = configuration.storage.maximumRecordBytes - 64
            var first = 0
            var bytes = 0
            for (position, entry) in ready.entries.enumerated() {
                let size = entry.approximateByteCount + 8
                if position > first && bytes + size > recordLimit {
                    add(PersistenceRecord.entries(Array(ready.entries[first..<position])).encoded())
                    first = position
                    bytes = 0
                }
                bytes += size
            }
            add(PersistenceRecord.entries(first == 0 ? ready.entries : Array(ready.entries[first...])).encoded())
            metrics.entriesPersisted.increment(by: Int64(ready.entries.count))
            metrics.entriesPerReady.record(ready.entries.count)
        }
        if let hardState = ready.hardState { add(PersistenceRecord.hardState(hardState).encoded()) }
        if !unit.isEmpty { units.append(unit) }
        guard !units.isEmpty else {
            finish(ready)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let remaining = NIOLoopBoundBox(units.count, eventLoop: loop)
        let loop = self.loop
        for records in units {
            do {
                // The completion runs on the log's writer thread: hop back.
                try storage.log.append(contentsOf: records) { result in
                    loop.execute {
                        let core = bound.value
                        guard core.stopReason == nil else { return }
                        switch result {
                        case .success:
                            remaining.value -= 1
                            if remaining.value == 0 { core.persisted(ready) }
                        case .failure(let error):
                            core.fail("the write-ahead log failed: \(error)")
                        }
                    }
                }
            } catch {
                fail("the write-ahead log refused a Ready's records: \(error)")
                return
            }
        }
    }

    private func persisted(_ ready: Ready) {
        if let last = ready.entries.last { durableLastIndex = last.index }
        if let hardState = ready.hardState { durableHardState = hardState }
        finish(ready)
    }

    /// Steps 2–5 of the contract: send, apply, serve reads, advance.
    private func finish(_ ready: Ready) {
        guard stopReason == nil else { return }
        transport.send(ready.messages)

        if let snapshot = ready.snapshot { restore(snapshot) }
        if !ready.committedEntries.isEmpty {
            metrics.committedEntries.increment(by: Int64(ready.committedEntries.count))
            for entry in ready.committedEntries { apply(entry) }
            metrics.appliedIndex.record(Int64(store.appliedIndex.rawValue))
        }
        for readState in ready.readStates {
            metrics.readStates.increment()
            guard let batch = readBatches.removeValue(forKey: readState.context) else { continue }
            if readState.index <= store.appliedIndex {
                serveReads(batch)
            } else {
                readsAwaitingApply.append((readState.index, batch))
            }
        }
        if ready.softState != nil && !readBatches.isEmpty {
            // The leader changed: the core dropped the read requests it had not
            // confirmed under the previous leader (thesis §6.4). Fail them now
            // rather than at their deadline; the client retries at once.
            for context in readBatches.keys.sorted() where readBatches[context]!.leader != raft.leaderID {
                let batch = readBatches.removeValue(forKey: context)!
                pendingReadCount -= batch.waiters.count
                for waiter in batch.waiters { waiter.continuation.resume(returning: .failure(.readTimeout)) }
            }
        }
        raft.advance(ready)
        readyInFlight = false
        serveAppliedReads()
        metrics.commitIndex.record(Int64(raft.commitIndex.rawValue))
        if raft.readRoundsConfirmed > readRoundsExported {
            metrics.readIndexRounds.increment(by: Int64(raft.readRoundsConfirmed - readRoundsExported))
            readRoundsExported = raft.readRoundsConfirmed
        }
        maybeCompact()
        if raft.hasReady { schedulePump() }
    }

    private func apply(_ entry: LogEntry) {
        guard entry.index > store.appliedIndex else { return }
        switch entry.payload {
        case .command(let bytes):
            let applied = store.apply(commandBytes: bytes, at: entry.index)
            metrics.appliedCommands.increment()
            completeWrite(at: entry.index, term: entry.term, result: applied.result)
        case .empty, .configuration:
            store.skip(index: entry.index)
            completeWrite(at: entry.index, term: entry.term, result: nil)
        }
    }

    private func restore(_ snapshot: ChorusRaft.Snapshot) {
        if snapshot.metadata.index == .zero {
            store = KeyValueStore(limits: configuration.keyValue)
        } else {
            do {
                store = try KeyValueStore(restoring: snapshot.data, limits: configuration.keyValue)
            } catch {
                fail("a snapshot from the leader does not restore: \(error)")
                return
            }
        }
        // Writes the snapshot jumped over: whether they were applied is unknown here.
        for index in writeWaiters.keys.sorted() where index <= snapshot.metadata.index.rawValue {
            let waiter = writeWaiters.removeValue(forKey: index)!
            pendingWriteCount -= 1
            waiter.continuation.resume(returning: .failure(.outcomeUnknown("a snapshot replaced the log")))
        }
        logger.info("installed a snapshot", metadata: ["index": "\(snapshot.metadata.index.rawValue)"])
    }

    private func observe(_ soft: SoftState) {
        metrics.isLeader.record(soft.role == .leader ? 1 : 0)
        if soft.role == .candidate { metrics.campaigns.increment() }
        metrics.term.record(Int64(raft.term.rawValue))
        if soft.leader != lastLeader {
            metrics.leaderChanges.increment()
            if soft.leader == configuration.nodeID {
                metrics.elections.increment()
                logger.notice("became leader", metadata: ["term": "\(raft.term.rawValue)"])
            } else if soft.leader == .none {
                logger.info("no leader", metadata: ["term": "\(raft.term.rawValue)", "role": "\(soft.role)"])
            } else {
                logger.info("following", metadata: ["leader": "\(soft.leader)", "term": "\(raft.term.rawValue)"])
            }
            lastLeader = soft.leader
        }
    }

    // MARK: Snapshots and compaction

    /// Takes a snapshot of the store and compacts the log once enough entries
    /// are applied beyond the previous one (thesis §5.1), in three steps:
    ///
    /// 1. On the loop, between `Ready`s: copy the store (copy-on-write, so
    ///    the copy is O(1) here and the first later write pays one copy).
    /// 2. On the thread pool: serialize the copy (sorting and encoding every
    ///    key would otherwise stall the loop for milliseconds per 10k keys).
    /// 3. Back on the loop, again between `Ready`s: `compactLog`, then save a
    ///    checkpoint that covers every log record written so far; the log
    ///    segments below it are released once it is durable.
    private func maybeCompact() {
        guard !readyInFlight, stopReason == nil else { return }
        if let prepared = preparedSnapshot {
            preparedSnapshot = nil
            completeCompaction(through: prepared.index, data: prepared.data)
            return
        }
        guard !compactionInProgress, checkpointsInFlight == 0 else { return }
        let applied = store.appliedIndex
        guard applied == raft.appliedIndex,
            applied.rawValue >= raft.snapshotMetadata.index.rawValue + UInt64(configuration.snapshotThresholdEntries)
        else { return }
        compactionInProgress = true
        let copy = store
        let bound = NIOLoopBound(self, eventLoop: loop)
        threadPool.runIfActive(eventLoop: loop) { copy.snapshot() }.whenComplete { result in
            let core = bound.value
            switch result {
            case .success(let data):
                core.preparedSnapshot = (applied, data)
                core.maybeCompact()
            case .failure(let error):
                core.compactionInProgress = false
                core.logger.warning("snapshot serialization failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func completeCompaction(through index: LogIndex, data: [UInt8]) {
        compactionInProgress = false
        do {
            try raft.compactLog(through: index, snapshotData: data)
        } catch {
            // A snapshot from the leader may have overtaken this one.
            logger.info("compaction skipped", metadata: ["reason": "\(error)"])
            return
        }
        let entries = raft.entries.filter { $0.index <= durableLastIndex }
        let lastIndex = entries.last?.index ?? index
        let commit = min(max(durableHardState.commit, index), lastIndex)
        let checkpoint = Checkpoint(
            hardState: HardState(term: durableHardState.term, vote: durableHardState.vote, commit: commit),
            snapshot: ChorusRaft.Snapshot(metadata: raft.snapshotMetadata, data: data), entries: entries)
        let bound = NIOLoopBound(self, eventLoop: loop)
        saveCheckpoint(checkpoint).whenComplete { result in
            switch result {
            case .success:
                bound.value.metrics.snapshotsTaken.increment()
                bound.value.logger.info("snapshot saved", metadata: ["index": "\(index.rawValue)"])
            case .failure(let error):
                bound.value.fail("cannot save a snapshot: \(error)")
            }
        }
    }

    /// Saves a checkpoint off the loop, after any checkpoint already being
    /// saved. Its coverage is every record appended so far, all of which are
    /// durable here: records are appended only by the `Ready` in flight, and
    /// callers run between `Ready`s or before a `Ready`'s own records.
    private func saveCheckpoint(_ checkpoint: Checkpoint) -> EventLoopFuture<Void> {
        let coverage = storage.log.nextSequence
        let storage = self.storage
        let threadPool = self.threadPool
        let loop = self.loop
        checkpointsInFlight += 1
        let saved = checkpointChain.flatMap {
            threadPool.runIfActive(eventLoop: loop) {
                try storage.saveSnapshot(checkpoint.encoded(), coveringBelow: coverage)
            }
        }
        checkpointChain = saved.recover { _ in }
        let bound = NIOLoopBound(self, eventLoop: loop)
        saved.whenComplete { _ in bound.value.checkpointsInFlight -= 1 }
        return saved
    }

    /// Starts handing leadership to the most up-to-date follower (thesis
    /// §3.10), so a graceful shutdown of the leader costs the cluster a round
    /// trip instead of an election timeout. Returns the target, or nil when
    /// this node does not lead or has no follower to hand over to.
    func startLeadershipTransfer(excluding tried: Set<NodeID> = []) -> NodeID? {
        guard stopReason == nil, raft.role == .leader else { return nil }
        // Prefer a follower the leader is replicating to right now (not one
        // being probed or sent a snapshot), then the longest log, then the lowest id.
        let candidates = raft.status.followers.filter { raft.membership.isVoter($0.node) && !tried.contains($0.node) }
        func rank(_ follower: RaftStatus.FollowerStatus) -> (Int, UInt64, UInt64) {
            (follower.state == "StateReplicate" ? 1 : 0, follower.matchIndex.rawValue, UInt64.max - follower.node.rawValue)
        }
        guard let target = candidates.max(by: { rank($0) < rank($1) })?.node else { return nil }
        do {
            try raft.transferLeadership(to: target)
        } catch {
            return nil
        }
        logger.info("handing leadership over before shutting down", metadata: ["to": "\(target)"])
        schedulePump()
        return target
    }

    // MARK: Status

    func status() -> NodeStatus {
        let raftStatus = raft.status
        let statistics = storage.log.statistics
        let leader = raft.leaderID
        let leaderURL = leader == configuration.nodeID ? configuration.advertisedHTTPURL : peerHTTPURLs[leader]
        return NodeStatus(
            node: configuration.nodeID, role: raft.role, term: raft.term, leader: leader, leaderURL: leaderURL,
            commitIndex: raft.commitIndex, appliedIndex: store.appliedIndex, lastIndex: raft.lastIndex,
            snapshotIndex: raft.snapshotMetadata.index,
            members: configuration.members.map {
                NodeStatus.Member(
                    id: $0.id, peerAddress: $0.address.description,
                    httpURL: $0.id == configuration.nodeID ? configuration.advertisedHTTPURL : peerHTTPURLs[$0.id])
            },
            followers: raftStatus.followers, keyCount: store.keyCount,
            storage: NodeStatus.StorageStatus(
                fsyncCount: statistics.fsyncCount, acknowledgedRecords: statistics.acknowledgedRecords,
                recordsPerFsync: statistics.recordsPerFsync,
                fsyncMillisecondsAverage: statistics.fsyncCount == 0
                    ? 0 : Double(statistics.fsyncNanosecondsTotal) / Double(statistics.fsyncCount) / 1e6))
    }
}

