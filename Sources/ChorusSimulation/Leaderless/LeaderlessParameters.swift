import ChorusCore
import ChorusReplication

/// Everything one seed's leaderless world is made of, drawn from the seed
/// (swarm testing, `SwarmDraw`): cluster size, quorums and intervals, the
/// network's faults, the nemesis, the disks and the workload's mix.
///
/// Times are virtual microseconds unless they say ticks (a node's tick,
/// nominally `tickMicroseconds`, drifted per node).
public struct LeaderlessParameters: Sendable, Hashable {
    public var memberCount: Int
    public var clientCount: Int
    /// Multi-writer versioned keys per keyspace.
    public var sharedKeyCount: Int

    public var tickMicroseconds: UInt64
    /// Each node's ticks, and each client's clock, run up to this far fast or slow.
    public var clockDriftPartsPerThousand: Int

    // The eventual keyspace's quorums (the causal keyspace has its own read and write quorums).
    public var eventualReadQuorum: Int
    public var eventualWriteQuorum: Int
    public var eventualDurableWriteQuorum: Int
    public var sloppyQuorum: Bool
    public var causalReadQuorum: Int
    public var causalWriteQuorum: Int

    // The nodes' intervals and limits, in ticks.
    public var virtualNodesPerMember: Int
    public var requestTimeoutTicks: UInt64
    public var hintDeliveryIntervalTicks: UInt64
    public var antiEntropyIntervalTicks: UInt64
    public var merkleBranching: Int
    public var merkleDepth: Int
    public var maximumAntiEntropyEntriesPerMessage: Int
    public var causalFrontierIntervalTicks: UInt64
    public var causalRetransmitAfterTicks: UInt64
    public var readRepairEnabled: Bool
    public var swimProtocolPeriodTicks: UInt64
    public var swimSuspicionTimeoutTicks: UInt64

    var network: NetworkProfile

    // Nemesis.
    public var partitionMeanIntervalMicroseconds: UInt64
    public var partitionMeanDurationMicroseconds: UInt64
    public var crashMeanIntervalMicroseconds: UInt64
    public var restartDelayMaximumMicroseconds: UInt64
    public var fsyncLatencyMaximumMicroseconds: UInt64
    /// Probability that the unsynced tail survives partially (torn) rather than not at all.
    public var tornWriteProbability: Double
    /// Probability that a crash hits a node holding hints rather than a random one
    /// (the interesting victims: a fallback's hints must survive it).
    public var hintHolderCrashBias: Double
    /// Probability that a node is cut off from the others right after it mints
    /// a causal write (Jepsen's isolate-the-leader, timed to the leaderless
    /// write path): acknowledged with W = 1, the write then exists on one
    /// replica while its causal successors travel.
    public var mintIsolationProbability: Double
    /// Probability that a node crashes shortly after it stores a hint, once its
    /// fsync is done (the kill-the-fallback nemesis, timed to hinted handoff
    /// as Raft's is timed to elections).
    public var hintStoredCrashProbability: Double
    /// Compact a node's log (`ReplicationNode.durableSnapshot()`) once it holds this many records; 0: never.
    public var compactionThresholdRecords: Int

    // Workload.
    public var clientThinkMaximumMicroseconds: UInt64
    public var clientTimeoutMicroseconds: UInt64
    /// Share of a client's operations on the causal keyspace.
    public var causalShare: Double

    // Phases.
    public var safetyPhaseMicroseconds: UInt64
    public var livenessBoundMicroseconds: UInt64

    /// One of `InjectedBug.leaderless`, or nil.
    public var injectedBug: InjectedBug?

    // The catalog.
    /// The keyspace whose definition reaches the nodes late, or nil: every
    /// node starts with both. The cluster's catalog is replicated by Raft, so
    /// each node learns a new keyspace in its own time
    /// (`ReplicationDriver.define`) while the others already serve it.
    public var lateKeyspace: KeyspaceID?
    /// Each node learns `lateKeyspace` at its own uniform time up to this.
    public var catalogDelayMaximumMicroseconds: UInt64

