import ChorusCheck
import Testing

/// Small histories that pin the rules a checker most easily gets wrong.
@Suite struct HandMadeHistoryTests {
    // MARK: Real time and zero-duration operations

    @Test func zeroDurationReadInsideAWrite() throws {
        let history = try History(operations: [
            op(0, "write", 1, 1, .ok, from: 0, to: 10),
            op(1, "read", .null, 1, .ok, from: 5, to: 5),
        ])
        #expect(try ModelKind.casRegister.check(history, condition: .linearizable).verdict == .satisfied)
    }

    @Test func zeroDurationReadAtTheSameInstantAsACompletionIsConcurrent() throws {
        // Equal instants are concurrent, so the read may go before the write.
        let atCompletion = try History(operations: [
            op(0, "write", 1, 1, .ok, from: 0, to: 10),
            op(1, "read", .null, .null, .ok, from: 10, to: 10),
        ])
        #expect(try ModelKind.casRegister.check(atCompletion, condition: .linearizable).verdict == .satisfied)
        let after = try History(operations: [
            op(0, "write", 1, 1, .ok, from: 0, to: 10),
            op(1, "read", .null, .null, .ok, from: 11, to: 11),
        ])
        #expect(try ModelKind.casRegister.check(after, condition: .linearizable).verdict == .violated)
    }

