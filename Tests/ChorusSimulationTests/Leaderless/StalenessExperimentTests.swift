import ChorusSimulation
import Testing

/// PBS validation (Bailis et al., VLDB 2012): the simulated cluster with
/// N = 3, no repair and non-expanding partial quorums returns one of the
/// last K versions as often as the closed form says, within 4.5 standard
/// errors of a binomial proportion.
@Suite struct StalenessExperimentTests {
    @Test func readAndWriteQuorumsOfOneMatchTheClosedForm() async {
        let result = await DedicatedThread.run { StalenessExperiment.run(seed: 1, plan: .init(readQuorum: 1, writeQuorum: 1, samples: 1_200)) }
        #expect(result.samples == 1_200 && result.failedOperations == 0)
        // 1/3, 5/9 and 19/27.
        #expect(result.measurements.map(\.predicted).map { ($0 * 1_000).rounded() } == [333, 556, 704])
        for measurement in result.measurements {
            print("PBS N=3 R=1 W=1 K=\(measurement.versions): measured \(measurement.measured), predicted \(measurement.predicted) ± \(measurement.tolerance)")
            #expect(measurement.withinTolerance, "K=\(measurement.versions): \(measurement)")
        }
    }

    @Test func aLargerReadQuorumMatchesTooAndIsFresher() async {
        let result = await DedicatedThread.run { StalenessExperiment.run(seed: 2, plan: .init(readQuorum: 2, writeQuorum: 1, samples: 600)) }
        #expect(result.samples == 600)
        // 1 − (1/3)^K: 2/3, 8/9, 26/27.
        #expect(result.measurements.map(\.predicted).map { ($0 * 1_000).rounded() } == [667, 889, 963])
        for measurement in result.measurements {
            print("PBS N=3 R=2 W=1 K=\(measurement.versions): measured \(measurement.measured), predicted \(measurement.predicted) ± \(measurement.tolerance)")
            #expect(measurement.withinTolerance, "K=\(measurement.versions): \(measurement)")
        }
    }
}

extension StalenessExperimentTests {
    /// The comparison can fail: when writes reach every replica (Dynamo's
    /// expanding quorums) reads are far fresher than the closed form, which
    /// is then only a lower bound, and the same tolerance rejects them.
    @Test func expandingWritesAreFresherThanTheClosedForm() {
        let result = StalenessExperiment.run(seed: 3, plan: .init(samples: 300, expandingWrites: true))
        let first = result.measurements[0]
        print("PBS N=3 R=1 W=1 expanding K=1: measured \(first.measured), closed form \(first.predicted)")
        #expect(first.measured > first.predicted + first.tolerance)
        #expect(!first.withinTolerance)
    }
}