    public static let eventualKeyspace = KeyspaceID(0)
    public static let causalKeyspace = KeyspaceID(1)
    /// Every key keeps N = 3 replicas (and the PBS experiment's N).
    public static let replicationFactor = 3

    /// The two keyspaces every node serves.
    public var keyspaces: [KeyspaceConfiguration] {
        var eventual = KeyspaceConfiguration(id: Self.eventualKeyspace, mode: .eventual)
        eventual.replicationFactor = Self.replicationFactor
        eventual.readQuorum = eventualReadQuorum
        eventual.writeQuorum = eventualWriteQuorum
        eventual.durableWriteQuorum = eventualDurableWriteQuorum
        eventual.sloppyQuorum = sloppyQuorum
        var causal = KeyspaceConfiguration(id: Self.causalKeyspace, mode: .causal)
        causal.replicationFactor = Self.replicationFactor
        causal.readQuorum = causalReadQuorum
        causal.writeQuorum = causalWriteQuorum
        return [eventual, causal]
    }

    public var members: [NodeID] { (1...memberCount).map { NodeID(UInt64($0)) } }

    /// The keyspaces every node starts with: all but `lateKeyspace`.
    public var initialKeyspaces: [KeyspaceID] { keyspaces.map(\.id).filter { $0 != lateKeyspace } }

    /// One node's configuration: the drawn intervals, the library's other
    /// limits, and the keyspaces of `defined` (default: every keyspace).
    public func replicationConfiguration(for node: NodeID, defined: [KeyspaceID]? = nil) -> ReplicationConfiguration {
        let served = keyspaces.filter { defined?.contains($0.id) ?? true }
        var configuration = ReplicationConfiguration(myself: node, members: members, keyspaces: served)
        configuration.virtualNodesPerMember = virtualNodesPerMember
        configuration.requestTimeoutTicks = requestTimeoutTicks
        configuration.hintDeliveryIntervalTicks = hintDeliveryIntervalTicks
        configuration.antiEntropyIntervalTicks = antiEntropyIntervalTicks
        configuration.merkleBranching = merkleBranching
        configuration.merkleDepth = merkleDepth
        configuration.maximumAntiEntropyEntriesPerMessage = maximumAntiEntropyEntriesPerMessage
        configuration.causalFrontierIntervalTicks = causalFrontierIntervalTicks
        configuration.causalRetransmitAfterTicks = causalRetransmitAfterTicks
        configuration.readRepairEnabled = readRepairEnabled
        if injectedBug == .mintMemoryIgnoresCoordinator || injectedBug == .outputsBeforeDurable {
            configuration.injectedBug = injectedBug
        }
        return configuration
    }

    public var swimConfiguration: SwimConfiguration {
        var configuration = SwimConfiguration()
        configuration.protocolPeriodTicks = swimProtocolPeriodTicks
        configuration.pingTimeoutTicks = Swift.max(1, swimProtocolPeriodTicks * 2 / 5)
        configuration.suspicionTimeoutTicks = swimSuspicionTimeoutTicks
        return configuration
    }

