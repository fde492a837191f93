import ChorusCore
import ChorusSimulation
import Testing

/// The saga workload on the simulated cluster (`chorus simulate sagas`).
@Suite struct SagaWorkloadTests {
    static func options(_ bug: InjectedBug? = nil) -> Campaign.Options {
        Campaign.Options(injectedBug: bug, quick: true, workload: .sagas)
    }

    /// Short seeds that pass clean, among them those the negative controls
    /// below are caught at.
    static let cleanSeeds: [UInt64] = [1, 2, 8]

    /// A few short seeds end with every saga final and every check silent,
    /// and the run did bite: sagas completed, compensated and were cancelled,
    /// some parked and were swept, hosts took over from one another.
    @Test func quickSeedsAreClean() throws {
        var totals = SagaStatistics()
        var crashes = 0
        for seed in Self.cleanSeeds {
            let outcome = Campaign.runSeed(seed, options: Self.options())
            #expect(
                outcome.violation == nil,
                "seed \(seed): \(outcome.violation.map(String.init(describing:)) ?? "") — rerun: chorus simulate sagas --seed \(seed) --quick --trace"
            )
            let statistics = try #require(outcome.sagaStatistics)
            #expect(
                statistics.sagas > 0 && statistics.sagas == statistics.completed + statistics.compensated + statistics.cancelled,
                "seed \(seed): \(statistics)")
            totals.completed += statistics.completed
            totals.compensated += statistics.compensated
            totals.cancelled += statistics.cancelled
            totals.parkedOnce += statistics.parkedOnce
            totals.leads += statistics.leads
            totals.operatorResolutions += statistics.operatorResolutions
            crashes += outcome.statistics.crashes
        }
        #expect(totals.completed > 0 && totals.compensated > 0 && totals.cancelled > 0, "\(totals)")
        #expect(totals.parkedOnce > 0 && totals.operatorResolutions > 0, "\(totals)")
        #expect(totals.leads > Self.cleanSeeds.count && crashes > 0, "\(totals) crashes=\(crashes)")
    }

    /// One seed replays bit for bit (trace hash, events, operations, time).
    @Test func oneSeedReplays() {
        ReplayExpectations.sameSeedSameTrace(seed: 8) { Campaign.runSeed($0, options: Self.options(), trace: $1) }
    }

    /// Each negative control is caught at the first seed that catches it in
    /// quick mode (found by `chorus simulate sagas --quick --seeds 1000
    /// --inject-bug NAME`), by the property it breaks; the clean run of the
    /// same seed passes (`cleanSeeds`).
    @Test(arguments: [
        (InjectedBug.sagaFreshKeyOnRetry, UInt64(2), "which no saga sent"),
        (InjectedBug.sagaCompensateForward, UInt64(1), "compensations ran in order"),
        (InjectedBug.sagaLockTableNotRebuilt, UInt64(8), "at once"),
    ])
    func injectedBugIsCaughtAtItsSeed(_ bug: InjectedBug, seed: UInt64, detail: String) throws {
        let caught = Campaign.runSeed(seed, options: Self.options(bug))
        let violation = try #require(caught.violation, "\(bug) went unnoticed at seed \(seed)")
        #expect(violation.property == .sagas && violation.detail.contains(detail), "seed \(seed): \(violation)")
        #expect(Self.cleanSeeds.contains(seed))
    }
}
