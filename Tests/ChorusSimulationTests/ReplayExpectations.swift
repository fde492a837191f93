import ChorusSimulation
import Testing

/// The determinism every simulator promises, checked the same way for each:
/// one seed replays bit for bit (trace hash, events, operations, time), a
/// neighbouring seed is another run, and tracing does not change the run.
enum ReplayExpectations {
    static func sameSeedSameTrace<Outcome: CampaignSeedOutcome>(
        seed: UInt64, _ run: (UInt64, ((String) -> Void)?) -> Outcome
    ) {
        let first = run(seed, nil)
        let second = run(seed, nil)
        #expect(first.traceHash == second.traceHash, "seed \(seed) did not replay")
        #expect(first.events == second.events, "seed \(seed)")
        #expect(first.operations == second.operations, "seed \(seed)")
        #expect(first.simulatedMicroseconds == second.simulatedMicroseconds, "seed \(seed)")
        let other = run(seed + 1, nil)
        #expect(other.traceHash != first.traceHash, "seeds \(seed) and \(seed + 1) ran identically")
    }

    static func traceSinkDoesNotChangeTheRun<Outcome: CampaignSeedOutcome>(
        seed: UInt64, _ run: (UInt64, ((String) -> Void)?) -> Outcome
    ) {
        var lines = 0
        let traced = run(seed, { _ in lines += 1 })
        let untraced = run(seed, nil)
        #expect(traced.traceHash == untraced.traceHash)
        #expect(lines > 100)
    }
}
