import ChorusCore

/// Every limit and switch of one Raft server, in one place, validated before the
/// server starts (`validate()`).
///
/// Time is counted in ticks: the runtime calls `RaftNode.tick()` at a fixed
/// interval (the node runtime every 10 ms, the simulator on virtual time), so
/// the core never reads a clock.
///
/// How the timing limits relate (checked by `validate()`):
///
///     heartbeatIntervalTicks  <  electionTimeoutTicks          (a healthy leader is never suspected)
///     leaseDurationTicks · (1000 + drift‰)  ≤  (electionTimeoutTicks − 2) · (1000 − drift‰)
///
/// The second line is the leader-lease safety bound, explained at `leaseDurationTicks`.
public struct RaftConfiguration: Sendable, Hashable {
    /// This server's identity. Never `NodeID.none`.
    public var nodeID: NodeID

    /// The minimum election timeout E: a follower that hears nothing from a
    /// leader for a random duration in [E, 2E) ticks starts an election (thesis
    /// §3.4). With CheckQuorum it is also the period after which a leader that
    /// has not heard from a quorum steps down, and the time a follower ignores
    /// vote requests after hearing from its leader.
    public var electionTimeoutTicks: Int = 10

    /// How often a leader sends heartbeats (and starts a read round).
    public var heartbeatIntervalTicks: Int = 1

    /// PreVote (thesis §9.6): a server first asks whether it could win before it
    /// increments its term, so a partitioned server rejoining does not depose a
    /// healthy leader.
    public var preVoteEnabled: Bool = true

    /// CheckQuorum (thesis §6.2): a leader steps down after an election timeout
    /// without hearing from a quorum, and followers that heard from a leader
    /// within the election timeout ignore vote requests. Required by lease reads.
    public var checkQuorumEnabled: Bool = true

    /// How linearizable reads are confirmed.
    public var readMode: ReadMode = .readIndex

    /// How long (in the leader's ticks) a quorum's acknowledgement of a heartbeat
    /// lets the leader serve reads without another round (thesis §6.4.1).
    ///
    /// Why it is safe, and the assumption it rests on. A follower that received a
    /// heartbeat at its local time r refuses every vote request (except a
    /// leadership transfer, see below) until it has counted `electionTimeoutTicks`
    /// of its own ticks, which takes at least (E − 1) tick intervals of its clock
    /// after r. The leader counts the lease from the tick *at which it sent* the
    /// heartbeat, which is no later than r. Clocks may run fast or slow relative to
    /// real time by at most `clockDriftBoundPartsPerThousand` (ρ). So a quorum
    /// cannot elect another leader before real time r + (E − 1)(1 − ρ)·tick, while
    /// the lease ends by s + L(1 + ρ)·tick with s ≤ r. Requiring
    /// L(1 + ρ) ≤ (E − 2)(1 − ρ) keeps one more tick of margin for the partial
    /// tick at which the heartbeat went out.
    ///
    /// Two further rules close the remaining holes: a leader that has sent
    /// `timeoutNow` never trusts its lease again in that term (a transfer target's
    /// vote requests bypass the followers' stickiness), and in lease mode a server
    /// that has just started refuses votes for one election timeout, because it
    /// may have acknowledged a heartbeat before it crashed.
    public var leaseDurationTicks: Int = 7

    /// The largest rate at which any server's tick clock may run fast or slow
    /// relative to real time, in parts per thousand. 50 means ±5 %.
    public var clockDriftBoundPartsPerThousand: Int = 50

    /// The most entries one AppendEntries carries.
    public var maximumEntriesPerMessage: Int = 64

    /// The most bytes (by `LogEntry.approximateByteCount`) one AppendEntries
    /// carries. A single larger entry is still sent alone.
    public var maximumMessageBytes: Int = 1 << 20

    /// The replication pipeline: how many AppendEntries may be outstanding to a
    /// follower in replicate state before the leader waits for acknowledgements.
    public var maximumInflightMessages: Int = 64

    /// Proposals are refused (`RaftError.proposalDropped`) while this many
    /// entries are appended but not committed, so a leader cut off from its
    /// quorum does not grow its log without bound.
    public var maximumUncommittedEntries: Int = 8_192

    /// The most linearizable reads waiting at a leader for a heartbeat round.
    public var maximumPendingReads: Int = 8_192

    /// The most committed entries handed out in one `Ready`.
    public var maximumCommittedEntriesPerReady: Int = 1_024

    /// A follower in snapshot state that has not acknowledged the snapshot within
    /// this many ticks is probed again (the snapshot may have been lost).
    public var snapshotRetryTicks: Int = 30

    /// A learner is promoted only if its log is within this many entries of the
    /// leader's (thesis §4.2.1: a new server must catch up before it votes).
    public var learnerCatchUpMarginEntries: Int = 16

