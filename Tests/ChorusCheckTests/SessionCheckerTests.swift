import ChorusCheck
import Testing

/// The four session guarantees, each on the minimal violating histories of
/// nurturenature/jepsen-causal-consistency (its `adya_test.clj` and README),
/// restated for registers with versions, and on histories that must pass.
@Suite struct SessionCheckerTests {
    func check(_ builder: KeyValueHistoryBuilder) throws -> PropertyCheckResult {
        try SessionChecker.check(builder.history())
    }

    /// Every guarantee is reported, in a fixed order.
    @Test func reportsEachGuaranteeSeparately() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        let result = try check(history)
        #expect(result.properties.map(\.name) == [
            "read-your-writes", "monotonic-reads", "monotonic-writes", "writes-follow-reads", "integrity",
        ])
        #expect(result.verdict == .satisfied)
    }

    // MARK: Read your writes

    @Test func readYourWritesViolatedByAnAbsentRead() throws {
        // jepsen invalid-ryw: [:append :x 0] then [:r :x nil] in one process.
        var history = KeyValueHistoryBuilder()
        let write = history.write("a", "x", 0, v: 1)
        let read = history.read("a", "x", .null)
        let result = try check(history)
        #expect(violated(result) == ["read-your-writes"])
        let violation = try #require(result.property("read-your-writes")?.violations.first)
        #expect(violation.operationIDs == [write, read])
        #expect(violation.explanation.contains("v1 or later"))
    }

    @Test func readYourWritesViolatedByAnOlderOwnWrite() throws {
        // jepsen invalid-ryw-not-nil: appends 0 and 1, then reads [0].
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        let second = history.write("a", "x", 1, v: 2)
        let read = history.read("a", "x", 0, v: 1)
        let result = try check(history)
        #expect(violated(result) == ["read-your-writes"])
        #expect(result.property("read-your-writes")?.violations.first?.operationIDs == [second, read])
        #expect(result.property("read-your-writes")?.violationCount == 1)
    }

    @Test func readYourWritesHolds() throws {
        // jepsen valid-ryw: [:r :x nil], [:append :x 0], [:r :x [0]].
        var history = KeyValueHistoryBuilder()
        history.read("a", "x", .null)
        history.write("a", "x", 0, v: 1)
        history.read("a", "x", 0, v: 1)
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func anotherSessionsWriteNeedNotBeSeen() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        history.read("b", "x", .null)
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func aWriteThatTimedOutNeedNotBeRead() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, outcome: .info)
        history.read("a", "x", .null)
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func concurrentOperationsOfOneSessionAreNotOrdered() throws {
        // Two processes share a session token; a read that overlaps the write need not see it.
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1, from: 0, to: 10)
        history.read("a", "x", .null, from: 5, to: 6)
        #expect(try check(history).verdict == .satisfied)
        history.read("a", "x", .null, from: 11, to: 12)
        #expect(violated(try check(history)) == ["read-your-writes"])
    }

    // MARK: Monotonic reads

    @Test func monotonicReadsViolated() throws {
        // jepsen invalid-monotonic-reads: p2 reads [0], [0 1], [0].
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        history.write("b", "x", 1, v: 2)
        history.read("c", "x", 0, v: 1)
        let newer = history.read("c", "x", 1, v: 2)
        let older = history.read("c", "x", 0, v: 1)
        let result = try check(history)
        #expect(violated(result) == ["monotonic-reads"])
        #expect(result.property("monotonic-reads")?.violations.first?.operationIDs == [newer, older])
    }

    @Test func monotonicReadsAreIndependentPerKey() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        history.read("c", "x", 0, v: 1)
        history.read("c", "y", .null)
        #expect(try check(history).verdict == .satisfied)
    }

    // MARK: Monotonic writes

    @Test func monotonicWritesViolatedByTheWriteOrder() throws {
        // jepsen invalid-monotonic-writes: p0 appends 0 then 1; p1 reads [1] then [0],
        // so the store applied 1 before 0: the stated write order.
        var history = KeyValueHistoryBuilder()
        let first = history.write("a", "x", 0)
        let second = history.write("a", "x", 1)
        history.read("b", "x", 1)
        history.read("b", "x", 0)
        history.order("x", [1, 0])
        let result = try check(history)
        #expect(violated(result) == ["monotonic-writes"])
        #expect(result.property("monotonic-writes")?.violations.first?.operationIDs == [first, second])
    }

    @Test func monotonicWritesHoldWithTheSessionsOrder() throws {
        // jepsen valid-monotonic-writes.
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0)
        history.write("a", "x", 1)
        history.read("b", "x", 0)
        history.read("b", "x", 1)
        history.order("x", [0, 1])
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func monotonicWritesAcrossKeys() throws {
        // a writes x then y; b sees y, then misses x: a replica held y without x.
        var history = KeyValueHistoryBuilder()
        let x = history.write("a", "x", 0, v: 1)
        let y = history.write("a", "y", 0, v: 1)
        let sawY = history.read("b", "y", 0, v: 1)
        let missedX = history.read("b", "x", .null)
        let result = try check(history)
        #expect(violated(result) == ["monotonic-writes"])
        let violation = try #require(result.property("monotonic-writes")?.violations.first)
        #expect(violation.operationIDs == [x, y, sawY, missedX])
    }

    // MARK: Writes follow reads

    @Test func writesFollowReadsViolatedAcrossKeys() throws {
        // jepsen invalid-wfr: p1 reads x = 0 and writes y; p2 reads y, then x as nil.
        var history = KeyValueHistoryBuilder()
        let x = history.write("a", "x", 0, v: 1)
        let readX = history.read("b", "x", 0, v: 1)
        let y = history.write("b", "y", 0, v: 1)
        let readY = history.read("c", "y", 0, v: 1)
        let missed = history.read("c", "x", .null)
        let result = try check(history)
        #expect(violated(result) == ["writes-follow-reads"])
        let violation = try #require(result.property("writes-follow-reads")?.violations.first)
        #expect(violation.operationIDs == [x, readX, y, readY, missed])
        #expect(result.property("writes-follow-reads")?.violationCount == 1)
    }

    @Test func writesFollowReadsHolds() throws {
        // jepsen valid-wfr.
        var history = KeyValueHistoryBuilder()
        history.write("a", "y", 0, v: 1)
        history.read("b", "y", 0, v: 1)
        history.write("b", "x", 0, v: 1)
        history.read("c", "x", .null)
        history.read("c", "x", 0, v: 1)
        history.read("c", "y", 0, v: 1)
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func writesFollowReadsOnOneKey() throws {
        // b read v2 and then wrote, but its write was ordered before v2.
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 2)
        let read = history.read("b", "x", 0, v: 2)
        let write = history.write("b", "x", 1, v: 1)
        let result = try check(history)
        #expect(violated(result) == ["writes-follow-reads"])
        #expect(result.property("writes-follow-reads")?.violations.first?.operationIDs == [read, write])
    }

    @Test func writesFollowReadsTransitively() throws {
        // x → (b reads, writes y) → (c reads, writes z) → d reads z, then misses x.
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 1, v: 1)
        history.read("b", "x", 1, v: 1)
        history.write("b", "y", 1, v: 1)
        history.read("c", "y", 1, v: 1)
        history.write("c", "z", 1, v: 1)
        history.read("d", "z", 1, v: 1)
        history.read("d", "x", .null)
        let result = try check(history)
        #expect(violated(result) == ["writes-follow-reads"])
        #expect(result.property("writes-follow-reads")?.violations.first?.operationIDs.count == 7)
    }

    @Test func aCycleOfReadsIsAWritesFollowReadsViolation() throws {
        // Each session read the other's write before making its own.
        var history = KeyValueHistoryBuilder()
        history.read("a", "y", 1, v: 1)
        history.write("a", "x", 1, v: 1)
        history.read("b", "x", 1, v: 1)
        history.write("b", "y", 1, v: 1)
        let result = try check(history)
        #expect(violated(result) == ["writes-follow-reads"])
        let violation = try #require(result.property("writes-follow-reads")?.violations.first)
        #expect(Set(violation.operationIDs) == [0, 1, 2, 3])
        #expect(violation.explanation.contains("cycle"))
    }

    @Test func anAbsentReadWithoutAVersionMaySeeADelete() throws {
        // Chorus's store forgets a deleted key: a read says absent, version 0.
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        history.read("a", "x", 0, v: 1)
        history.delete("a", "x", v: 2)
        history.read("a", "x", .null, v: 0)
        // It may have seen the initial state too, so it does not raise the bar for later reads.
        history.read("a", "x", 0, v: 1)
        #expect(violated(try check(history)) == ["read-your-writes"])
        #expect(try check(history).property("read-your-writes")?.violations.first?.operationIDs == [2, 4])
        var clean = KeyValueHistoryBuilder()
        clean.write("a", "x", 0, v: 1)
        clean.delete("a", "x", v: 2)
        clean.read("a", "x", .null)
        clean.read("b", "x", 0, v: 1)
        clean.read("b", "x", .null)
        clean.read("b", "x", .null)
        #expect(try check(clean).verdict == .satisfied)
    }

    // MARK: Integrity and input

    @Test func aReadOfAnUnwrittenVersionIsAnIntegrityViolation() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, v: 1)
        history.read("b", "x", 7, v: 3)
        history.read("b", "x", 5, v: 1)
        let result = try check(history)
        #expect(violated(result) == ["integrity"])
        #expect(result.property("integrity")?.violationCount == 2)
    }

    @Test func anIndeterminateWriteIsPlacedByTheReadThatSawIt() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0, outcome: .info)
        history.read("b", "x", 0, v: 4)
        history.read("b", "x", .null)
        #expect(violated(try check(history)) == ["monotonic-reads"])
    }

    @Test func anAcknowledgedWriteNeedsAVersion() throws {
        var history = KeyValueHistoryBuilder()
        history.write("a", "x", 0)
        #expect(throws: HistoryError.self) { try check(history) }
    }

    // MARK: Properties

    @Test func aSessionConsistentStorePasses() throws {
        for seed in UInt64(1)...20 {
            var store = ReplicatedStoreSimulation(seed: seed, replicas: 3)
            store.run(sessions: 4, keys: 3, operations: 300, sessionConsistent: true)
            let result = try check(store.builder)
            #expect(result.verdict == .satisfied, "seed \(seed): \(result.phrase)")
        }
    }

    @Test func anEventuallyConsistentStoreIsCaught() throws {
        var caught: Set<String> = []
        for seed in UInt64(1)...20 {
            var store = ReplicatedStoreSimulation(seed: seed, replicas: 3)
            store.run(sessions: 4, keys: 3, operations: 300, sessionConsistent: false)
            let result = try check(store.builder)
            caught.formUnion(violated(result))
            #expect(result.property("integrity")?.verdict == .satisfied, "seed \(seed)")
        }
        #expect(caught.isSuperset(of: ["read-your-writes", "monotonic-reads", "writes-follow-reads"]), "\(caught)")
    }
}
