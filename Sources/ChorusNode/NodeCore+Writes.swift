import ChorusCore
import ChorusKeyValue
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// Writes: proposals batched per loop turn, completed when their entry is applied.
extension NodeCore {
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

    func failWrites(_ batch: ArraySlice<PendingProposal>, _ error: NodeError) {
        metrics.proposalsRefused.increment(by: Int64(batch.count))
        pendingWriteCount -= batch.count
        for proposal in batch { proposal.continuation.resume(returning: .failure(error)) }
    }

    /// Completes the write waiting for `index`, if any, now that the entry of
    /// `term` was applied there.
    func completeWrite(at index: LogIndex, term: Term, result: KeyValueResult?) {
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
}
