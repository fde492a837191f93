import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct AppendValidationTests {
    @Test func sizeLimits() {
        var harness = Harness()
        let big = ProposedEvent(id: EventID(high: 0, low: 1), type: "T", data: Array(repeating: 0, count: 1_024))
        #expect(
            harness.run(.append(StreamAppend(stream: "s", expected: .any, events: [event(0), big])))
                == .appendTooLarge(AppendTooLarge(measure: .eventBytes(streamIndex: 0, eventIndex: 1), actual: 1_025, limit: 1_024)))
        let exactly = ProposedEvent(id: EventID(high: 0, low: 1), type: "T", data: Array(repeating: 0, count: 1_023))
        #expect(harness.run(.append(StreamAppend(stream: "s", expected: .any, events: [exactly]))).isSuccess)
        let four = (2...5).map { ProposedEvent(id: EventID(high: 0, low: $0), type: "T", data: Array(repeating: 0, count: 1_023)) }
        #expect(harness.run(.append(StreamAppend(stream: "s", expected: .any, events: four))).isSuccess, "4 × 1024 = maximumAppendBytes")
        // Five events of 820 bytes: each within maximumEventBytes, together beyond maximumAppendBytes.
        var roomy = smallLimits
        roomy.maximumEventsPerAppend = 8
        var wide = Harness(limits: roomy)
        let five = (6...10).map { ProposedEvent(id: EventID(high: 0, low: $0), type: "T", data: Array(repeating: 0, count: 819)) }
        #expect(
            wide.run(.append(StreamAppend(stream: "s", expected: .any, events: five)))
                == .appendTooLarge(AppendTooLarge(measure: .appendBytes, actual: 4_100, limit: 4_096)))
        #expect(
            harness.append("s", .any, [10, 11, 12, 13, 14]) == .appendTooLarge(AppendTooLarge(measure: .eventCount, actual: 5, limit: 4)))
        #expect(
            harness.store.apply(Array(repeating: 0, count: 16_385)[...], at: LogIndex(harness.index + 1))
                == .appendTooLarge(AppendTooLarge(measure: .commandBytes, actual: 16_385, limit: 16_384)))
    }

    @Test func invalidEvents() {
        var harness = Harness()
        func refused(_ events: [ProposedEvent]) -> EventStoreResult {
            harness.run(.append(StreamAppend(stream: "s", expected: .any, events: events)))
        }
        #expect(refused([]) == .invalidEvent(InvalidEvent(streamIndex: 0, eventIndex: nil, problem: .noEvents)))
        #expect(refused([event(1, type: "")]) == .invalidEvent(InvalidEvent(streamIndex: 0, eventIndex: 0, problem: .emptyType)))
        #expect(
            refused([event(1), event(2, type: String(repeating: "x", count: 33))])
                == .invalidEvent(InvalidEvent(streamIndex: 0, eventIndex: 1, problem: .typeTooLong(bytes: 33, limit: 32))))
        #expect(
            refused([event(1, type: "a\u{7}")]) == .invalidEvent(InvalidEvent(streamIndex: 0, eventIndex: 0, problem: .typeControlCharacter)))
        #expect(
            refused([event(1, schemaVersion: 0)])
                == .invalidEvent(InvalidEvent(streamIndex: 0, eventIndex: 0, problem: .schemaVersionZero)))
        #expect(
            refused([event(1), event(2), event(1)])
                == .invalidEvent(InvalidEvent(streamIndex: 0, eventIndex: 2, problem: .duplicateEventID(EventID(high: 0, low: 1)))))
        #expect(harness.store.headPosition == 0)
        for (name, problem) in [
            ("", StreamNameProblem.empty), (String(repeating: "n", count: 65), .tooLong(bytes: 65, limit: 64)),
            ("a\nb", .controlCharacter), ("$all", .reservedForSystemStreams), ("$kv-default", .reservedForSystemStreams),
        ] {
            #expect(harness.append(StreamName(name), .any, [1]) == .invalidStreamName(StreamName(name), problem))
        }
        #expect(harness.store.streamCount == 0)
    }

    /// The schema version, content type, metadata and recorded time are kept exactly.
    @Test func recordedEventsKeepEveryField() {
        var harness = Harness()
        let proposed = ProposedEvent(
            id: EventID(parsing: "0f8fad5b-d9cb-469f-a165-70867728950e")!, type: "OrderPlaced", data: Array("{}".utf8),
            metadata: [7, 8], contentType: .json, schemaVersion: 3)
        let binary = ProposedEvent(id: EventID(high: 1, low: 2), type: "Blob", data: [0xFF], contentType: .octetStream)
        harness.run(.append(StreamAppend(stream: "orders-1", expected: .noStream, events: [proposed, binary])), advancing: 5)
        guard case .events(let page) = harness.read("orders-1") else {
            Issue.record("read failed")
            return
        }
        #expect(
            page.events == [
                RecordedEvent(
                    stream: "orders-1", revision: 0, position: 0, id: proposed.id, type: "OrderPlaced", data: Array("{}".utf8),
                    metadata: [7, 8], contentType: .json, schemaVersion: 3,
                    recordedTime: RecordedTime(microsecondsSinceEpoch: harness.time)),
                RecordedEvent(
                    stream: "orders-1", revision: 1, position: 1, id: binary.id, type: "Blob", data: [0xFF], metadata: [],
                    contentType: .octetStream, schemaVersion: 1, recordedTime: RecordedTime(microsecondsSinceEpoch: harness.time)),
            ])
    }

    /// A leader whose clock is behind cannot make recorded times go back.
    @Test func recordedTimesNeverGoBack() {
        var harness = Harness()
        harness.append("s", .any, [1])
        let first = harness.time
        harness.append("s", .any, [2])
        harness.time -= 1_000_000  // the next leader's clock is a second behind
        harness.append("s", .any, [3])
        guard case .events(let page) = harness.read("s") else {
            Issue.record("read failed")
            return
        }
        #expect(page.events.map(\.recordedTime.rawValue) == [first, first + 1, first + 1])
        #expect(harness.store.clock.rawValue == first + 1)
    }

    @Test func storeFullRefusesAfterScavengingWhatItCan() {
        var limits = smallLimits
        limits.maximumRetainedEvents = 6
        limits.maximumStreams = 3
        var harness = Harness(limits: limits)
        harness.append("a", .any, [1, 2, 3, 4])
        harness.append("b", .any, [5, 6])
        #expect(harness.append("b", .any, [7]) == .storeFull(StoreFull(resource: .events, limit: 6)))
        harness.run(.setMetadata(stream: "a", metadata: StreamMetadata(maximumCount: 1)))
        // Three of a's events are unreachable: the full store scavenges them and takes the append.
        guard case .appended(let placed) = harness.append("b", .any, [7]) else {
            Issue.record("append after metadata refused")
            return
        }
        #expect(Placement(placed) == Placement(2...2, at: 6...6))
        #expect(harness.store.retainedEventCount == 4)
        #expect(harness.store.lastScavenge == ScavengeReport(removedEvents: 3, removedPayloadBytes: 36, retainedEvents: 3, automatic: true))
        harness.append("c", .any, [8])
        #expect(harness.append("d", .any, [9]) == .storeFull(StoreFull(resource: .streams, limit: 3)))
    }

    @Test func malformedCommandsAreResultsNotTraps() {
        var store = EventStore(limits: smallLimits)
        #expect(store.apply([][...], at: 1).code == "malformed_command")
        #expect(store.apply([1, 0, 99][...], at: 2) == .malformedCommand("invalid value at byte 2: event-store operation tag 99"))
        #expect(store.appliedIndex == 2)
        store.skip(index: 5)
        #expect(store.appliedIndex == 5)
    }
}
