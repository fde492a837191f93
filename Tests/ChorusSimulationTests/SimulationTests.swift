import ChorusRaft
import ChorusCore
import ChorusSimulation
import Testing

@Suite struct SimulationDeterminismTests {
    /// One seed replays bit for bit: the same seed gives the same trace hash,
    /// event count and history, and a different seed gives another run.
    @Test(arguments: [UInt64(3), 41, 977])
    func sameSeedSameTrace(seed: UInt64) {
        ReplayExpectations.sameSeedSameTrace(seed: seed) { Campaign.runSeed($0, options: .init(quick: true), trace: $1) }
    }

    @Test func traceSinkDoesNotChangeTheRun() {
        ReplayExpectations.traceSinkDoesNotChangeTheRun(seed: 12) { Campaign.runSeed($0, options: .init(quick: true), trace: $1) }
    }
}

@Suite struct SimulationCampaignTests {
    /// The `swift test` campaign: a few hundred short seeds, every Raft safety
    /// property, linearizability of every history, and convergence after healing.
    @Test func campaignHasNoViolations() async {
        let summary = await Campaign.runConcurrently(start: 1, count: 300, jobs: 2, options: .init(quick: true))
        for failure in summary.failures {
            Issue.record("seed \(failure.seed): \(failure.violation!) — rerun: chorus simulate raft --seed \(failure.seed) --quick --trace")
        }
        #expect(summary.seeds == 300)
        #expect(summary.completedOperations > 5_000, "the workload did little: \(summary.completedOperations) operations")
        print(
            "campaign: seeds=\(summary.seeds) ops=\(summary.completedOperations) simulated_seconds=\(summary.simulatedSeconds) unknown=\(summary.linearizabilityUnknown)"
        )
    }
}

/// The event store on the simulated cluster (`chorus simulate events`).
@Suite struct EventSimulationTests {
    @Test func eventCampaignHasNoViolations() async {
        let summary = await Campaign.runConcurrently(
            start: 1, count: 150, jobs: 2, options: .init(quick: true, workload: .eventStore))
        for failure in summary.failures {
            Issue.record("seed \(failure.seed): \(failure.violation!) — rerun: chorus simulate events --seed \(failure.seed) --quick --trace")
        }
        #expect(summary.completedOperations > 3_000, "the workload did little: \(summary.completedOperations)")
    }

    @Test(arguments: [
        (InjectedBug.appendIgnoresExpectedVersion, "expected-versions"),
        (InjectedBug.subscriptionSkipsBoundary, "catch-up-subscriptions"),
    ])
    func eventStoreBugsAreCaught(_ bug: InjectedBug, property: String) async throws {
        let found = try #require(
            await Campaign.firstViolation(
                start: 1, limit: NegativeControlTests.seedLimit, options: .init(injectedBug: bug, quick: true, workload: .eventStore),
                jobs: 2),
            "\(bug) went unnoticed for \(NegativeControlTests.seedLimit) seeds")
        let violation = try #require(found.outcome.violation)
        #expect(violation.property == .eventStore && violation.detail.hasPrefix(property), "seed \(found.outcome.seed): \(violation)")
        print("\(bug) caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(violation.detail.prefix(120))")
    }
}

/// Negative controls: each deliberate bug must be caught within 1,000 seeds,
/// proving the checks can fail. Each test stops at the first violating seed.
@Suite struct NegativeControlTests {
    static let seedLimit = 1_000

    @Test func followerReadIsCaught() async throws {
        let found = try #require(
            await Campaign.firstViolation(start: 1, limit: Self.seedLimit, options: .init(injectedBug: .followerRead, quick: true), jobs: 2),
            "follower-read went unnoticed for \(Self.seedLimit) seeds")
        #expect(found.outcome.violation?.property == .linearizability, "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("follower-read caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }

    @Test func unpersistedVoteIsCaught() async throws {
        let found = try #require(
            await Campaign.firstViolation(
                start: 1, limit: Self.seedLimit, options: .init(injectedBug: .unpersistedVote, quick: true), jobs: 2),
            "unpersisted-vote went unnoticed for \(Self.seedLimit) seeds")
        #expect(found.outcome.violation?.property == .electionSafety, "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("unpersisted-vote caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }

    /// A complete final record that fails its checksum, recovered as if torn
    /// (no vote suspension): a lost vote elects two leaders in one term, or a
    /// lost acknowledgement elects a leader without a committed entry.
    @Test func uncertainTailTreatedAsTornIsCaught() async throws {
        let found = try #require(
            await Campaign.firstViolation(
                start: 1, limit: Self.seedLimit, options: .init(injectedBug: .uncertainTailTreatedAsTorn, quick: true), jobs: 2),
            "uncertain-tail-treated-as-torn went unnoticed for \(Self.seedLimit) seeds")
        let property = found.outcome.violation!.property
        #expect(
            [.electionSafety, .leaderCompleteness, .stateMachineSafety, .linearizability].contains(property),
            "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("uncertain-tail-treated-as-torn caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }

    @Test func oldTermCommitIsCaught() async throws {
        let found = try #require(
            await Campaign.firstViolation(
                start: 1, limit: Self.seedLimit, options: .init(injectedBug: .oldTermCommit), jobs: 2),
            "old-term-commit went unnoticed for \(Self.seedLimit) seeds")
        let property = found.outcome.violation!.property
        #expect(
            [.leaderCompleteness, .stateMachineSafety, .linearizability].contains(property),
            "seed \(found.outcome.seed): \(found.outcome.violation!)")
        print("old-term-commit caught at seed \(found.outcome.seed) after \(found.seedsRun) seeds: \(found.outcome.violation!)")
    }
}
