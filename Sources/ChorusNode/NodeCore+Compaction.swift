import ChorusReplica
import ChorusCore
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// Checkpoints on the thread pool, and leadership handoff before shutdown.
extension NodeCore {
    /// Saves a checkpoint off the loop, after any checkpoint already being
    /// saved. Its coverage is every record appended so far, all of which are
    /// durable here: records are appended only by the `Ready` in flight, and
    /// callers run between `Ready`s or before a `Ready`'s own records.
    func saveCheckpoint(_ checkpoint: Checkpoint) -> EventLoopFuture<Void> {
        let coverage = storage.log.nextSequence
        let storage = self.storage
        let threadPool = self.threadPool
        let loop = self.loop
        let saved = checkpointChain.flatMap {
            threadPool.runIfActive(eventLoop: loop) {
                try storage.saveSnapshot(checkpoint.encoded(), coveringBelow: coverage)
            }
        }
        checkpointChain = saved.recover { _ in }
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
            try replica.transferLeadership(to: target)
        } catch {
            return nil
        }
        logger.info("handing leadership over before shutting down", metadata: ["to": "\(target)"])
        scheduleDrive()
        return target
    }
}
