import ChorusCore
import ChorusRaft
import ChorusReplica

/// What the simulated clients do.
public enum SimulationWorkload: String, Sendable, Hashable, CaseIterable {
    /// Gets, puts, compare-and-sets and deletes, checked linearizable.
    case keyValue = "key-value"
    /// Appends, stream reads and catch-up subscriptions, checked by the event-store checker.
    case eventStore = "events"
    /// Sagas on a `SagaHost` per server, against simulated participants, checked by `SagaChecker`.
    case sagas = "sagas"
}

/// Everything one seed's world is made of, drawn from the seed itself (swarm
/// testing: each seed gets its own mix and intensity of faults, so a campaign
/// explores corners that one fixed fault profile never reaches).
///
/// All times are virtual microseconds.
public struct SimulationParameters: Sendable, Hashable {
    /// Initial voters (3 or 5); one more server slot exists for membership changes.
    public var voterCount: Int
    public var serverCount: Int
    public var clientCount: Int
    public var keyCount: Int

    /// The nominal tick interval; each server's clock runs up to
    /// `clockDriftPartsPerThousand` fast or slow around it.
    public var tickMicroseconds: UInt64
    public var clockDriftPartsPerThousand: Int

    public var raftReadMode: RaftConfiguration.ReadMode
    public var preVoteEnabled: Bool
    public var maximumEntriesPerMessage: Int
    public var maximumInflightMessages: Int
    /// Compact the log once this many entries are applied past the snapshot.
    public var compactionThresholdEntries: Int

    // Network.
    public var delayMinimumMicroseconds: UInt64
    public var delayMaximumMicroseconds: UInt64
    /// Probability that a message takes a long detour (up to 10× the maximum delay).
    public var delayTailProbability: Double
    public var lossProbability: Double
    public var duplicationProbability: Double
    /// During the safety phase, delays are stretched by this factor (a slow or
    /// congested network, where delays rival the election timeout).
    public var safetyDelayStretch: UInt64

    // Nemesis: how often something happens, and what.
    public var partitionMeanIntervalMicroseconds: UInt64
    public var partitionMeanDurationMicroseconds: UInt64
    public var crashMeanIntervalMicroseconds: UInt64
    public var restartDelayMaximumMicroseconds: UInt64
    /// Probability that a newly elected leader is cut off from everyone a few
    /// milliseconds after its election (Jepsen's leader-partitioning nemesis,
    /// timed to the election): it leaves behind leaders whose first entries
    /// reached nobody, the raw material of the thesis's figure 3.7.
    public var newLeaderIsolationProbability: Double
    /// Probability that a newly elected leader crashes within a few round
    /// trips of its election (Jepsen's kill-the-leader nemesis, timed to the
    /// election): its first entries reach only some followers.
    public var newLeaderCrashProbability: Double
    /// Probability that a crash hits the leader rather than a random server.
    public var leaderCrashBias: Double
    public var membershipChangeMeanIntervalMicroseconds: UInt64
    public var leadershipTransferMeanIntervalMicroseconds: UInt64
    public var fsyncLatencyMaximumMicroseconds: UInt64
    /// Probability that the unsynced tail survives partially (torn) rather than not at all.
    public var tornWriteProbability: Double

    // Workload.
    public var clientThinkMaximumMicroseconds: UInt64
    public var clientTimeoutMicroseconds: UInt64
    /// Probability that a client sends a read to a random server rather than the leader it believes in.
    public var readAnywhereProbability: Double

    // Phases.
    public var safetyPhaseMicroseconds: UInt64
    public var livenessBoundMicroseconds: UInt64

    public var injectedBug: InjectedBug?

    /// What the clients do (fixed per campaign, not drawn).
    public var workload: SimulationWorkload = .keyValue
    /// The level of the key-value workload's reads (fixed per campaign).
    public var readLevel: SimulatedLevel = .linearizable
    /// The bound of bounded-staleness reads (drawn per seed, used only at that level).
    public var stalenessBound = StalenessBound(maximumVersions: 1, maximumLagMilliseconds: nil)
    /// Streams the event-store workload appends to.
    public var streamCount: Int

