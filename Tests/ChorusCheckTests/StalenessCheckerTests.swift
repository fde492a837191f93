import ChorusCheck
import Testing

/// Bounded staleness: versions behind and lag, per read, and the bounds.
@Suite struct StalenessCheckerTests {
    let milliseconds = StalenessOptions(timeUnitsPerMillisecond: 1)

    /// Three acknowledged writes of x at times 0–1, 2–3, 4–5, then a read.
    func threeWrites() -> KeyValueHistoryBuilder {
        var history = KeyValueHistoryBuilder()
        history.write("w", "x", 1, v: 1)
        history.write("w", "x", 2, v: 2)
        history.write("w", "x", 3, v: 3)
        return history
    }

    @Test func countsAcknowledgedNewerWrites() throws {
        var history = threeWrites()
        history.read("r", "x", 1, v: 1, from: 100, to: 101)
        history.read("r", "x", 3, v: 3, from: 102, to: 103)
        history.read("r", "x", .null, from: 104, to: 105)
        let measured = try StalenessChecker.measure(history.history(), options: milliseconds)
        #expect(measured.map(\.versionsBehind) == [2, 0, 3])
        // v1 was superseded when v2 was acknowledged at time 3; the read began at 100.
        #expect(measured.map(\.lagMilliseconds) == [97, 0, 103])
        #expect(measured.map(\.supersededBy) == [1, nil, 0])
    }

    @Test func writesNotYetAcknowledgedDoNotCount() throws {
        var history = KeyValueHistoryBuilder()
        history.write("w", "x", 1, v: 1, from: 0, to: 1)
        history.write("w", "x", 2, v: 2, from: 2, to: 20)
        history.write("v", "x", 3, v: 3, outcome: .info, from: 3)
        history.read("r", "x", 1, v: 1, from: 10, to: 11)
        // An acknowledgement at the read's own instant is concurrent with it.
        history.read("r", "x", 1, v: 1, from: 20, to: 21)
        let measured = try StalenessChecker.measure(history.history(), options: milliseconds)
        #expect(measured.map(\.versionsBehind) == [0, 0])
    }

    @Test func theVersionBound() throws {
        var history = threeWrites()
        let read = history.read("r", "x", 1, v: 1, from: 100, to: 101)
        let strict = try StalenessChecker.check(history.history(), options: StalenessOptions(maximumVersions: 1, timeUnitsPerMillisecond: 1))
        #expect(violated(strict) == ["max-versions"])
        // The K + 1 newer acknowledged writes and the read show it.
        #expect(strict.property("max-versions")?.violations.first?.operationIDs == [1, 2, read])
        let loose = try StalenessChecker.check(history.history(), options: StalenessOptions(maximumVersions: 2, timeUnitsPerMillisecond: 1))
        #expect(loose.verdict == .satisfied)
    }

    @Test func theTimeBoundAllowsTheDrift() throws {
        var history = KeyValueHistoryBuilder()
        history.write("w", "x", 1, v: 1, from: 0, to: 1)
        history.write("w", "x", 2, v: 2, from: 90, to: 100)
        let read = history.read("r", "x", 1, v: 1, from: 400, to: 401)
        let tight = try StalenessChecker.check(
            history.history(), options: StalenessOptions(maximumLagMilliseconds: 200, clockDriftMilliseconds: 50, timeUnitsPerMillisecond: 1))
        #expect(violated(tight) == ["max-lag"])
        #expect(tight.property("max-lag")?.violations.first?.operationIDs == [1, read])
        #expect(tight.property("max-lag")?.violations.first?.explanation.contains("300 ms") == true)
        let atTheBound = try StalenessChecker.check(
            history.history(), options: StalenessOptions(maximumLagMilliseconds: 250, clockDriftMilliseconds: 50, timeUnitsPerMillisecond: 1))
        #expect(atTheBound.verdict == .satisfied)
    }

    @Test func timeUnitsConvert() throws {
        var history = KeyValueHistoryBuilder()
        history.write("w", "x", 1, v: 1, from: 0, to: 1)
        history.write("w", "x", 2, v: 2, from: 2, to: 3)
        history.read("r", "x", 1, v: 1, from: 2_003, to: 2_004)
        let measured = try StalenessChecker.measure(history.history(), options: StalenessOptions(timeUnitsPerMillisecond: 1_000))
        #expect(measured.first?.lagMilliseconds == 2)
    }

    @Test func aTimeBoundWithoutTimesIsUnknown() throws {
        var operations = threeWrites().operations
        operations.append(KeyValueOperation(
            process: 9, function: .read, key: "x", value: 1, version: 1, outcome: .ok, invokedAt: 100, completedAt: 101))
        for index in operations.indices {
            operations[index].invokeTime = nil
            operations[index].completeTime = nil
        }
        let result = try StalenessChecker.check(KeyValueHistory(operations: operations), options: StalenessOptions(maximumLagMilliseconds: 10))
        #expect(result.property("max-lag")?.verdict == .unknown)
    }

    @Test func theDistributionIsReported() throws {
        var history = threeWrites()
        history.read("r", "x", 1, v: 1, from: 100, to: 101)
        history.read("r", "x", 3, v: 3, from: 102, to: 103)
        history.read("r", "x", 3, v: 3, from: 104, to: 105)
        let result = try StalenessChecker.check(history.history(), options: StalenessOptions(maximumVersions: 5, timeUnitsPerMillisecond: 1))
        #expect(result.statistics.field("reads") == 3)
        #expect(result.statistics.field("staleReads") == 1)
        let versions = try #require(result.statistics.field("versions"))
        #expect(versions.field("max") == 2)
        #expect(versions.field("p50") == 0)
        #expect(versions.field("histogram") == [[0, 2], [2, 1]])
        let lag = try #require(result.statistics.field("milliseconds"))
        #expect(lag.field("max") == .float(97))
        #expect(lag.field("histogram") == [["<=0", 2], ["<=100", 1]])
        #expect(result.statistics.field("perRead") == nil)
        let detailed = try StalenessChecker.check(history.history(), options: StalenessOptions(timeUnitsPerMillisecond: 1), perRead: true)
        #expect(detailed.statistics.field("perRead") == [[3, 2, .float(97)], [4, 0, .float(0)], [5, 0, .float(0)]])
    }

    @Test func eachReadOfALargeHistoryIsMeasured() throws {
        var store = ReplicatedStoreSimulation(seed: 7, replicas: 3)
        store.run(sessions: 8, keys: 5, operations: 600, sessionConsistent: false)
        let history = try store.builder.history()
        let measured = try StalenessChecker.measure(history, options: milliseconds)
        #expect(measured.count == history.operations.filter { $0.function == .read }.count)
        // A brute-force count agrees on every read.
        for read in measured {
            let operation = history.operations[read.operationID]
            let returned = operation.version ?? 0
            let expected = history.operations.filter {
                $0.function == .write && $0.key == operation.key && ($0.completedAt ?? .max) < operation.invokedAt
                    && ($0.version ?? 0) > returned
            }.count
            #expect(read.versionsBehind == expected)
        }
    }
}
