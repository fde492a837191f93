import ChorusCheck
import Testing

/// Consistent prefix on range reads: each must equal the state after some
/// prefix of the commit order (versions across keys).
@Suite struct ConsistentPrefixCheckerTests {
    /// u/a@1, u/b@2, u/a@3, u/c@4, delete u/b@5; and v/z@6 outside the prefix.
    func writes() -> KeyValueHistoryBuilder {
        var history = KeyValueHistoryBuilder()
        history.write("w", "u/a", 1, v: 1)
        history.write("w", "u/b", 2, v: 2)
        history.write("w", "u/a", 3, v: 3)
        history.write("w", "u/c", 4, v: 4)
        history.delete("w", "u/b", v: 5)
        history.write("w", "v/z", 6, v: 6)
        return history
    }

    func check(_ history: KeyValueHistoryBuilder) throws -> PropertyCheckResult {
        try ConsistentPrefixChecker.check(history.history())
    }

    @Test func everyPrefixPointIsAccepted() throws {
        var history = writes()
        history.range("r", "u/", [])
        history.range("r", "u/", [("u/a", 1)])
        history.range("r", "u/", [("u/a", 1), ("u/b", 2)])
        history.range("r", "u/", [("u/a", 3), ("u/b", 2)])
        history.range("r", "u/", [("u/a", 3), ("u/b", 2), ("u/c", 4)])
        history.range("r", "u/", [("u/a", 3), ("u/c", 4)])
        let result = try check(history)
        #expect(result.verdict == .satisfied, "\(result.properties.flatMap(\.violations))")
        #expect(result.statistics.field("rangeReads") == 6)
    }

    @Test func anEntryOverwrittenBeforeAnotherIsAGap() throws {
        // u/a@1 was overwritten at 3, yet the read also shows u/c@4.
        var history = writes()
        let read = history.range("r", "u/", [("u/a", 1), ("u/b", 2), ("u/c", 4)])
        let result = try check(history)
        #expect(violated(result) == ["consistent-prefix"])
        #expect(result.property("consistent-prefix")?.violations.first?.operationIDs == [2, read])
    }

    @Test func aMissingKeyIsAGap() throws {
        // u/b was present from 2 until its delete at 5; the read fixes P at 4.
        var history = writes()
        history.range("r", "u/", [("u/a", 3), ("u/c", 4)])
        #expect(try check(history).verdict == .satisfied)
        let early = history.range("r", "u/", [("u/a", 3)])
        let result = try check(history)
        #expect(violated(result) == ["consistent-prefix"])
        #expect(result.property("consistent-prefix")?.violationCount == 1)
        // u/a@3 fixes P ≥ 3; u/b is present on [3, 5) and u/c on [4, ∞), so
        // together they leave no point: both puts are needed to show it.
        #expect(result.property("consistent-prefix")?.violations.first?.operationIDs == [1, 3, early])
    }

    @Test func aLimitedReadSaysNothingPastItsLastKey() throws {
        var history = writes()
        history.range("r", "u/", [("u/a", 3)], truncated: true)
        history.range("r", "u/", [("u/c", 4)], after: "u/b")
        #expect(try check(history).verdict == .satisfied)
        history.range("r", "u/", [("u/a", 3), ("u/b", 2)], truncated: true)
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func keysOutsideThePrefixDoNotCount() throws {
        var history = writes()
        history.range("r", "u/", [("u/a", 1)])
        #expect(try check(history).verdict == .satisfied)
    }

    @Test func aVersionNoWriteHasIsAnIntegrityViolation() throws {
        var history = writes()
        history.range("r", "u/", [("u/a", 2)])
        history.range("r", "u/", [("u/b", 5)])
        history.range("r", "u/", [("v/z", 6)])
        let result = try check(history)
        #expect(violated(result) == ["integrity"])
        #expect(result.property("integrity")?.violationCount == 3)
    }

    @Test func aWriteOrderIsNotACommitOrder() throws {
        var history = writes()
        history.order("u/a", [1, 3])
        #expect(throws: HistoryError.self) { try check(history) }
    }

    @Test func readsOfAReplicatedLogPass() throws {
        // Every range read of a prefix of one log is consistent; a torn one is not.
        var history = KeyValueHistoryBuilder()
        var state: [String: Int64] = [:]
        for version in Int64(1)...200 {
            let key = "k/\(version % 7)"
            history.write("w", key, .integer(version), v: version)
            state[key] = version
            if version % 5 == 0 {
                history.range("r", "k/", state.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            }
        }
        #expect(try check(history).verdict == .satisfied)
        var torn = state.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        torn[3].1 -= 7
        history.range("r", "k/", torn)
        #expect(violated(try check(history)) == ["consistent-prefix"])
    }
}