    /// Draws one seed's world. `quick` shortens the safety phase for `swift test`.
    public static func draw(seed: UInt64, injectedBug: InjectedBug?, quick: Bool) -> LeaderlessParameters {
        var random = SwarmDraw(seed: seed ^ 0x1EAD_1E55_5EED_0001)
        let delayMinimum = random.uniform(200...3_000)
        let delayMaximum = delayMinimum + random.uniform(500...(random.chance(0.3) ? 40_000 : 10_000))
        let network = NetworkProfile(
            delayMinimumMicroseconds: delayMinimum, delayMaximumMicroseconds: delayMaximum,
            delayTailProbability: random.swarm(0.05), lossProbability: random.swarm(0.3),
            duplicationProbability: random.swarm(0.2), safetyDelayStretch: random.chance(0.2) ? random.uniform(2...4) : 1)
        let replicas = replicationFactor
        let eventualWrite = random.uniformInt(1...replicas)
        let swimPeriod = random.uniform(4...8)
        return LeaderlessParameters(
            memberCount: random.uniformInt(3...5),
            clientCount: random.uniformInt(2...8),
            sharedKeyCount: random.uniformInt(1...3),
            tickMicroseconds: 10_000,
            clockDriftPartsPerThousand: random.uniformInt(0...50),
            eventualReadQuorum: random.uniformInt(1...replicas),
            eventualWriteQuorum: eventualWrite,
            eventualDurableWriteQuorum: random.chance(0.5) ? 0 : random.uniformInt(1...eventualWrite),
            sloppyQuorum: !random.chance(0.15),
            // Weighted to one: a causal read served by one replica is where
            // delayed visibility alone keeps effects behind their causes.
            causalReadQuorum: random.chance(0.5) ? 1 : random.uniformInt(2...replicas),
            causalWriteQuorum: random.chance(0.5) ? 1 : random.uniformInt(2...replicas),
            virtualNodesPerMember: random.chance(0.5) ? random.uniformInt(2...8) : random.uniformInt(9...32),
            requestTimeoutTicks: random.uniform(10...30),
            hintDeliveryIntervalTicks: random.uniform(2...10),
            antiEntropyIntervalTicks: random.uniform(8...50),
            merkleBranching: random.chance(0.5) ? 4 : 16,
            merkleDepth: random.uniformInt(1...2),
            maximumAntiEntropyEntriesPerMessage: random.chance(0.3) ? random.uniformInt(1...4) : 4_096,
            causalFrontierIntervalTicks: random.uniform(2...6),
            causalRetransmitAfterTicks: random.uniform(5...15),
            readRepairEnabled: !random.chance(0.2),
            swimProtocolPeriodTicks: swimPeriod,
            swimSuspicionTimeoutTicks: swimPeriod * random.uniform(2...4),
            network: network,
            partitionMeanIntervalMicroseconds: random.meanInterval(
                never: random.chance(0.2), random.chance(0.3) ? 100_000...400_000 : 400_000...2_000_000),
            partitionMeanDurationMicroseconds: random.chance(0.3) ? random.uniform(50_000...400_000) : random.uniform(100_000...1_500_000),
            crashMeanIntervalMicroseconds: random.meanInterval(
                never: random.chance(0.2), random.chance(0.5) ? 100_000...500_000 : 500_000...3_000_000),
            restartDelayMaximumMicroseconds: random.chance(0.5) ? random.uniform(1_000...50_000) : random.uniform(50_000...800_000),
            fsyncLatencyMaximumMicroseconds: random.uniform(50...(random.chance(0.3) ? 20_000 : 3_000)),
            tornWriteProbability: random.swarm(1.0),
            hintHolderCrashBias: random.chance(0.4) ? 0 : 0.5 + 0.4 * random.unit(),
            mintIsolationProbability: random.chance(0.5) ? 0 : 0.05 + 0.25 * random.unit(),
            hintStoredCrashProbability: random.chance(0.5) ? 0 : 0.05 + 0.25 * random.unit(),
            compactionThresholdRecords: random.chance(0.6) ? 0 : random.uniformInt(20...400),
            clientThinkMaximumMicroseconds: random.uniform(0...20_000),
            clientTimeoutMicroseconds: random.uniform(200_000...600_000),
            causalShare: 0.3 + 0.4 * random.unit(),
            safetyPhaseMicroseconds: quick ? random.uniform(1_000_000...2_000_000) : random.uniform(3_000_000...8_000_000),
            livenessBoundMicroseconds: 30_000_000,
            injectedBug: injectedBug,
            lateKeyspace: random.chance(0.5) ? nil : random.chance(0.5) ? eventualKeyspace : causalKeyspace,
            catalogDelayMaximumMicroseconds: random.uniform(10_000...800_000))
    }
}