    /// Probability that a new leader crashes at the instant its commit index
    /// first moves in its term (Jepsen's kill-the-leader nemesis, timed to the
    /// commit point): the followers may have learned the commit, the clients
    /// not, and the next election decides what survives (thesis figure 3.7).
    public var firstCommitCrashProbability: Double

    /// How often a server is paused (SIGSTOP), and for up to how long (plus
    /// 20 ms): a stopped process's timer fires once when it resumes, however
    /// long it slept (what `TickClock` makes up for).
    public var pauseMeanIntervalMicroseconds: UInt64
    public var pauseMaximumMicroseconds: UInt64
    /// Probability that a crash also damages the final synced log record (one
    /// byte of it rots), leaving a complete record that fails its check: an
    /// uncertain tail. Drawn only where `Simulation.mayDamageFinalRecord` allows.
    public var finalRecordDamageProbability: Double = 0

    /// The network's delays, loss and duplication, as the shared router takes them.
    var network: NetworkProfile {
        NetworkProfile(
            delayMinimumMicroseconds: delayMinimumMicroseconds, delayMaximumMicroseconds: delayMaximumMicroseconds,
            delayTailProbability: delayTailProbability, lossProbability: lossProbability,
            duplicationProbability: duplicationProbability, safetyDelayStretch: safetyDelayStretch)
    }

    /// The Raft limits every server runs with.
    public func raftConfiguration(for node: NodeID) -> RaftConfiguration {
        var configuration = RaftConfiguration(nodeID: node)
        configuration.electionTimeoutTicks = Self.electionTimeoutTicks
        configuration.heartbeatIntervalTicks = Self.heartbeatIntervalTicks
        configuration.preVoteEnabled = preVoteEnabled
        configuration.checkQuorumEnabled = true
        configuration.readMode = raftReadMode
        configuration.clockDriftBoundPartsPerThousand = Self.clockDriftBoundPartsPerThousand
        configuration.leaseDurationTicks = RaftConfiguration.leaseDurationTicksMaximum(
            electionTimeoutTicks: Self.electionTimeoutTicks,
            clockDriftBoundPartsPerThousand: Self.clockDriftBoundPartsPerThousand)
        configuration.maximumEntriesPerMessage = maximumEntriesPerMessage
        configuration.maximumInflightMessages = maximumInflightMessages
        configuration.maximumUncommittedEntries = 512
        configuration.maximumPendingReads = 512
        configuration.snapshotRetryTicks = 3 * Self.electionTimeoutTicks
        configuration.learnerCatchUpMarginEntries = 8
        configuration.injectedBug = injectedBug
        return configuration
    }

    /// The replica driver's limits: the node's, with timeouts in simulated ticks.
    public var replicaConfiguration: ReplicaConfiguration {
        ReplicaConfiguration(
            maximumPendingWrites: 4_096, maximumPendingReads: 4_096, maximumProposalBatch: 256,
            writeTimeoutTicks: 500, readTimeoutTicks: 500, catchUpWaitTicks: 100, expiryIntervalTicks: 10,
            snapshotThresholdEntries: compactionThresholdEntries, clockDriftBoundPartsPerThousand: Self.clockDriftBoundPartsPerThousand,
            injectedBug: injectedBug)
    }

    public static let electionTimeoutTicks = 20
    public static let heartbeatIntervalTicks = 2
    /// The drift the lease is configured to tolerate; simulated clocks stay within it.
    public static let clockDriftBoundPartsPerThousand = 50

