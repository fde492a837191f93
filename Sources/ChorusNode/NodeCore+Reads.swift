import ChorusCore
import ChorusKeyValue
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// Reads: linearizable reads batched into one ReadIndex request per loop turn, and sequential reads served from the applied state.
extension NodeCore {
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

    func serveReads(_ batch: ReadBatch) {
        pendingReadCount -= batch.waiters.count
        let applied = store.appliedIndex
        for waiter in batch.waiters {
            waiter.continuation.resume(returning: .success(ReadOutcome(record: store.get(waiter.key), appliedIndex: applied)))
        }
    }

    /// Serves every read whose index is now applied.
    func serveAppliedReads() {
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

    func expireWaiters() {
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
}
