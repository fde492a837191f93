import ChorusCore
import ChorusRaft

/// Reads: linearizable reads batched into one ReadIndex request per pump, and
/// reads of the applied state once it has reached a minimum index.
extension RaftReplica {
    /// Queues a read; its answer comes as a `readCompleted` effect (at once
    /// when the replica can already serve it).
    public mutating func submitRead(_ query: Machine.Query, requirement: ReadRequirement, token: RequestToken) {
        defer { checkInvariants() }
        if let stopReason {
            effects.append(.readCompleted(token, .failure(.stopped(stopReason))))
            return
        }
        var requirement = requirement
        switch (configuration.injectedBug, requirement) {
        case (.sessionReadBeforeCatchUp, .appliedAtLeast), (.stalenessBoundIgnored, .boundedStaleness):
            requirement = .immediate
        default:
            break
        }
        switch requirement {
        case .immediate:
            effects.append(.readCompleted(token, .success(answer(query, staleness: nil))))
        case .appliedAtLeast(let minimumIndex):
            waitForApplied(minimumIndex, query: query, staleness: nil, token: token)
        case .linearizable:
            // Whether a leader is known is the core's call (`readIndex` throws
            // `notLeader`), made for the whole batch in `flushReads`.
            guard admitRead(token) else { return }
            readQueue.append(ReadWaiter(
                query: query, deadlineTick: tickCount + configuration.readTimeoutTicks, token: token, staleness: .none))
        case .boundedStaleness(let maximumVersions, let maximumLagTicks):
            precondition(maximumVersions != nil || maximumLagTicks != nil, "a bounded-staleness read names a bound")
            if maximumVersions == nil, let maximumLagTicks, let freshness, lag(since: freshness.tick) <= maximumLagTicks {
                // The latest confirmation is recent enough: no round trip.
                let staleness = Staleness(maximumMissingEntries: nil, maximumLagTicks: lag(since: freshness.tick))
                waitForApplied(freshness.index, query: query, staleness: staleness, token: token)
                return
            }
            guard admitRead(token) else { return }
            // K alone: anything within K entries of the confirmed index. With T
            // too, K's slack may not reach below a confirmation recent enough
            // for T; without one, the confirmation this read asks for is it.
            var slack = maximumVersions ?? 0
            var floor = LogIndex.zero
            if let maximumLagTicks {
                if let freshness, lag(since: freshness.tick) <= maximumLagTicks { floor = freshness.index } else { slack = 0 }
            }
            readQueue.append(ReadWaiter(
                query: query, deadlineTick: tickCount + configuration.readTimeoutTicks, token: token, slack: slack, floor: floor,
                staleness: Staleness(maximumMissingEntries: slack, maximumLagTicks: nil)))
        }
    }

    /// The ticks since `tick`, as an upper bound on real time: one more tick
    /// for the granularity, stretched by the clock-drift bound.
    func lag(since tick: UInt64) -> UInt64 {
        let elapsed = tickCount - tick + 1
        let drift = UInt64(configuration.clockDriftBoundPartsPerThousand)
        return (elapsed * (1_000 + drift) + 999) / 1_000
    }

    /// Serves `query` once the machines have applied `minimumIndex`, waiting
    /// up to `catchUpWaitTicks` (answered `notCaughtUp` past it).
    private mutating func waitForApplied(
        _ minimumIndex: LogIndex, query: Machine.Query, staleness: Staleness?, token: RequestToken
    ) {
        if machine.appliedIndex >= minimumIndex {
            effects.append(.readCompleted(token, .success(answer(query, staleness: staleness))))
            return
        }
        guard admitRead(token) else { return }
        let waiter = ReadWaiter(
            query: query, deadlineTick: tickCount + configuration.catchUpWaitTicks, token: token, staleness: staleness)
        catchUpWaiters.append((minimumIndex, waiter))
    }

    private mutating func admitRead(_ token: RequestToken) -> Bool {
        guard pendingReadCount < configuration.maximumPendingReads else {
            effects.append(.readCompleted(
                token, .failure(.overloaded(.pendingReads(limit: configuration.maximumPendingReads)))))
            return false
        }
        pendingReadCount += 1
        return true
    }

    func answer(_ query: Machine.Query, staleness: Staleness?) -> ReadResult<Machine.QueryResult> {
        ReadResult(value: machine.read(query), appliedIndex: machine.appliedIndex, staleness: staleness)
    }

