import ChorusCore
import ChorusReplication

/// Validates Probabilistically Bounded Staleness (Bailis, Venkataraman,
/// Franklin, Hellerstein and Stoica, VLDB 2012, §3.1, k-staleness) on the
/// simulated cluster: the measured probability that a read returns one of
/// the last K versions, against the closed form
/// `ProbabilisticBoundedStaleness.probabilityOfConsistentRead`
/// 1 − (C(N−W, R)/C(N, R))^K.
///
/// The paper's model, as the simulator realizes it (no faults, no read
/// repair, no anti-entropy, no hints):
/// - each write goes to a uniformly random primary, which coordinates it,
///   and reaches exactly W replicas: that one and W − 1 others drawn
///   uniformly (the network carries its replication to those only: the
///   partial quorum does not expand);
/// - each read goes to a uniformly random primary, which answers from itself
///   and R − 1 others drawn uniformly, and returns the merge of their
///   siblings.
///
/// One sample writes K_max fresh values to a fresh key, one after the other,
/// then reads it once; for each K ≤ K_max the read is fresh within K if it
/// returned one of the last K values. Samples are independent, so the count
/// is binomial and the tolerance is `sigmas` standard errors.
public enum StalenessExperiment {
    public struct Plan: Sendable, Hashable {
        public var readQuorum: Int
        public var writeQuorum: Int
        public var samples: Int
        public var versionsMaximum: Int
        /// Writes reach every replica, as Dynamo sends them (the quorum
        /// expands): the closed form is then only a lower bound.
        public var expandingWrites: Bool

        public var replicas: Int { LeaderlessParameters.replicationFactor }

        public init(readQuorum: Int = 1, writeQuorum: Int = 1, samples: Int = 3_000, versionsMaximum: Int = 3, expandingWrites: Bool = false) {
            precondition((1...LeaderlessParameters.replicationFactor).contains(readQuorum), "R must be in 1...N")
            precondition((1...LeaderlessParameters.replicationFactor).contains(writeQuorum), "W must be in 1...N")
            precondition(samples >= 1 && versionsMaximum >= 1, "at least one sample of at least one version")
            self.readQuorum = readQuorum
            self.writeQuorum = writeQuorum
            self.samples = samples
            self.versionsMaximum = versionsMaximum
            self.expandingWrites = expandingWrites
        }
    }

    /// One K's measurement beside the closed form.
    public struct Measurement: Sendable, Hashable {
        public var versions: Int
        public var measured: Double
        public var predicted: Double
        /// `sigmas` standard errors of a binomial proportion at the predicted value.
        public var tolerance: Double
        public var withinTolerance: Bool { abs(measured - predicted) <= tolerance }
    }

    public struct Result: Sendable {
        public var plan: Plan
        public var samples: Int
        /// Writes or reads that did not succeed (the experiment has no faults: none expected).
        public var failedOperations: Int
        public var measurements: [Measurement]
        public var simulatedMicroseconds: UInt64
    }

    /// The running counts, and the sample in progress.
    struct Tally {
        var samples = 0
        var failedOperations = 0
        /// fresh[k − 1]: samples whose read returned one of the last k values.
        var fresh: [Int] = []
        var written: [[UInt8]] = []
        /// Each sample (and each retry of a spoiled one) writes a fresh key.
        var nextKey = 0
        /// The nodes the current operation's replication (or read) may reach.
        var reachable: Set<Int> = []
    }

    public static let sigmas = 4.5

    /// Runs the experiment on one seed's delays (everything else is the plan's).
    public static func run(seed: UInt64, plan: Plan) -> Result {
        let simulation = LeaderlessSimulation(
            seed: seed, parameters: parameters(seed: seed, plan: plan), mode: .staleness(plan), trace: nil)
        let outcome = simulation.run()
        let tally = simulation.staleness
        let measurements = (1...plan.versionsMaximum).map { versions in
            let predicted = ProbabilisticBoundedStaleness.probabilityOfConsistentRead(
                replicas: plan.replicas, readQuorum: plan.readQuorum, writeQuorum: plan.writeQuorum, versions: versions)
            let measured = tally.samples == 0 ? 0 : Double(tally.fresh[versions - 1]) / Double(tally.samples)
            let error = (predicted * (1 - predicted) / Double(Swift.max(1, tally.samples))).squareRoot()
            return Measurement(versions: versions, measured: measured, predicted: predicted, tolerance: sigmas * error + 1e-9)
        }
        return Result(
            plan: plan, samples: tally.samples, failedOperations: tally.failedOperations, measurements: measurements,
            simulatedMicroseconds: outcome.simulatedMicroseconds)
    }

