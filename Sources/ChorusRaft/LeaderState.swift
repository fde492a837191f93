import ChorusCore

/// What only a leader holds, for one term: per-follower progress, the
/// heartbeat rounds that confirm reads and the lease, pending reads, and an
/// ongoing leadership transfer.
struct LeaderState: Sendable {
    /// One entry per other member (voters then learners of the configuration
    /// in force), ascending by node.
    var progress: [Progress] = []

    /// The latest heartbeat round started in this term (rounds start at 1).
    var heartbeatRound: UInt64 = 0
    /// True while the latest round's heartbeats are still in the outbox: a read
    /// arriving now may join that round, since its messages leave after it.
    var latestRoundUnsent = false
    /// The latest round acknowledged by a quorum of voters.
    var confirmedRound: UInt64 = 0
    /// `tickCount` at which each of the last `roundHistoryCount` rounds started.
    var roundStartTicks: [UInt64] = Array(repeating: 0, count: LeaderState.roundHistoryCount)

    /// Reads waiting for a round that started after they arrived, in arrival order.
    var pendingReads: [PendingRead] = []
    /// Reads that arrived before this leader committed an entry of its term
    /// (its commit index is not yet known to be current, §6.4 step 1).
    var readsAwaitingCommit: [(context: UInt64, requester: NodeID)] = []

    var transferTarget: NodeID?
    var transferElapsedTicks = 0
    /// Once set, the lease is never trusted again in this term: the transfer
    /// target's election may bypass the followers' stickiness at any time the
    /// `timeoutNow` message happens to arrive.
    var timeoutNowSent = false

    /// How many recent rounds' start ticks are remembered. A quorum answer to an
    /// older round is too old to extend a lease anyway.
    static let roundHistoryCount = 64

    func startTick(ofRound round: UInt64) -> UInt64? {
        guard round > 0, round <= heartbeatRound, heartbeatRound - round < UInt64(Self.roundHistoryCount) else {
            return nil
        }
        return roundStartTicks[Int(round % UInt64(Self.roundHistoryCount))]
    }
}

struct PendingRead: Sendable, Hashable {
    /// The leader's commit index when the read arrived.
    var index: LogIndex
    var context: UInt64
    var requester: NodeID
    /// The first round that started after the read arrived; its quorum
    /// acknowledgement proves this server was still leader after the arrival.
    var requiredRound: UInt64
}
