/// How one seed of any simulator ended, as a campaign sums it up.
public protocol CampaignSeedOutcome: Sendable {
    var seed: UInt64 { get }
    var violation: Violation? { get }
    var operations: Int { get }
    var completedOperations: Int { get }
    var simulatedMicroseconds: UInt64 { get }
    var events: Int { get }
    /// FNV-1a over every event handled (`ChorusCore.FNV1a`): equal for equal runs.
    var traceHash: UInt64 { get }
    /// A checker ran out of budget on this seed (not a violation, not a pass).
    var checkerUnknown: Bool { get }
    /// Whether the next stronger level's checker found this seed's history in
    /// violation (nil: the simulator or the level has none, or the seed failed first).
    var strongerCheckerViolated: Bool? { get }
}

extension CampaignSeedOutcome {
    public var strongerCheckerViolated: Bool? { nil }
}

/// The sum of a campaign's seeds: what `chorus simulate … --seeds N` prints
/// (`seeds=… ops=… simulated_seconds=… wall_seconds=… violations=…`).
public struct CampaignSummary<Outcome: CampaignSeedOutcome>: Sendable {
    public var seeds = 0
    public var operations = 0
    public var completedOperations = 0
    public var simulatedMicroseconds: UInt64 = 0
    public var events = 0
    public var failures: [Outcome] = []
    /// Seeds a checker could not decide in its budget.
    public var checkerUnknown = 0
    /// Seeds on which the next stronger level's checker was run, and on
    /// how many it found a violation (the levels are distinct).
    public var strongerCheckerSeeds = 0
    public var strongerCheckerViolations = 0

    public init() {}

    public var simulatedSeconds: Double { Double(simulatedMicroseconds) / 1_000_000 }

    public mutating func add(_ outcome: Outcome) {
        seeds += 1
        operations += outcome.operations
        completedOperations += outcome.completedOperations
        simulatedMicroseconds += outcome.simulatedMicroseconds
        events += outcome.events
        if outcome.checkerUnknown { checkerUnknown += 1 }
        if let stronger = outcome.strongerCheckerViolated {
            strongerCheckerSeeds += 1
            if stronger { strongerCheckerViolations += 1 }
        }
        if outcome.violation != nil { failures.append(outcome) }
    }

    mutating func merge(_ other: CampaignSummary) {
        seeds += other.seeds
        operations += other.operations
        completedOperations += other.completedOperations
        simulatedMicroseconds += other.simulatedMicroseconds
        events += other.events
        checkerUnknown += other.checkerUnknown
        strongerCheckerSeeds += other.strongerCheckerSeeds
        strongerCheckerViolations += other.strongerCheckerViolations
        failures += other.failures
    }
}

/// Runs many seeds of one simulator and sums them up. Each seed is
/// independent, so a campaign can be split across tasks without changing
/// any seed's outcome; `runSeed` is the simulator.
enum SeedCampaign {
    /// Runs `count` seeds from `start`, in order; stops after the first
    /// failing seed when `stopAtFirstViolation` is set.
    static func run<Outcome: CampaignSeedOutcome>(
        start: UInt64, count: Int, stopAtFirstViolation: Bool, runSeed: (UInt64) -> Outcome
    ) -> CampaignSummary<Outcome> {
        var summary = CampaignSummary<Outcome>()
        for offset in 0..<count {
            let outcome = runSeed(start &+ UInt64(offset))
            summary.add(outcome)
            if stopAtFirstViolation && outcome.violation != nil { break }
        }
        return summary
    }

    /// Runs `count` seeds from `start` on `jobs` threads of their own
    /// (`DedicatedThread`: the cooperative pool stays free).
    static func runConcurrently<Outcome: CampaignSeedOutcome>(
        start: UInt64, count: Int, jobs: Int, runSeed: @escaping @Sendable (UInt64) -> Outcome
    ) async -> CampaignSummary<Outcome> {
        let jobCount = max(1, min(jobs, count))
        return await withTaskGroup(of: CampaignSummary<Outcome>.self) { group in
            for job in 0..<jobCount {
                group.addTask {
                    await DedicatedThread.run {
                        var summary = CampaignSummary<Outcome>()
                        var offset = job
                        while offset < count {
                            summary.add(runSeed(start &+ UInt64(offset)))
                            offset += jobCount
                        }
                        return summary
                    }
                }
            }
            var total = CampaignSummary<Outcome>()
            for await partial in group { total.merge(partial) }
            total.failures.sort { $0.seed < $1.seed }
            return total
        }
    }

    /// The first seed in `start..<start+limit` whose run violates a property,
    /// searching `jobs` seeds at a time (the negative-control tests), or nil.
    /// Seeds are judged in order, so the answer does not depend on `jobs`.
    static func firstViolation<Outcome: CampaignSeedOutcome>(
        start: UInt64, limit: Int, jobs: Int, runSeed: @escaping @Sendable (UInt64) -> Outcome
    ) async -> (outcome: Outcome, seedsRun: Int)? {
        let width = max(1, jobs)
        var offset = 0
        while offset < limit {
            let batch = min(width, limit - offset)
            let base = offset
            let outcomes = await withTaskGroup(of: Outcome.self) { group in
                for index in 0..<batch {
                    group.addTask { await DedicatedThread.run { runSeed(start &+ UInt64(base + index)) } }
                }
                var collected: [Outcome] = []
                for await outcome in group { collected.append(outcome) }
                return collected.sorted { $0.seed < $1.seed }
            }
            if let failing = outcomes.first(where: { $0.violation != nil }) {
                return (failing, Int(failing.seed - start) + 1)
            }
            offset += batch
        }
        return nil
    }
}
