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

    @Test func aStreamEventThatIsNotASagaEventIsAnError() {
        let event = RecordedEvent(
            stream: "saga-order-42", revision: 0, position: GlobalPosition(0), id: EventID(high: 1, low: 1), type: "OrderPlaced",
            data: Array("{}".utf8), metadata: [], contentType: .json, schemaVersion: 1, recordedTime: RecordedTime(rawValue: 0))
        #expect(throws: SagaEventDecodingError.self) { try SagaStreamEvents.sagaEvent(event) }
    }
}
