import ChorusCheck
@testable import ChorusLab
import Testing

/// A hand-made history with known anomalies, judged as each level would be.
///
/// | op | who | does | at (ms) |
/// |---|---|---|---|
/// | 0 | writer | writes k = a (version 1) | 0–1 |
/// | 1 | writer | writes k = b (version 2) | 2–3 |
/// | 2 | client 0 | reads a: stale by 1 version, 10 ms | 13–15 |
/// | 3 | client 0 | reads b | 16–20 |
/// | 4 | client 1 | reads b | 21–22 |
/// | 5 | client 1 | reads a: stale (1 version, 20 ms) and a monotonic-read violation | 23–24 |
/// | 6 | client 2 | range read of the prefix: [k at 2] | 25–26 |
@Suite struct LabAnalysisTests {
    static let millisecond: Int64 = 1_000_000

    static var operations: [KeyValueOperation] {
        var instant = 0
        func operation(
            _ process: Int64, _ function: KeyValueFunction, value: HistoryValue = .null, version: Int64? = nil,
            range: RangeReadResult? = nil, from start: Int64, to end: Int64
        ) -> KeyValueOperation {
            defer { instant += 2 }
            return KeyValueOperation(
                process: ProcessID(process), function: function, key: .string(function == .rangeRead ? "lab/" : "lab/k"), value: value,
                version: version, range: range, outcome: .ok, invokedAt: instant, completedAt: instant + 1,
                invokeTime: start * millisecond, completeTime: end * millisecond)
        }
        return [
            operation(1_000, .write, value: .string("a"), version: 1, from: 0, to: 1),
            operation(1_000, .write, value: .string("b"), version: 2, from: 2, to: 3),
            operation(0, .read, value: .string("a"), version: 1, from: 13, to: 15),
            operation(0, .read, value: .string("b"), version: 2, from: 16, to: 20),
            operation(1, .read, value: .string("b"), version: 2, from: 21, to: 22),
            operation(1, .read, value: .string("a"), version: 1, from: 23, to: 24),
            operation(2, .rangeRead, range: RangeReadResult(entries: [RangeEntry(key: "lab/k", version: 2)]), from: 25, to: 26),
        ]
    }

    static func report(_ level: LabLevel) throws -> LevelReport {
        try LabAnalysis.report(level: level, operations: operations, seconds: 2)
    }

    @Test func everyCheckerCountsExactlyTheAnomaliesPlanted() throws {
        let report = try Self.report(.eventual)
        let violations = Dictionary(uniqueKeysWithValues: report.checks.map { ($0.check, $0.violations) })
        #expect(violations == [
            .staleReads: 2, .maximumVersions: 0, .maximumLag: 0, .readYourWrites: 0, .monotonicReads: 1, .monotonicWrites: 0,
            .writesFollowReads: 0, .consistentPrefix: 0, .integrity: 0,
        ])
        #expect(report.checks.map(\.check) == LabCheck.allCases)
        #expect(report.check(.monotonicReads)?.verdict == "violated")
        #expect(report.check(.monotonicReads)?.example != nil)
        #expect(report.check(.integrity)?.verdict == "satisfied")
    }

    @Test func onlyTheLevelsOwnChecksCountAgainstIt() throws {
        #expect(try Self.report(.eventual).ownViolations == 0)
        #expect(try Self.report(.consistentPrefix).ownViolations == 0)
        #expect(try Self.report(.boundedStalenessVersions).ownViolations == 0)
        #expect(try Self.report(.session).ownViolations == 1)
        #expect(try Self.report(.sequential).ownViolations == 1)
        #expect(try Self.report(.linearizable).ownViolations == 3)
        #expect(try Self.report(.eventual).check(.staleReads)?.own == false)
        #expect(try Self.report(.linearizable).check(.staleReads)?.own == true)
    }

    @Test func countsLatenciesAndStalenessAreExact() throws {
        let report = try Self.report(.eventual)
        #expect(report.reads == LevelReport.Counts(ok: 4, failed: 0, unknown: 0))
        #expect(report.writes == LevelReport.Counts(ok: 2, failed: 0, unknown: 0))
        #expect(report.rangeReads == LevelReport.Counts(ok: 1, failed: 0, unknown: 0))
        #expect(report.readsPerSecond == 2)
        // Read latencies 2, 4, 1 and 1 ms; writes 1 and 1 ms.
        #expect(report.readLatencyMilliseconds == Percentiles([1, 1, 2, 4]))
        #expect(report.readLatencyMilliseconds.p50 == 1)
        #expect(report.readLatencyMilliseconds.p99 == 4)
        #expect(report.writeLatencyMilliseconds.max == 1)
        #expect(report.staleness.measuredReads == 4)
        #expect(report.staleness.staleReads == 2)
        #expect(report.staleness.versions.p50 == 0)
        #expect(report.staleness.versions.max == 1)
        #expect(report.staleness.milliseconds.p50 == 0)
        #expect(report.staleness.milliseconds.p99 == 20)
        #expect(report.staleness.milliseconds.max == 20)
    }

    @Test func percentilesAreNearestRank() {
        let sample = (1...1_000).map(Double.init).shuffled()
        let percentiles = Percentiles(sample)
        #expect(percentiles.count == 1_000)
        #expect(percentiles.p50 == 500)
        #expect(percentiles.p99 == 990)
        #expect(percentiles.p999 == 999)
        #expect(percentiles.max == 1_000)
        #expect(Percentiles([]) == Percentiles([]))
        #expect(Percentiles([]).count == 0)
        #expect(Percentiles([]).max == 0)
        #expect(Percentiles([7]).p50 == 7)
        #expect(Percentiles([7]).p999 == 7)
    }
}