    /// One ReadIndex request for every linearizable read queued since the last pump.
    mutating func flushReads() {
        guard !readQueue.isEmpty else { return }
        let waiters = readQueue
        readQueue = []
        nextReadContext += 1
        let context = nextReadContext
        do {
            try raft.readIndex(context: context)
        } catch {
            let failure: ReplicaError
            switch error {
            case .notLeader(let hint): failure = hint.map { .notLeader(leader: $0) } ?? .noLeader
            case .proposalDropped(let reason): failure = .overloaded(.raft(reason))
            default: preconditionFailure("readIndex threw \(error)")
            }
            pendingReadCount -= waiters.count
            for waiter in waiters { effects.append(.readCompleted(waiter.token, .failure(failure))) }
            return
        }
        effects.append(.readIndexRequested(reads: waiters.count))
        let deadline = waiters.map(\.deadlineTick).max() ?? tickCount
        readBatches[context] = ReadBatch(
            deadlineTick: deadline, waiters: waiters, leader: raft.leaderID, requestedAtTick: tickCount)
    }

    /// A batch whose ReadIndex was confirmed at `index`: each read is served
    /// once the machines have applied `index` less its slack; the confirmation
    /// becomes the replica's freshness (for later bounded-staleness reads).
    mutating func confirmed(_ batch: ReadBatch, at index: LogIndex) {
        if freshness.map({ batch.requestedAtTick >= $0.tick }) ?? true {
            freshness = (batch.requestedAtTick, max(index, freshness?.index ?? .zero))
        }
        var waiting: [ReadWaiter] = []
        for waiter in batch.waiters {
            let required = max(LogIndex(index.rawValue - min(waiter.slack, index.rawValue)), waiter.floor)
            if machine.appliedIndex >= required {
                pendingReadCount -= 1
                effects.append(.readCompleted(waiter.token, .success(answer(waiter.query, staleness: waiter.staleness))))
            } else if waiter.slack == 0 {
                waiting.append(waiter)
            } else {
                catchUpWaiters.append((required, waiter))
            }
        }
        if !waiting.isEmpty {
            var rest = batch
            rest.waiters = waiting
            readsAwaitingApply.append((index, rest))
        }
    }

    mutating func serve(_ batch: ReadBatch) {
        pendingReadCount -= batch.waiters.count
        for waiter in batch.waiters {
            effects.append(.readCompleted(waiter.token, .success(answer(waiter.query, staleness: waiter.staleness))))
        }
    }

    mutating func fail(_ batch: ReadBatch, _ error: ReplicaError) {
        pendingReadCount -= batch.waiters.count
        for waiter in batch.waiters { effects.append(.readCompleted(waiter.token, .failure(error))) }
    }

    /// Serves every read whose index is now applied.
    mutating func serveAppliedReads() {
        let applied = machine.appliedIndex
        if !readsAwaitingApply.isEmpty {
            var remaining: [(index: LogIndex, batch: ReadBatch)] = []
            for entry in readsAwaitingApply {
                if entry.index <= applied { serve(entry.batch) } else { remaining.append(entry) }
            }
            readsAwaitingApply = remaining
        }
        if !catchUpWaiters.isEmpty {
            var remaining: [(minimumIndex: LogIndex, waiter: ReadWaiter)] = []
            for entry in catchUpWaiters {
                if entry.minimumIndex <= applied {
                    pendingReadCount -= 1
                    effects.append(.readCompleted(
                        entry.waiter.token, .success(answer(entry.waiter.query, staleness: entry.waiter.staleness))))
                } else {
                    remaining.append(entry)
                }
            }
            catchUpWaiters = remaining
        }
    }

    /// Answers every request whose deadline has passed.
    mutating func expireWaiters() {
        let now = tickCount
        let expiredWrites = writeWaiters.filter { $0.value.deadlineTick <= now }.keys.sorted()
        for index in expiredWrites {
            let waiter = removeWriteWaiter(at: index)!
            answer(waiter.tokens, .failure(.outcomeUnknown(.timedOut(ticks: configuration.writeTimeoutTicks))))
        }
        for context in readBatches.keys.sorted() where readBatches[context]!.deadlineTick <= now {
            fail(readBatches.removeValue(forKey: context)!, .readTimeout)
        }
        if readsAwaitingApply.contains(where: { $0.batch.deadlineTick <= now }) {
            var remaining: [(index: LogIndex, batch: ReadBatch)] = []
            for entry in readsAwaitingApply {
                if entry.batch.deadlineTick <= now { fail(entry.batch, .readTimeout) } else { remaining.append(entry) }
            }
            readsAwaitingApply = remaining
        }
        if catchUpWaiters.contains(where: { $0.waiter.deadlineTick <= now }) {
            var remaining: [(minimumIndex: LogIndex, waiter: ReadWaiter)] = []
            for entry in catchUpWaiters {
                guard entry.waiter.deadlineTick <= now else {
                    remaining.append(entry)
                    continue
                }
                pendingReadCount -= 1
                effects.append(.readCompleted(
                    entry.waiter.token,
                    .failure(.notCaughtUp(applied: machine.appliedIndex, wanted: entry.minimumIndex))))
            }
            catchUpWaiters = remaining
        }
    }
}
