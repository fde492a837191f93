import ChorusCheck
import Testing

/// Builds event-store histories: each operation gets the next two instants
/// unless placed; records sit at the current instant.
struct EventStoreHistoryBuilder {
    var operations: [EventStoreOperation] = []
    var records: [SubscriptionRecord] = []
    var clock = 0

    @discardableResult
    mutating func append(
        _ process: Int64, _ stream: String, _ ids: [String], expected: ExpectedState = .any, _ result: AppendResult,
        from: Int? = nil, to: Int? = nil
    ) -> Int {
        let start = from ?? clock
        let end: Int? = result == .indeterminate && to == nil ? nil : (to ?? start + 1)
        clock = max(clock, (end ?? start) + 1)
        operations.append(EventStoreOperation(
            process: ProcessID(process), stream: stream, kind: .append(expected: expected, eventIDs: ids, result: result),
            invokedAt: start, completedAt: end))
        return operations.count - 1
    }

    /// `appended(0, at: 10)`: revisions from 0 and positions from 10, one per id.
    static func appended(_ revision: Int64, at position: Int64, count: Int = 1) -> AppendResult {
        .appended(revisions: (0..<Int64(count)).map { revision + $0 }, positions: (0..<Int64(count)).map { position + $0 })
    }

    @discardableResult
    mutating func read(
        _ process: Int64, _ stream: String, _ events: [(String, Int64, Int64)], direction: ReadDirection = .forwards,
        from: Int64? = nil, limit: Int? = nil, linearizable: Bool = true
    ) -> Int {
        let start = clock
        clock += 2
        let observed = events.map {
            ObservedEvent(id: $0.0, stream: stream == allStreamName ? nil : stream, revision: $0.1, position: $0.2)
        }
        operations.append(EventStoreOperation(
            process: ProcessID(process), stream: stream,
            kind: .read(direction: direction, from: from, limit: limit, linearizable: linearizable, events: observed),
            invokedAt: start, completedAt: start + 1))
        return operations.count - 1
    }

    /// Records get display ids after the operations: `operations.count + index`.
    mutating func note(_ subscriber: String, _ event: SubscriptionEvent) -> Int {
        records.append(SubscriptionRecord(subscriber: subscriber, event: event, instant: clock))
        clock += 1
        return records.count - 1
    }

    func history() throws -> EventStoreHistory { try EventStoreHistory(operations: operations, records: records) }

    func check() throws -> PropertyCheckResult { try EventStoreChecker.check(history()) }

    /// The display id of record `index`.
    func recordID(_ index: Int) -> Int { operations.count + index }
}

@Suite struct EventStoreCheckerTests {
    typealias Builder = EventStoreHistoryBuilder

