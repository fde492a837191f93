import ChorusCore
import ChorusKeyValue
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// Snapshots of the store and compaction of the log behind them.
extension NodeCore {
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
    func maybeCompact() {
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

    func completeCompaction(through index: LogIndex, data: [UInt8]) {
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
    func saveCheckpoint(_ checkpoint: Checkpoint) -> EventLoopFuture<Void> {
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
}