    /// Whether a follower forwards proposals to its leader (`ProposalOutcome.forwarded`)
    /// rather than refusing them with `RaftError.notLeader(leaderHint:)`.
    public var proposalForwardingEnabled: Bool = false

    /// A deliberate bug, for negative controls only: proves the simulator's
    /// checks can fail. Only `chorus simulate raft --inject-bug NAME` sets it.
    public var injectedBug: InjectedBug? = nil

    public init(nodeID: NodeID) {
        self.nodeID = nodeID
    }

    /// How a leader confirms a linearizable read (thesis §6.4).
    public enum ReadMode: String, Sendable, Hashable, CaseIterable {
        /// A heartbeat round acknowledged by a quorum after the read arrived.
        /// Safe with any clocks.
        case readIndex
        /// A lease from the last quorum-acknowledged heartbeat; no round trip
        /// while the lease holds. Safe only under the clock-drift bound above.
        case lease
    }

    /// The upper limits of every knob, so a configuration read from a file
    /// cannot ask for absurd values.
    public static let ticksMaximum = 1_000_000
    public static let countMaximum = 1 << 24

    /// Throws the first limit that is violated or the first relation that does not hold.
    public func validate() throws(RaftConfigurationError) {
        guard nodeID != .none else { throw .invalid("nodeID must not be NodeID.none") }
        try Self.check("electionTimeoutTicks", electionTimeoutTicks, 3...Self.ticksMaximum)
        try Self.check("heartbeatIntervalTicks", heartbeatIntervalTicks, 1...Self.ticksMaximum)
        try Self.check("leaseDurationTicks", leaseDurationTicks, 1...Self.ticksMaximum)
        try Self.check("clockDriftBoundPartsPerThousand", clockDriftBoundPartsPerThousand, 0...500)
        try Self.check("maximumEntriesPerMessage", maximumEntriesPerMessage, 1...Self.countMaximum)
        try Self.check("maximumMessageBytes", maximumMessageBytes, 64...(1 << 30))
        try Self.check("maximumInflightMessages", maximumInflightMessages, 1...Self.countMaximum)
        try Self.check("maximumUncommittedEntries", maximumUncommittedEntries, 1...Self.countMaximum)
        try Self.check("maximumPendingReads", maximumPendingReads, 1...Self.countMaximum)
        try Self.check("maximumCommittedEntriesPerReady", maximumCommittedEntriesPerReady, 1...Self.countMaximum)
        try Self.check("snapshotRetryTicks", snapshotRetryTicks, 1...Self.ticksMaximum)
        try Self.check("learnerCatchUpMarginEntries", learnerCatchUpMarginEntries, 0...Self.countMaximum)
        guard heartbeatIntervalTicks < electionTimeoutTicks else {
            throw .invalid(
                "heartbeatIntervalTicks (\(heartbeatIntervalTicks)) must be less than electionTimeoutTicks (\(electionTimeoutTicks))"
            )
        }
        if readMode == .lease {
            guard checkQuorumEnabled else { throw .invalid("lease reads require checkQuorumEnabled") }
            guard leaseDurationTicks <= Self.leaseDurationTicksMaximum(
                electionTimeoutTicks: electionTimeoutTicks,
                clockDriftBoundPartsPerThousand: clockDriftBoundPartsPerThousand)
            else {
                throw .invalid(
                    "leaseDurationTicks (\(leaseDurationTicks)) exceeds the safe bound \(Self.leaseDurationTicksMaximum(electionTimeoutTicks: electionTimeoutTicks, clockDriftBoundPartsPerThousand: clockDriftBoundPartsPerThousand)) for electionTimeoutTicks \(electionTimeoutTicks) at ±\(clockDriftBoundPartsPerThousand)‰ drift"
                )
            }
            guard leaseDurationTicks > heartbeatIntervalTicks else {
                throw .invalid("leaseDurationTicks must exceed heartbeatIntervalTicks, or the lease never holds")
            }
        }
    }

    /// The longest lease that is safe for an election timeout and a drift bound:
    /// the largest L with L·(1000 + ρ) ≤ (E − 2)·(1000 − ρ).
    public static func leaseDurationTicksMaximum(electionTimeoutTicks: Int, clockDriftBoundPartsPerThousand: Int) -> Int {
        guard electionTimeoutTicks > 2 else { return 0 }
        return (electionTimeoutTicks - 2) * (1000 - clockDriftBoundPartsPerThousand)
            / (1000 + clockDriftBoundPartsPerThousand)
    }

    private static func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(RaftConfigurationError) {
        guard range.contains(value) else {
            throw .invalid("\(name) is \(value); it must be in \(range.lowerBound)...\(range.upperBound)")
        }
    }
}

/// A configuration that cannot be used, and why.
public enum RaftConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): "invalid Raft configuration: \(reason)"
        }
    }
}