    @Test func operationsCannotCompleteBeforeTheyStart() {
        #expect(throws: HistoryError.self) {
            try History(operations: [op(0, "read", .null, .null, .ok, from: 5, to: 4)])
        }
    }

    @Test func aCompletionForAnotherKeyIsAnError() throws {
        #expect(throws: HistoryError.self) {
            try History(events: [e(0, .invoke, "put", 1, key: "a"), e(0, .ok, "put", 1, key: "b")])
        }
        // Leaving the key out of the completion is fine.
        _ = try History(events: [e(0, .invoke, "put", 1, key: "a"), e(0, .ok, "put", 1)])
    }

    @Test func aSetReadWithARepeatedElementIsNeverConsistent() throws {
        #expect(try verdict([e(0, .invoke, "add", 1), e(0, .ok, "add", 1), e(1, .invoke, "read"), e(1, .ok, "read", [1, 1])], model: .set) == .violated)
        #expect(try verdict([e(0, .invoke, "add", 1), e(0, .ok, "add", 1), e(1, .invoke, "read"), e(1, .ok, "read", [1])], model: .set) == .satisfied)
    }

    // MARK: Failed operations did not happen

    @Test func failedCasIsDropped() throws {
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(1, .invoke, "cas", [2, 3]), e(1, .fail, "cas", [2, 3]),
            e(2, .invoke, "read"), e(2, .ok, "read", 1),
        ]) == .satisfied)
        // Its effect must never be visible, even when its comparison would have held.
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(1, .invoke, "cas", [1, 2]), e(1, .fail, "cas", [1, 2]),
            e(2, .invoke, "read"), e(2, .ok, "read", 2),
        ]) == .violated)
    }

    @Test func successfulCasNeedsItsExpectedValue() throws {
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(1, .invoke, "cas", [2, 3]), e(1, .ok, "cas", [2, 3]),
        ]) == .violated)
    }

    // MARK: nil

    @Test func readOfNilBeforeAnyWrite() throws {
        #expect(try verdict([e(0, .invoke, "read"), e(0, .ok, "read", .null)]) == .satisfied)
        #expect(try verdict([
            e(0, .invoke, "read"), e(1, .invoke, "write", 1), e(1, .ok, "write", 1), e(0, .ok, "read", .null),
        ]) == .satisfied)
        #expect(try verdict([
            e(1, .invoke, "write", 1), e(1, .ok, "write", 1), e(0, .invoke, "read"), e(0, .ok, "read", .null),
        ]) == .violated)
    }

    // MARK: Indeterminate operations

    @Test func indeterminateWriteTakesEffectLate() throws {
        // The write's client gave up, yet the write lands after the first read.
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(0, .info, "write", .keyword("timed-out")),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
            e(1, .invoke, "read"), e(1, .ok, "read", 1),
        ]) == .satisfied)
    }

    @Test func indeterminateWriteCannotTakeEffectBeforeItsInvocation() throws {
        #expect(try verdict([
            e(1, .invoke, "read"), e(1, .ok, "read", 1),
            e(0, .invoke, "write", 1), e(0, .info, "write", .keyword("timed-out")),
        ]) == .violated)
    }

    @Test func indeterminateWriteNeverTakesEffect() throws {
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(0, .info, "write", .keyword("timed-out")),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
        ]) == .satisfied)
        // The same with no completion at all.
        #expect(try verdict([
            e(0, .invoke, "write", 1),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
        ]) == .satisfied)
    }

    @Test func indeterminateWriteTakesEffectAtMostOnce() throws {
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(0, .info, "write", .keyword("timed-out")),
            e(1, .invoke, "read"), e(1, .ok, "read", 1),
            e(1, .invoke, "write", 2), e(1, .ok, "write", 2),
            e(1, .invoke, "read"), e(1, .ok, "read", 1),
        ]) == .violated)
    }

    @Test func timedOutReadIsIndeterminateNotFailed() throws {
        let history = try HistoryFormat.jepsenLog.history(from: Array("""
            INFO  jepsen.util - 0\t:invoke\t:read\tnil
            INFO  jepsen.util - 0\t:fail\t:read\t:timed-out

            """.utf8))
        #expect(history.operations[0].outcome == .timedOut)
        #expect(history.operations[0].outcome.isIndeterminate)
        #expect(try ModelKind.casRegister.check(history, condition: .linearizable).verdict == .satisfied)
    }

    // MARK: Concurrent writes

    @Test func concurrentWritesThenReadsThatDisagree() throws {
        let writes = [
            e(0, .invoke, "write", 1), e(1, .invoke, "write", 2), e(1, .ok, "write", 2), e(0, .ok, "write", 1),
        ]
        #expect(try verdict(writes + [
            e(2, .invoke, "read"), e(2, .ok, "read", 1), e(3, .invoke, "read"), e(3, .ok, "read", 2),
        ]) == .violated)
        #expect(try verdict(writes + [
            e(2, .invoke, "read"), e(2, .ok, "read", 2), e(3, .invoke, "read"), e(3, .ok, "read", 2),
        ]) == .satisfied)
        // Concurrent reads during the writes may see either order.
        #expect(try verdict([
            e(0, .invoke, "write", 1), e(1, .invoke, "write", 2),
            e(2, .invoke, "read"), e(2, .ok, "read", 1),
            e(3, .invoke, "read"), e(3, .ok, "read", 2),
            e(1, .ok, "write", 2), e(0, .ok, "write", 1),
        ]) == .satisfied)
    }

    // MARK: Counterexample content

    @Test func counterexampleNamesTheStaleRead() throws {
        let history = try History(events: [
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
        ])
        let result = try ModelKind.casRegister.check(history, condition: .linearizable)
        let counterexample = try #require(result.counterexample)
        #expect(counterexample.prefix.map(\.operationID) == [0])
        #expect(counterexample.stateAtEnd == "1")
        #expect(counterexample.blockingOperationID == 1)
        #expect(counterexample.unplaceable == [1])
    }

    // MARK: Sequential consistency

    @Test func staleReadIsSequentiallyConsistentButNotLinearizable() throws {
        let events = [
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
        ]
        #expect(try verdict(events, .linearizable) == .violated)
        #expect(try verdict(events, .sequential) == .satisfied)
    }

    @Test func readsGoingBackwardsAcrossProcessesAreStillSequentiallyConsistent() throws {
        // p1 sees 2 then p2 sees 1: SC orders p2's read before the second write.
        let events = [
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(0, .invoke, "write", 2), e(0, .ok, "write", 2),
            e(1, .invoke, "read"), e(1, .ok, "read", 2),
            e(2, .invoke, "read"), e(2, .ok, "read", 1),
        ]
        #expect(try verdict(events, .linearizable) == .violated)
        #expect(try verdict(events, .sequential) == .satisfied)
    }

    @Test func ownWriteNotSeenIsNotSequentiallyConsistent() throws {
        let events = [
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(0, .invoke, "read"), e(0, .ok, "read", .null),
        ]
        #expect(try verdict(events, .sequential) == .violated)
        let result = try ModelKind.casRegister.check(History(events: events), condition: .sequential)
        #expect(result.phrase == "not sequentially consistent")
        #expect(result.counterexample?.blockingOperationID == nil)
    }

    @Test func monotonicReadsWithinAProcessAreRequired() throws {
        let events = [
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(0, .invoke, "write", 2), e(0, .ok, "write", 2),
            e(1, .invoke, "read"), e(1, .ok, "read", 2),
            e(1, .invoke, "read"), e(1, .ok, "read", 1),
        ]
        #expect(try verdict(events, .sequential) == .violated)
    }

    @Test func sequentialConsistencyIsNotCheckedKeyByKey() throws {
        // Herlihy & Wing's example (§3.3): each key alone is sequentially
        // consistent, the two together are not.
        let events = [
            e(0, .invoke, "put", "a", key: "x"), e(0, .ok, "put", "a", key: "x"),
            e(0, .invoke, "get", key: "y"), e(0, .ok, "get", "", key: "y"),
            e(1, .invoke, "put", "b", key: "y"), e(1, .ok, "put", "b", key: "y"),
            e(1, .invoke, "get", key: "x"), e(1, .ok, "get", "", key: "x"),
        ]
        #expect(try verdict(events, .sequential, model: .keyValue) == .violated)
        #expect(try verdict(Array(events.filter { $0.key == "x" }), .sequential, model: .keyValue) == .satisfied)
        #expect(try verdict(Array(events.filter { $0.key == "y" }), .sequential, model: .keyValue) == .satisfied)
    }

    // MARK: Budgets

    @Test func exhaustedMemoGivesUnknownNotAVerdict() throws {
        let history = try History(events: RandomRegisterHistory(seed: 7, clients: 6, operations: 120).events)
        let result = try ModelKind.casRegister.check(
            history, condition: .linearizable, options: CheckOptions(memoBytesMaximum: 100))
        #expect(result.verdict == .unknown)
        #expect(result.unknownReason == .memoLimit(bytes: 100))
        #expect(result.phrase == "unknown")
    }

    @Test func expiredTimeBudgetGivesUnknown() throws {
        // Fourteen concurrent writes and a read of a value nobody wrote: the
        // search must try every subset of writes before concluding, far more
        // steps than one deadline-check interval.
        var events: [HistoryEvent] = []
        for process in 0..<14 { events.append(e(Int64(process), .invoke, "write", .integer(Int64(process)))) }
        for process in 0..<14 { events.append(e(Int64(process), .ok, "write", .integer(Int64(process)))) }
        events += [e(99, .invoke, "read"), e(99, .ok, "read", 99)]
        let history = try History(events: events)
        let budgeted = try ModelKind.casRegister.check(
            history, condition: .linearizable, options: CheckOptions(timeout: .zero))
        #expect(budgeted.verdict == .unknown)
        #expect(budgeted.unknownReason == .timeout)
        #expect(try ModelKind.casRegister.check(history, condition: .linearizable).verdict == .violated)
    }
}
