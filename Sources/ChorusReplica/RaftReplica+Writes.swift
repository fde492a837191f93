import ChorusCore
import ChorusRaft

/// Writes: queued, proposed as one batch per pump, completed when their entry is applied.
extension RaftReplica {
    /// Queues a command (machine tag first) for the next `pump()`. Refused at
    /// once, with the answer among the effects, when this replica does not
    /// lead, has stopped, or holds too many writes. A write whose `key` is
    /// already in flight here joins it: it is not proposed again, and is
    /// answered with the first one's outcome.
    public mutating func submitWrite(_ command: [UInt8], key: IdempotencyKey? = nil, token: RequestToken) {
        defer { checkInvariants() }
        if let stopReason {
            effects.append(.writeCompleted(token, .failure(.stopped(stopReason))))
            return
        }
        guard raft.role == .leader else {
            effects.append(.writeCompleted(token, .failure(notLeaderError(hint: nil))))
            return
        }
        guard pendingWriteCount < configuration.maximumPendingWrites else {
            effects.append(.writeCompleted(
                token, .failure(.overloaded(.pendingWrites(limit: configuration.maximumPendingWrites)))))
            return
        }
        pendingWriteCount += 1
        if let key, let location = writesByKey[key] {
            switch location {
            case .queued(let position): proposalQueue[position].tokens.append(token)
            case .proposed(let index): writeWaiters[index]!.tokens.append(token)
            }
            return
        }
        if let key { writesByKey[key] = .queued(position: proposalQueue.count) }
        proposalQueue.append(QueuedWrite(command: command, key: key, tokens: [token]))
    }

    /// Proposes the queued writes, `maximumProposalBatch` at a time.
    mutating func flushProposals() {
        guard !proposalQueue.isEmpty else { return }
        var start = 0
        while start < proposalQueue.count {
            let end = min(proposalQueue.count, start + configuration.maximumProposalBatch)
            let batch = proposalQueue[start..<end]
            start = end
            do {
                let outcome = try raft.propose(batch: batch.map(\.command))
                guard case .appended(let last, let term) = outcome else {
                    failWrites(batch, .outcomeUnknown(.forwarded))
                    continue
                }
                let deadline = tickCount + configuration.writeTimeoutTicks
                var index = last.rawValue - UInt64(batch.count) + 1
                for write in batch {
                    let waiter = WriteWaiter(term: term, deadlineTick: deadline, key: write.key, tokens: write.tokens)
                    if let replaced = writeWaiters.updateValue(waiter, forKey: index) {
                        // A write proposed at this index under an earlier term of
                        // ours: its entry was truncated for the one appended now.
                        precondition(replaced.term < term, "two proposals at index \(index) in term \(term)")
                        if let key = replaced.key, writesByKey[key] == .proposed(index: index) {
                            writesByKey[key] = nil
                        }
                        answer(replaced.tokens, .failure(.proposalLost))
                    }
                    if let key = write.key { writesByKey[key] = .proposed(index: index) }
                    index += 1
                }
                effects.append(.proposed(count: batch.count))
            } catch .notLeader(let hint) {
                failWrites(batch, notLeaderError(hint: hint))
            } catch .leadershipTransferInProgress(let target) {
                failWrites(batch, notLeaderError(hint: target))
            } catch .proposalDropped(let reason) {
                failWrites(batch, .overloaded(.raft(reason)))
            } catch {
                preconditionFailure("propose(batch:) threw \(error)")
            }
        }
        proposalQueue.removeAll(keepingCapacity: true)
    }

    mutating func failWrites(_ batch: ArraySlice<QueuedWrite>, _ error: ReplicaError) {
        for write in batch {
            if let key = write.key { writesByKey[key] = nil }
            answer(write.tokens, .failure(error))
        }
    }

    /// Answers every request waiting on one write.
    mutating func answer(_ tokens: [RequestToken], _ result: Result<WriteResult<Machine.Output>, ReplicaError>) {
        pendingWriteCount -= tokens.count
        for token in tokens { effects.append(.writeCompleted(token, result)) }
    }

    /// Takes the waiter at `index` out of the bookkeeping.
    mutating func removeWriteWaiter(at index: UInt64) -> WriteWaiter? {
        guard let waiter = writeWaiters.removeValue(forKey: index) else { return nil }
        if let key = waiter.key, writesByKey[key] == .proposed(index: index) { writesByKey[key] = nil }
        return waiter
    }

    /// Completes the write waiting for `index`, if any, now that the entry of
    /// `term` was applied there (`output` nil: it was not a command).
    mutating func completeWrite(at index: LogIndex, term: Term, output: Machine.Output?) {
        guard let waiter = removeWriteWaiter(at: index.rawValue) else { return }
        if waiter.term == term, let output {
            answer(waiter.tokens, .success(WriteResult(index: index, output: output, appliedIndex: machine.appliedIndex)))
        } else {
            statistics.writesLost += 1
            answer(waiter.tokens, .failure(.proposalLost))
        }
    }

    /// The error that tells a client where to go instead.
    func notLeaderError(hint: NodeID?) -> ReplicaError {
        let leader = hint ?? (raft.leaderID == .none ? nil : raft.leaderID)
        guard let leader, leader != raft.id else { return .noLeader }
        return .notLeader(leader: leader)
    }

    mutating func failAllWaiters(_ error: ReplicaError) {
        for write in proposalQueue { answer(write.tokens, .failure(error)) }
        proposalQueue = []
        for index in writeWaiters.keys.sorted() { answer(writeWaiters[index]!.tokens, .failure(error)) }
        writeWaiters = [:]
        writesByKey = [:]
        precondition(pendingWriteCount == 0, "every write answered")
        for waiter in readQueue { effects.append(.readCompleted(waiter.token, .failure(error))) }
        readQueue = []
        for context in readBatches.keys.sorted() {
            for waiter in readBatches[context]!.waiters { effects.append(.readCompleted(waiter.token, .failure(error))) }
        }
        readBatches = [:]
        for entry in readsAwaitingApply {
            for waiter in entry.batch.waiters { effects.append(.readCompleted(waiter.token, .failure(error))) }
        }
        readsAwaitingApply = []
        for entry in catchUpWaiters { effects.append(.readCompleted(entry.waiter.token, .failure(error))) }
        catchUpWaiters = []
        pendingReadCount = 0
    }
}
