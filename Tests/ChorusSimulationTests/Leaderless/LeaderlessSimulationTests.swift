import ChorusSimulation
import Testing

@Suite struct LeaderlessDeterminismTests {
    /// One seed replays bit for bit, and another seed is another run.
    @Test(arguments: [UInt64(5), 77])
    func sameSeedSameTrace(seed: UInt64) {
        let first = LeaderlessCampaign.runSeed(seed, options: .init(quick: true))
        let second = LeaderlessCampaign.runSeed(seed, options: .init(quick: true))
        #expect(first.traceHash == second.traceHash, "seed \(seed) did not replay")
        #expect(first.events == second.events, "seed \(seed)")
        #expect(first.operations == second.operations, "seed \(seed)")
        #expect(first.simulatedMicroseconds == second.simulatedMicroseconds, "seed \(seed)")
        let other = LeaderlessCampaign.runSeed(seed + 1, options: .init(quick: true))
        #expect(other.traceHash != first.traceHash, "seeds \(seed) and \(seed + 1) ran identically")
    }

    @Test func traceSinkDoesNotChangeTheRun() {
        var lines = 0
        let traced = LeaderlessCampaign.runSeed(12, options: .init(quick: true), trace: { _ in lines += 1 })
        let untraced = LeaderlessCampaign.runSeed(12, options: .init(quick: true))
        #expect(traced.traceHash == untraced.traceHash)
        #expect(lines > 100)
    }
}

@Suite struct LeaderlessCampaignTests {
    /// The `swift test` campaign: short seeds, every check on each, and proof
    /// that the faults and the repair mechanisms were exercised.
    @Test func campaignHasNoViolations() async {
        let count = 160
        let summary = await LeaderlessCampaign.runConcurrently(start: 1, count: count, jobs: 2, options: .init(quick: true))
        for failure in summary.failures {
            Issue.record("seed \(failure.seed): \(failure.violation!) — rerun: chorus simulate leaderless --seed \(failure.seed) --quick --trace")
        }
        #expect(summary.seeds == count)
        #expect(summary.completedOperations > 20 * count, "the workload did little: \(summary.completedOperations) operations")
        print(
            "leaderless campaign: seeds=\(summary.seeds) ops=\(summary.completedOperations) simulated_seconds=\(summary.simulatedSeconds) unknown=\(summary.checkerUnknown)"
        )
    }

    /// The mechanisms the checks rely on ran: crashes with torn tails, hints
    /// stored and delivered, read repair, anti-entropy repairs, causal
    /// retransmissions, session retries.
    @Test func faultsAndRepairsAreExercised() {
        var totals = LeaderlessSimulation.Statistics()
        for seed in UInt64(1)...30 {
            let statistics = LeaderlessCampaign.runSeed(seed, options: .init(quick: true)).statistics
            totals.crashes += statistics.crashes
            totals.tornRecoveries += statistics.tornRecoveries
            totals.partitions += statistics.partitions
            totals.hintsStored += statistics.hintsStored
            totals.hintsDelivered += statistics.hintsDelivered
            totals.readRepairsSent += statistics.readRepairsSent
            totals.antiEntropyKeysRepaired += statistics.antiEntropyKeysRepaired
            totals.causalRetransmissions += statistics.causalRetransmissions
            totals.sessionRetries += statistics.sessionRetries
            totals.compactions += statistics.compactions
            totals.acknowledgedWrites += statistics.acknowledgedWrites
        }
        print("leaderless mechanisms over 30 seeds: \(totals)")
        #expect(totals.crashes > 0 && totals.tornRecoveries > 0 && totals.partitions > 0)
        #expect(totals.hintsStored > 0 && totals.hintsDelivered > 0)
        #expect(totals.readRepairsSent > 0 && totals.antiEntropyKeysRepaired > 0)
        #expect(totals.causalRetransmissions > 0 && totals.sessionRetries > 0 && totals.compactions > 0)
        #expect(totals.acknowledgedWrites > 1_000)
    }
}

/// Negative controls: each deliberate bug is caught within 1,000 seeds, by the
/// check it targets. Each test stops at the first violating seed.
@Suite struct LeaderlessNegativeControlTests {
    static let seedLimit = 1_000

    static func caught(_ bug: LeaderlessInjectedBug) async -> (outcome: LeaderlessSeedOutcome, seedsRun: Int)? {
        await LeaderlessCampaign.firstViolation(start: 1, limit: seedLimit, options: .init(injectedBug: bug, quick: true), jobs: 2)
    }

    @Test func writeThatDropsItsContextIsCaught() async throws {
        let found = try #require(await Self.caught(.writeDropsContext), "write-drops-context went unnoticed for \(Self.seedLimit) seeds")
        #expect(found.outcome.violation?.property == .lostWrite, "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("write-drops-context caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }

    @Test func visibilityBeforeDependenciesIsCaught() async throws {
        let found = try #require(
            await Self.caught(.visibleBeforeDependencies), "visible-before-dependencies went unnoticed for \(Self.seedLimit) seeds")
        #expect(
            [.causalConsistency, .sessionGuarantees].contains(found.outcome.violation?.property),
            "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("visible-before-dependencies caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }

    @Test func hintsForgottenAcrossACrashAreCaught() async throws {
        let found = try #require(await Self.caught(.forgottenHints), "forgotten-hints went unnoticed for \(Self.seedLimit) seeds")
        #expect(found.outcome.violation?.property == .durability, "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("forgotten-hints caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }
}
