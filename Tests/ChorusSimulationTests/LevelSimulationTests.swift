import ChorusCore
import ChorusSimulation
import Testing

/// The key-value workload at each consistency level (`chorus simulate raft
/// --consistency LEVEL`): every level's checker passes on its own reads, the
/// level below fails the next stronger checker on some seeds (the levels are
/// distinct), and a deliberate bug in a level's read path is caught.
@Suite struct LevelSimulationTests {
    /// Seeds per level: enough that the weaker levels fail the next stronger
    /// checker on some seed (session reads break K=1 staleness rarely).
    static let seeds: [SimulatedLevel: Int] = [
        .sequential: 120, .session: 150, .boundedStaleness: 60, .consistentPrefix: 60, .eventual: 60,
    ]

    /// Each level's checker passes on its own reads, and reads at a weaker
    /// level are really weaker: on some seeds the next stronger level's checker
    /// rejects them. A level whose reads always passed the stronger checker
    /// would be a name, not a level.
    @Test(arguments: SimulatedLevel.allCases.filter { $0 != .linearizable })
    func levelCampaignHasNoViolations(_ level: SimulatedLevel) async {
        let count = Self.seeds[level]!
        let summary = await Campaign.runConcurrently(start: 1, count: count, jobs: 2, options: .init(quick: true, level: level))
        for failure in summary.failures {
            Issue.record(
                "seed \(failure.seed): \(failure.violation!) — rerun: chorus simulate raft --seed \(failure.seed) --quick --consistency \(level) --trace"
            )
        }
        #expect(summary.completedOperations > count * 15, "the workload did little: \(summary.completedOperations)")
        if let stronger = level.strongerCheckerName {
            #expect(summary.strongerCheckerSeeds == count)
            #expect(summary.strongerCheckerViolations > 0, "\(level): the \(stronger) checker passed every one of \(count) seeds")
        }
    }

    @Test(arguments: [
        (InjectedBug.stalenessBoundIgnored, SimulatedLevel.boundedStaleness, "bounded-staleness"),
        (InjectedBug.sessionReadBeforeCatchUp, SimulatedLevel.session, "session"),
    ])
    func levelBugsAreCaught(_ bug: InjectedBug, level: SimulatedLevel, prefix: String) async throws {
        let found = try #require(
            await Campaign.firstViolation(
                start: 1, limit: NegativeControlTests.seedLimit, options: .init(injectedBug: bug, quick: true, level: level),
                jobs: 2),
            "\(bug) went unnoticed for \(NegativeControlTests.seedLimit) seeds")
        let violation = try #require(found.outcome.violation)
        #expect(
            violation.property == .consistencyLevel && violation.detail.hasPrefix(prefix),
            "seed \(found.outcome.seed): \(violation)")
        print("\(bug) caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(violation.detail.prefix(120))")
    }

    /// A pause only matters once it outlasts a staleness bound, and quick
    /// seeds are too short for that, so this control runs full-length seeds
    /// (the first violating one is seed 108; about 30 s on two cores).
    @Test func pausedTimeUncountedIsCaught() async throws {
        let found = try #require(
            await Campaign.firstViolation(
                start: 1, limit: 300, options: .init(injectedBug: .pausedTimeUncounted, level: .boundedStaleness), jobs: 2),
            "paused-time-uncounted went unnoticed for 300 seeds")
        let violation = try #require(found.outcome.violation)
        #expect(
            violation.property == .consistencyLevel && violation.detail.hasPrefix("bounded-staleness: max-lag"),
            "seed \(found.outcome.seed): \(violation)")
        print("paused-time-uncounted caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(violation.detail.prefix(120))")
    }

    /// Seeds a 10,000-seed campaign found: a read bounded by both K and T was
    /// served K entries behind a confirmation, missing writes acknowledged
    /// long before it began (the slack now stops at a confirmation recent
    /// enough for T).
    @Test(arguments: [UInt64(109_070), 109_178])
    func boundedByBothVersionsAndLagHoldsBoth(_ seed: UInt64) {
        let outcome = Campaign.runSeed(seed, options: .init(quick: true, level: .boundedStaleness))
        #expect(outcome.violation == nil, "seed \(seed): \(String(describing: outcome.violation))")
    }
}