    /// Two appenders and a conflict on `orders`, reads of it and of `$all`,
    /// a catch-up subscriber and a persistent group with a retry.
    func cleanHistory() -> Builder {
        var history = Builder()
        history.append(0, "orders", ["e1"], expected: .noStream, Builder.appended(0, at: 0))
        history.append(1, "orders", ["e2", "e3"], expected: .exact(0), Builder.appended(1, at: 1, count: 2))
        history.append(2, "orders", ["e4"], expected: .exact(0), .wrongExpectedVersion(actual: 2))
        history.append(2, "audit", ["a1"], expected: .noStream, Builder.appended(0, at: 3))
        history.read(3, "orders", [("e1", 0, 0), ("e2", 1, 1), ("e3", 2, 2)])
        history.read(3, "orders", [("e3", 2, 2), ("e2", 1, 1)], direction: .backwards, limit: 2)
        history.read(3, allStreamName, [("e2", 1, 1), ("e3", 2, 2), ("a1", 0, 3)], from: 1)
        _ = history.note("s", .subscribe(stream: "orders", group: nil, from: 1))
        _ = history.note("s", .deliver(ObservedEvent(id: "e2", revision: 1, position: 1)))
        _ = history.note("s", .deliver(ObservedEvent(id: "e3", revision: 2, position: 2)))
        _ = history.note("s", .caughtUp)
        _ = history.note("c1", .subscribe(stream: "orders", group: "g", from: 0))
        _ = history.note("c2", .subscribe(stream: "orders", group: "g", from: 0))
        _ = history.note("c1", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        _ = history.note("c2", .deliver(ObservedEvent(id: "e2", revision: 1, position: 1)))
        _ = history.note("c1", .acknowledge(eventID: "e1"))
        _ = history.note("c2", .negativeAcknowledge(eventID: "e2", action: "retry"))
        _ = history.note("c1", .deliver(ObservedEvent(id: "e2", revision: 1, position: 1)))
        _ = history.note("c1", .deliver(ObservedEvent(id: "e3", revision: 2, position: 2)))
        _ = history.note("c1", .acknowledge(eventID: "e2"))
        _ = history.note("c1", .caughtUp)
        return history
    }

    @Test func aCleanHistoryPassesEveryProperty() throws {
        let result = try cleanHistory().check()
        #expect(result.properties.map(\.name) == EventStoreProperty.allCases.map(\.rawValue))
        #expect(result.verdict == .satisfied, "\(result.properties.flatMap(\.violations).map(\.explanation))")
        #expect(result.statistics.field("events") == 4)
        #expect(result.statistics.field("subscribers") == 3)
    }

    // MARK: Lost and phantom events

    @Test func aLinearizableReadMustSeeAcknowledgedAppends() throws {
        var history = Builder()
        let append = history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        let read = history.read(1, "s", [])
        history.read(1, "s", [], linearizable: false)
        let result = try history.check()
        #expect(violated(result) == ["acknowledged-appends-kept"])
        #expect(result.property("acknowledged-appends-kept")?.violations.first?.operationIDs == [append, read])
        #expect(result.property("acknowledged-appends-kept")?.violationCount == 1)
    }

    @Test func anAppendStillRunningNeedNotBeSeen() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0), from: 0, to: 10)
        history.clock = 2
        history.read(1, "s", [])
        #expect(try history.check().verdict == .satisfied)
    }

    @Test func phantomEvents() throws {
        var history = Builder()
        let refused = history.append(0, "s", ["e1"], expected: .exact(3), .wrongExpectedVersion(actual: -1))
        history.append(0, "t", ["e2"], Builder.appended(0, at: 0))
        history.read(1, "s", [("e1", 0, 5)])
        history.read(1, "s", [("e9", 0, 6)])
        history.read(1, "s", [("e2", 0, 0)])
        let result = try history.check()
        #expect(result.property("no-phantom-events")?.violationCount == 3)
        #expect(result.property("no-phantom-events")?.violations.first?.operationIDs == [refused, 2])
    }

    @Test func aDeliveryBeforeTheAppendIsAPhantom() throws {
        var history = Builder()
        _ = history.note("s", .subscribe(stream: "s", group: nil, from: 0))
        _ = history.note("s", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        let result = try history.check()
        #expect(violated(result) == ["no-phantom-events"])
    }

    // MARK: Streams, $all and atomicity

    @Test func aGapInAStream() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        history.append(0, "s", ["e2"], Builder.appended(2, at: 1))
        // Appending at revision 2 onto revision 0 also breaks the expected-state register.
        #expect(violated(try history.check()) == ["stream-revisions", "expected-versions"])
        // An append that never answered may fill it.
        history.append(1, "s", ["e3"], .indeterminate)
        #expect(try history.check().property("stream-revisions")?.verdict == .satisfied)
    }

    @Test func twoEventsAtOneRevisionOrPosition() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        history.append(1, "s", ["e2"], Builder.appended(0, at: 1))
        history.append(2, "t", ["e3"], Builder.appended(0, at: 0))
        let result = try history.check()
        #expect(result.property("stream-revisions")?.verdict == .violated)
        #expect(result.property("all-stream")?.verdict == .violated)
    }

    @Test func aTornAppend() throws {
        var history = Builder()
        let torn = history.append(0, "s", ["e1", "e2"], .indeterminate)
        history.append(1, "s", ["e3"], Builder.appended(1, at: 1))
        history.read(2, "s", [("e1", 0, 0), ("e3", 1, 1)])
        let result = try history.check()
        #expect(violated(result).contains("stream-revisions"))
        let violation = try #require(result.property("stream-revisions")?.violations.first)
        #expect(violation.operationIDs.first == torn)
        #expect(violation.explanation.contains("only part"))
    }

    @Test func positionsMustRiseWithRevisions() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 5))
        history.append(0, "s", ["e2"], Builder.appended(1, at: 3))
        #expect(violated(try history.check()).contains("all-stream"))
    }

    @Test func anAllReadMustNotSkip() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        history.append(0, "t", ["e2"], Builder.appended(0, at: 1))
        history.append(0, "s", ["e3"], Builder.appended(1, at: 2))
        history.read(1, allStreamName, [("e1", 0, 0), ("e2", 0, 1), ("e3", 1, 2)])
        #expect(try history.check().verdict == .satisfied)
        let read = history.read(1, allStreamName, [("e1", 0, 0), ("e3", 1, 2)])
        let result = try history.check()
        #expect(violated(result) == ["all-stream"])
        #expect(result.property("all-stream")?.violations.first?.operationIDs == [1, read])
    }

    @Test func aStreamReadMustBeContiguous() throws {
        var history = Builder()
        history.append(0, "s", ["e1", "e2", "e3"], Builder.appended(0, at: 0, count: 3))
        history.read(1, "s", [("e1", 0, 0), ("e3", 2, 2)])
        history.read(1, "s", [("e2", 1, 1)], from: 0)
        let result = try history.check()
        #expect(result.property("stream-revisions")?.violationCount == 2)
    }

    // MARK: Idempotency and expected versions

    @Test func anIdempotentRetryReturnsTheOriginal() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], expected: .noStream, Builder.appended(0, at: 0))
        history.append(0, "s", ["e1"], expected: .noStream, Builder.appended(0, at: 0))
        history.append(1, "s", ["e2"], expected: .exact(0), Builder.appended(1, at: 1))
        #expect(try history.check().verdict == .satisfied)
    }

    @Test func aRetryThatTookEffectTwice() throws {
        var history = Builder()
        let first = history.append(0, "s", ["e1"], .indeterminate, from: 0, to: 1)
        let retry = history.append(0, "s", ["e1"], Builder.appended(1, at: 1))
        history.read(1, "s", [("e1", 0, 0), ("e1", 1, 1)])
        let result = try history.check()
        #expect(result.property("idempotent-retries")?.verdict == .violated)
        #expect(result.property("idempotent-retries")?.violations.first?.operationIDs == [retry, 2])
        _ = first
    }

    @Test func anExpectedStateThatCannotHaveHeld() throws {
        var history = Builder()
        let first = history.append(0, "s", ["e1"], expected: .noStream, Builder.appended(0, at: 0))
        let second = history.append(1, "s", ["e2"], expected: .noStream, Builder.appended(1, at: 1))
        let result = try history.check()
        #expect(violated(result) == ["expected-versions"])
        let violation = try #require(result.property("expected-versions")?.violations.first)
        #expect(violation.operationIDs == [first, second])
        #expect(violation.explanation.contains("cannot go next"))
    }

    @Test func concurrentAppendsMayGoEitherWay() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], expected: .noStream, Builder.appended(0, at: 0), from: 0, to: 10)
        history.append(1, "s", ["e2"], expected: .noStream, .wrongExpectedVersion(actual: 0), from: 1, to: 5)
        #expect(try history.check().verdict == .satisfied)
        // Refused with a revision the stream never had at that time.
        history.append(2, "s", ["e3"], expected: .noStream, .wrongExpectedVersion(actual: 4))
        #expect(violated(try history.check()) == ["expected-versions"])
    }

    // MARK: Subscriptions

    @Test func catchUpSubscribersSeeEachEventOnceInOrder() throws {
        var history = Builder()
        history.append(0, "s", ["e1", "e2", "e3"], Builder.appended(0, at: 0, count: 3))
        _ = history.note("a", .subscribe(stream: "s", group: nil, from: 0))
        _ = history.note("a", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        let skip = history.note("a", .deliver(ObservedEvent(id: "e3", revision: 2, position: 2)))
        _ = history.note("b", .subscribe(stream: "s", group: nil, from: 0))
        _ = history.note("b", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        _ = history.note("b", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        _ = history.note("c", .subscribe(stream: "s", group: nil, from: 1))
        _ = history.note("c", .deliver(ObservedEvent(id: "e2", revision: 1, position: 1)))
        let early = history.note("c", .caughtUp)
        let result = try history.check()
        #expect(violated(result) == ["catch-up-subscriptions"])
        let violations = try #require(result.property("catch-up-subscriptions")?.violations)
        #expect(violations.count == 3)
        #expect(violations[0].operationIDs == [0, history.recordID(skip)])
        #expect(violations[2].operationIDs == [0, history.recordID(early)])
    }

    @Test func catchUpOnAllSkipsNothing() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        history.append(0, "t", ["e2"], Builder.appended(0, at: 1))
        history.append(0, "s", ["e3"], Builder.appended(1, at: 2))
        _ = history.note("a", .subscribe(stream: allStreamName, group: nil, from: 0))
        _ = history.note("a", .deliver(ObservedEvent(id: "e1", position: 0)))
        _ = history.note("a", .deliver(ObservedEvent(id: "e3", position: 2)))
        #expect(violated(try history.check()) == ["catch-up-subscriptions"])
    }

    @Test func persistentGroupsHonourAcksAndDeliverAtLeastOnce() throws {
        var history = Builder()
        history.append(0, "s", ["e1", "e2"], Builder.appended(0, at: 0, count: 2))
        _ = history.note("c1", .subscribe(stream: "s", group: "g", from: 0))
        _ = history.note("c2", .subscribe(stream: "s", group: "g", from: 0))
        let ack = history.note("c1", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        _ = history.note("c1", .acknowledge(eventID: "e1"))
        let again = history.note("c2", .deliver(ObservedEvent(id: "e1", revision: 0, position: 0)))
        let caughtUp = history.note("c2", .caughtUp)
        let result = try history.check()
        #expect(violated(result) == ["persistent-subscriptions"])
        let violations = try #require(result.property("persistent-subscriptions")?.violations)
        #expect(violations.map(\.operationIDs) == [
            [history.recordID(ack + 1), history.recordID(again)],
            [0, history.recordID(caughtUp)],
        ])
    }

    @Test func anAckOfAnUndeliveredEventIsBadInput() throws {
        var history = Builder()
        history.append(0, "s", ["e1"], Builder.appended(0, at: 0))
        _ = history.note("c1", .subscribe(stream: "s", group: "g", from: 0))
        _ = history.note("c1", .acknowledge(eventID: "e1"))
        #expect(throws: HistoryError.self) { try history.check() }
    }

    // MARK: The file format

    @Test func readsTheJSONLinesFormat() throws {
        let text = """
            {"process": 0, "type": "invoke", "f": "append", "key": "orders", "value": {"expected": "no_stream", "events": ["e1", "e2"]}}
            {"process": 0, "type": "ok", "f": "append", "key": "orders", "value": {"revisions": [0, 1], "positions": [7, 8]}}
            {"process": 1, "type": "invoke", "f": "append", "key": "orders", "value": {"expected": 0, "events": ["e3"]}}
            {"process": 1, "type": "fail", "f": "append", "key": "orders", "value": {"error": "wrong_expected_version", "actual": 1}}
            {"process": 2, "type": "invoke", "f": "read", "key": "$all", "value": {"from": 7, "limit": 10}}
            {"process": 2, "type": "ok", "f": "read", "key": "$all", "value": [{"id": "e1", "stream": "orders", "revision": 0, "position": 7}, {"id": "e2", "stream": "orders", "revision": 1, "position": 8}]}
            {"type": "subscribe", "subscriber": "s1", "stream": "orders", "from": 0}
            {"type": "deliver", "subscriber": "s1", "event": "e1", "revision": 0, "position": 7}
            {"type": "deliver", "subscriber": "s1", "event": "e2", "revision": 1, "position": 8}
            {"type": "caught-up", "subscriber": "s1"}

            """
        let history = try EventStoreHistory(document: HistoryDocument.read(from: Array(text.utf8)))
        #expect(history.operations.count == 3)
        #expect(history.records.count == 4)
        #expect(history.records[0].id == 3 && history.records[0].instant == 6 && history.records[0].line == 7)
        guard case .append(.exact(0), ["e3"], .wrongExpectedVersion(actual: 1)) = history.operations[1].kind else {
            Issue.record("the refused append reads back wrong: \(history.operations[1].kind)")
            return
        }
        #expect(try EventStoreChecker.check(history).verdict == .satisfied)
        let display = history.displayHistory
        #expect(display.operations.count == 7)
        #expect(history.subscriberLanes.map(\.1) == ["s1"])
    }

    @Test func jsonLinesRoundTrip() throws {
        var builder = cleanHistory()
        builder.append(4, "orders", ["e5"], .refused("stream_deleted"))
        builder.append(4, "orders", ["e6"], .indeterminate)
        builder.read(5, "orders", [], linearizable: false)
        let original = try builder.history()
        let read = try EventStoreHistory(document: HistoryDocument.read(from: Array(original.jsonLines().utf8)))
        #expect(read.operations.map(\.kind) == original.operations.map(\.kind))
        #expect(read.operations.map(\.stream) == original.operations.map(\.stream))
        #expect(read.records.map(\.event) == original.records.map(\.event))
        #expect(read.records.map(\.subscriber) == original.records.map(\.subscriber))
        #expect(try verdicts(EventStoreChecker.check(read)) == verdicts(EventStoreChecker.check(original)))
    }

    @Test func badLinesNameTheirLine() throws {
        let read = "{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"key\": \"s\"}"
        let cases: [(String, Int)] = [
            ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"append\", \"key\": \"s\", \"value\": {\"events\": []}}", 1),
            ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"append\", \"key\": \"s\", \"value\": {\"expected\": \"maybe\", \"events\": [\"e\"]}}", 1),
            ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"drop\", \"key\": \"s\"}", 1),
            ("{\"process\": 0, \"type\": \"invoke\", \"f\": \"read\", \"key\": \"s\"}\n{\"process\": 0, \"type\": \"ok\", \"f\": \"read\", \"key\": \"s\", \"value\": [{\"id\": \"e\"}]}", 2),
            (read + "\n{\"type\": \"deliver\", \"subscriber\": \"x\", \"event\": \"e\", \"position\": 1}", 2),
            (read + "\n{\"type\": \"unsubscribe\", \"subscriber\": \"x\"}", 2),
        ]
        for (text, line) in cases {
            do {
                let document = try HistoryDocument.read(from: Array(text.utf8))
                _ = try EventStoreChecker.check(EventStoreHistory(document: document))
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line, "\(text): \(error)")
            }
        }
    }
}