    /// A healthy three-node world with repair off; the seed draws only delays.
    static func parameters(seed: UInt64, plan: Plan) -> LeaderlessParameters {
        var parameters = LeaderlessParameters.draw(seed: seed, injectedBug: nil, quick: true)
        parameters.memberCount = plan.replicas
        parameters.clientCount = 1
        parameters.eventualReadQuorum = plan.readQuorum
        parameters.eventualWriteQuorum = plan.writeQuorum
        parameters.eventualDurableWriteQuorum = 0
        parameters.sloppyQuorum = false
        parameters.readRepairEnabled = false
        parameters.antiEntropyIntervalTicks = 1 << 40
        parameters.compactionThresholdRecords = 0
        parameters.lateKeyspace = nil
        parameters.partitionMeanIntervalMicroseconds = 0
        parameters.crashMeanIntervalMicroseconds = 0
        parameters.clientThinkMaximumMicroseconds = 0
        parameters.safetyPhaseMicroseconds = UInt64.max / 4
        return parameters
    }
}

extension LeaderlessSimulation {
    var stalenessPlan: StalenessExperiment.Plan? {
        if case .staleness(let plan) = mode { return plan }
        return nil
    }

    /// The next write of the sample, or its read, to a random primary; the
    /// replicas its replication or read may reach are drawn now.
    func startStalenessOperation(client: Int) {
        guard let plan = stalenessPlan else { return }
        if staleness.fresh.isEmpty { staleness.fresh = Array(repeating: 0, count: plan.versionsMaximum) }
        let key = ObjectKey(keyspace: LeaderlessKeys.eventual, kind: .versioned, "pbs\(staleness.nextKey)")
        let isRead = staleness.written.count == plan.versionsMaximum
        guard let node = servers[0].replication else { return }
        var primaries = node.primaries(of: key).map { Int($0.rawValue) }
        shuffleServers(&primaries, random: &random)
        let coordinator = primaries[0]
        let others = isRead ? plan.readQuorum - 1 : (plan.expandingWrites ? plan.replicas : plan.writeQuorum) - 1
        staleness.reachable = Set(primaries.prefix(1 + others))
        let action: LeaderlessOperation.Action = isRead ? .read : .put(value: uniqueValue(client), context: nil)
        history.append(LeaderlessOperation(
            client: client, key: key, action: action, level: .eventual, invokedAt: now, completedAt: nil, outcome: .pending))
        clients[client].current = LeaderlessClient.InFlight(historyIndex: history.count - 1, request: ClientRequestID(0), attempts: 0)
        sendAttempt(client: client, coordinator: coordinator)
    }

    /// Whether the experiment's network carries `message` (always, outside it).
    func stalenessAllows(_ message: ReplicationMessage, from: Int, to: Int) -> Bool {
        guard stalenessPlan != nil else { return true }
        switch message {
        case .replicate, .read: return staleness.reachable.contains(to)
        default: return true
        }
    }

    func stalenessCompleted(_ operation: LeaderlessOperation, client: Int) {
        guard let plan = stalenessPlan else { return }
        switch (operation.action, operation.outcome) {
        case (.put(let value, _), .written):
            staleness.written.append(value)
        case (.read, .read(let reply)):
            var returned: [[UInt8]] = []
            if case .versioned(let siblings)? = reply.value { returned = siblings.values }
            for versions in 1...plan.versionsMaximum where staleness.written.suffix(versions).contains(where: returned.contains) {
                staleness.fresh[versions - 1] += 1
            }
            staleness.samples += 1
            staleness.written = []
            staleness.nextKey += 1
        default:
            // A failed write or read spoils the sample: start it again on a fresh key.
            staleness.failedOperations += 1
            staleness.written = []
            staleness.nextKey += 1
        }
        if staleness.samples >= plan.samples {
            finished = true
            return
        }
        queue.schedule(.clientNext(client: client), at: now + 1)
    }
}
