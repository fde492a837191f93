import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct MultiStreamAppendTests {
    func write(_ stream: StreamName, _ expected: ExpectedState, _ ids: [UInt64]) -> StreamAppend {
        StreamAppend(stream: stream, expected: expected, events: ids.map { event($0) })
    }

    @Test func atomicSuccessAssignsConsecutivePositionsPerStream() {
        var harness = Harness()
        harness.append("a", .noStream, [1])
        let result = harness.run(
            .appendMultiple(
                MultiStreamAppend(
                    writes: [write("a", .revision(0), [2, 3]), write("b", .noStream, [4])],
                    checks: [StreamCondition(stream: "c", expected: .noStream)])))
        guard case .appendedMultiple(let outcome) = result else {
            Issue.record("expected success, got \(result)")
            return
        }
        #expect(outcome.disposition == .written)
        #expect(outcome.streams.map(Placement.init) == [Placement(1...2, at: 1...2), Placement(0...0, at: 3...3)])
        #expect(outcome.streams.map(\.stream) == ["a", "b"])
        #expect(harness.revisionsAndIDs("a") == [Pair(0, 1), Pair(1, 2), Pair(2, 3)])
        #expect(harness.revisionsAndIDs("b") == [Pair(0, 4)])
        #expect(harness.allPositions() == [0, 1, 2, 3])
    }

    /// Every violated condition is reported, written and check-only alike, and nothing is written.
    @Test func failureReportsEveryViolationAndWritesNothing() {
        var harness = Harness()
        harness.append("a", .noStream, [1])
        harness.append("gone", .noStream, [2])
        harness.run(.hardDelete(stream: "gone", expected: .any))
        harness.append("c", .noStream, [3, 4])
        let headBefore = harness.store.headPosition
        let result = harness.run(
            .appendMultiple(
                MultiStreamAppend(
                    writes: [write("a", .revision(7), [10]), write("fresh", .any, [11]), write("gone", .any, [12])],
                    checks: [
                        StreamCondition(stream: "c", expected: .revision(0)),
                        StreamCondition(stream: "missing", expected: .streamExists),
                        StreamCondition(stream: "a", expected: .any),
                    ])))
        // "a" appears twice: refused before any check.
        #expect(result == .invalidEvent(InvalidEvent(streamIndex: 3 + 2, eventIndex: nil, problem: .duplicateStream("a"))))
        let failed = harness.run(
            .appendMultiple(
                MultiStreamAppend(
                    writes: [write("a", .revision(7), [10]), write("fresh", .any, [11]), write("gone", .any, [12])],
                    checks: [
                        StreamCondition(stream: "c", expected: .revision(0)),
                        StreamCondition(stream: "missing", expected: .streamExists),
                        StreamCondition(stream: "gone", expected: .noStream),
                    ])))
        #expect(failed == .invalidEvent(InvalidEvent(streamIndex: 5, eventIndex: nil, problem: .duplicateStream("gone"))))
        let violations = harness.run(
            .appendMultiple(
                MultiStreamAppend(
                    writes: [write("a", .revision(7), [10]), write("fresh", .any, [11]), write("gone", .any, [12])],
                    checks: [
                        StreamCondition(stream: "c", expected: .revision(0)),
                        StreamCondition(stream: "missing", expected: .streamExists),
                        StreamCondition(stream: "d", expected: .any),
                    ])))
        #expect(
            violations
                == .multiStreamConditionsFailed([
                    ConditionViolation(
                        stream: "a", isCheckOnly: false,
                        kind: .wrongExpectedVersion(expected: .revision(7), actual: .revision(0), cause: .stateMismatch)),
                    ConditionViolation(stream: "gone", isCheckOnly: false, kind: .streamDeleted),
                    ConditionViolation(
                        stream: "c", isCheckOnly: true,
                        kind: .wrongExpectedVersion(expected: .revision(0), actual: .revision(1), cause: .stateMismatch)),
                    ConditionViolation(
                        stream: "missing", isCheckOnly: true,
                        kind: .wrongExpectedVersion(expected: .streamExists, actual: .absent, cause: .stateMismatch)),
                ]))
        #expect(violations.code == "wrong_expected_version")
        #expect(harness.store.headPosition == headBefore, "nothing was written")
        #expect(harness.read("fresh") == .streamNotFound("fresh"))
        #expect(harness.store.streamInfo("fresh") == nil, "no stream record was created")
    }

    /// Check-only conditions on a tombstone: `any` and `no_stream` hold (KurrentDB), others are `streamDeleted`.
    @Test func checkOnlyConditionsOnATombstone() {
        var harness = Harness()
        harness.append("gone", .any, [1])
        harness.run(.hardDelete(stream: "gone", expected: .any))
        for (expected, holds) in [(ExpectedState.any, true), (.noStream, true), (.streamExists, false), (.revision(0), false)] {
            let result = harness.run(
                .appendMultiple(
                    MultiStreamAppend(
                        writes: [write(StreamName("w\(holds)\(expected)"), .any, [UInt64(harness.index + 100)])],
                        checks: [StreamCondition(stream: "gone", expected: expected)])))
            if holds {
                #expect(result.isSuccess, "\(expected): \(result)")
            } else {
                #expect(
                    result == .multiStreamConditionsFailed([ConditionViolation(stream: "gone", isCheckOnly: true, kind: .streamDeleted)]),
                    "\(expected)")
            }
        }
    }

    /// A retry of a whole multi-stream append returns the original outcome, even
    /// when a check-only condition no longer holds; a retry mixed with new
    /// writes is refused, naming the retried streams.
    @Test func retries() {
        var harness = Harness()
        let original = MultiStreamAppend(
            writes: [write("a", .noStream, [1, 2]), write("b", .noStream, [3])],
            checks: [StreamCondition(stream: "c", expected: .noStream)])
        guard case .appendedMultiple(let first) = harness.run(.appendMultiple(original)) else {
            Issue.record("original failed")
            return
        }
        harness.append("c", .any, [50])
        guard case .appendedMultiple(let retry) = harness.run(.appendMultiple(original)) else {
            Issue.record("retry failed")
            return
        }
        #expect(retry.disposition == .alreadyWritten)
        #expect(retry.streams.map(Placement.init) == first.streams.map { Placement($0.firstRevision.rawValue...$0.lastRevision.rawValue, at: $0.firstPosition.rawValue...$0.lastPosition.rawValue, .alreadyWritten) })
        let mixed = harness.run(
            .appendMultiple(MultiStreamAppend(writes: [write("a", .noStream, [1, 2]), write("d", .noStream, [4])])))
        #expect(
            mixed
                == .multiStreamConditionsFailed([
                    ConditionViolation(
                        stream: "a", isCheckOnly: false,
                        kind: .wrongExpectedVersion(expected: .noStream, actual: .revision(1), cause: .partialRetry))
                ]))
        #expect(harness.read("d") == .streamNotFound("d"))
        #expect(harness.allPositions() == [0, 1, 2, 3])
    }

    @Test func limitsOfAMultiStreamAppend() {
        var harness = Harness()
        let nine = (0..<9).map { write(StreamName("s\($0)"), .any, [UInt64($0)]) }
        #expect(
            harness.run(.appendMultiple(MultiStreamAppend(writes: nine)))
                == .invalidEvent(InvalidEvent(streamIndex: nil, eventIndex: nil, problem: .tooManyStreams(count: 9, limit: 8))))
        #expect(
            harness.run(.appendMultiple(MultiStreamAppend(writes: [], checks: [StreamCondition(stream: "a", expected: .any)])))
                == .invalidEvent(InvalidEvent(streamIndex: nil, eventIndex: nil, problem: .noEvents)))
        // Five events across streams exceed maximumEventsPerAppend (4).
        #expect(
            harness.run(.appendMultiple(MultiStreamAppend(writes: [write("a", .any, [1, 2, 3]), write("b", .any, [4, 5])])))
                == .appendTooLarge(AppendTooLarge(measure: .eventCount, actual: 5, limit: 4)))
        // The same id in two streams is allowed (ids are scoped by stream).
        #expect(harness.run(.appendMultiple(MultiStreamAppend(writes: [write("a", .any, [1]), write("b", .any, [1])]))).isSuccess)
        #expect(
            harness.run(.appendMultiple(MultiStreamAppend(writes: [write("$system", .any, [1])])))
                == .invalidStreamName("$system", .reservedForSystemStreams))
    }
}