    /// Draws one seed's world. `quick` shortens the safety phase for `swift test`.
    public static func draw(seed: UInt64, injectedBug: InjectedBug?, quick: Bool) -> SimulationParameters {
        var random = SwarmDraw(seed: seed ^ 0x5EED_0F_5A4A_7E11)
        func uniform(_ range: ClosedRange<UInt64>) -> UInt64 { random.uniform(range) }
        func uniformInt(_ range: ClosedRange<Int>) -> Int { random.uniformInt(range) }
        func unit() -> Double { random.unit() }
        func swarm(_ maximum: Double) -> Double { random.swarm(maximum) }
        func meanInterval(never: Bool, _ range: ClosedRange<UInt64>) -> UInt64 { random.meanInterval(never: never, range) }

        let voterCount = random.next() % 3 == 0 ? 5 : 3
        let delayMinimum = uniform(200...3_000)
        let delayMaximum = delayMinimum + uniform(500...(random.chance(0.3) ? 60_000 : 12_000))
        let bugActive = injectedBug != nil
        return SimulationParameters(
            voterCount: voterCount,
            serverCount: voterCount + 1,
            clientCount: uniformInt(2...8),
            keyCount: uniformInt(1...4),
            tickMicroseconds: 10_000,
            clockDriftPartsPerThousand: uniformInt(0...clockDriftBoundPartsPerThousand),
            raftReadMode: random.chance(0.5) ? .lease : .readIndex,
            preVoteEnabled: !random.chance(0.2),
            maximumEntriesPerMessage: random.chance(0.5) ? uniformInt(1...2) : uniformInt(3...64),
            maximumInflightMessages: random.chance(0.5) ? 1 : uniformInt(2...16),
            compactionThresholdEntries: uniformInt(8...200),
            delayMinimumMicroseconds: delayMinimum,
            delayMaximumMicroseconds: delayMaximum,
            delayTailProbability: swarm(0.05),
            lossProbability: swarm(0.4),
            duplicationProbability: swarm(0.3),
            safetyDelayStretch: random.chance(0.25) ? uniform(2...6) : 1,
            partitionMeanIntervalMicroseconds: meanInterval(
                never: random.chance(0.2), random.chance(0.3) ? 40_000...200_000 : 200_000...2_000_000),
            partitionMeanDurationMicroseconds: random.chance(0.3) ? uniform(30_000...400_000) : uniform(50_000...1_500_000),
            crashMeanIntervalMicroseconds: meanInterval(
                never: random.chance(0.2), random.chance(0.5) ? 20_000...300_000 : 300_000...3_000_000),
            restartDelayMaximumMicroseconds: random.chance(0.5) ? uniform(1_000...20_000) : uniform(20_000...800_000),
            newLeaderIsolationProbability: random.chance(0.4) ? 0 : 0.5 + 0.5 * unit(),
            newLeaderCrashProbability: random.chance(0.5) ? 0 : 0.3 + 0.7 * unit(),
            leaderCrashBias: random.chance(0.4) ? 0.95 : 0.3,
            membershipChangeMeanIntervalMicroseconds: meanInterval(
                never: bugActive || random.chance(0.4), 300_000...3_000_000),
            leadershipTransferMeanIntervalMicroseconds: meanInterval(never: random.chance(0.5), 200_000...3_000_000),
            fsyncLatencyMaximumMicroseconds: uniform(50...(random.chance(0.3) ? 20_000 : 3_000)),
            tornWriteProbability: swarm(1.0),
            clientThinkMaximumMicroseconds: uniform(0...30_000),
            clientTimeoutMicroseconds: uniform(150_000...600_000),
            readAnywhereProbability: random.chance(0.5) ? unit() : 0.05,
            safetyPhaseMicroseconds: quick ? uniform(1_000_000...2_500_000) : uniform(3_000_000...10_000_000),
            livenessBoundMicroseconds: 30_000_000,
            injectedBug: injectedBug,
            streamCount: 1 + Int(random.next() % 3),
            firstCommitCrashProbability: random.chance(0.5) ? 0 : 0.2 + 0.8 * unit(),
            // Drawn last, so the draws above stay what they were for every seed.
            pauseMeanIntervalMicroseconds: meanInterval(never: random.chance(0.3), 200_000...2_000_000),
            pauseMaximumMicroseconds: uniform(100_000...1_000_000),
            finalRecordDamageProbability: injectedBug == .uncertainTailTreatedAsTorn
                ? 0.3 + 0.5 * unit() : (random.chance(0.4) ? 0 : 0.1 + 0.5 * unit()))
    }
}
