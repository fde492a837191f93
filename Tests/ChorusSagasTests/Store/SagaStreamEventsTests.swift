import ChorusCore
import ChorusEventStore
import ChorusSagas
import Testing

@Suite struct SagaStreamEventsTests {
    @Test func aDecisionRoundTripsThroughTheStoreWithIdsFixedByStreamAndRevision() throws {
        var harness = SagaHarness()
        harness.start()
        let stream = SagaNames.stream(definition: "order", id: "42")
        let proposed = SagaStreamEvents.proposed(harness.stream, stream: stream, firstRevision: 0)
        #expect(proposed.map(\.type) == ["SagaStarted", "SagaStepScheduled", "SagaTimerSet"])
        #expect(proposed.map(\.id.low) == [0, 1, 2])
        #expect(Set(proposed.map(\.id.high)).count == 1)
        // The same decision proposed again has the same ids (an exact retry); another stream's differ.
        #expect(SagaStreamEvents.proposed(harness.stream, stream: stream, firstRevision: 0) == proposed)
        #expect(SagaStreamEvents.proposed(harness.stream, stream: "saga-order-43", firstRevision: 0)[0].id != proposed[0].id)
        let recorded = proposed.enumerated().map { offset, event in
            RecordedEvent(
                stream: StreamName(stream), revision: StreamRevision(UInt64(offset)), position: GlobalPosition(UInt64(offset)),
                id: event.id, type: event.type, data: event.data, metadata: [], contentType: .json, schemaVersion: 1,
                recordedTime: RecordedTime(rawValue: 0))
        }
        #expect(try recorded.map(SagaStreamEvents.sagaEvent) == harness.stream)
        #expect(SagaStreamEvents.expectedState(.noStream) == .noStream)
        #expect(SagaStreamEvents.expectedState(.exact(4)) == .revision(4))
        #expect(SagaStreamEvents.firstRevision(after: .exact(4)) == 5)
        #expect(SagaStreamEvents.isSagaStream(stream) && !SagaStreamEvents.isSagaStream("orders-42"))
    }

    /// Regression: the node's runtime took an exact retry for a recorded
    /// decision. Two decisions at one revision — a start decided again after
    /// an unsettled append, or a second client's start of the same stream —
    /// carry the same ids, so the store answers the second `alreadyWritten`
    /// although the stream holds the first; the host must re-read the
    /// stream, not fold its own events (the simulator's driver did; the
    /// node's did not).
    @Test func anExactRetryOfAnotherDecisionDoesNotRecordThisOne() throws {
        let stream = "saga-order-7"
        var first = SagaHarness()
        first.start()
        var second = SagaHarness()
        second.start(id: "43")  // another decision for the same stream: the same ids
        var store = EventStore()
        func append(_ events: [SagaEvent], at index: UInt64) -> EventStoreResult {
            let append = StreamAppend(
                stream: StreamName(stream), expected: SagaStreamEvents.expectedState(.noStream),
                events: SagaStreamEvents.proposed(events, stream: stream, firstRevision: 0))
            return store.apply(EventStoreCommand(recordedTime: store.clock, operation: .append(append)), at: LogIndex(index))
        }
        let recorded = append(first.stream, at: 1)
        #expect(SagaStreamEvents.recordsDecision(recorded))
        let retried = append(second.stream, at: 2)
        guard case .appended(let outcome) = retried else {
            Issue.record("the store answered \(retried), not an exact retry")
            return
        }
        #expect(outcome.disposition == .alreadyWritten)
        #expect(!SagaStreamEvents.recordsDecision(retried))
    }

    @Test func aStreamEventThatIsNotASagaEventIsAnError() {
        let event = RecordedEvent(
            stream: "saga-order-42", revision: 0, position: GlobalPosition(0), id: EventID(high: 1, low: 1), type: "OrderPlaced",
            data: Array("{}".utf8), metadata: [], contentType: .json, schemaVersion: 1, recordedTime: RecordedTime(rawValue: 0))
        #expect(throws: SagaEventDecodingError.self) { try SagaStreamEvents.sagaEvent(event) }
    }
}
