import ChorusCore
import ChorusEventStore

/// How saga events live in the event store, for every runtime that appends
/// and reads them (the node, the simulator): type names and JSON data
/// (`SagaEvent.encoded()`), deterministic event ids, and the expected
/// states of the saga streams.
///
/// **Ids.** The event at revision *r* of stream *s* has the id
/// (FNV-1a(*s*), *r*). Ids are scoped by stream in the store, so a retried
/// append of one decision (the same events at the same revision, after an
/// outcome that was not known) is recognised as an exact retry and answered
/// with the original revisions instead of being written twice.
public enum SagaStreamEvents {
    /// Saga streams are `saga-{definition}-{id}`; the node keeps clients from appending to them.
    public static let streamPrefix = "saga-"

    /// The `$all` filter that selects every saga stream.
    public static let filter = EventFilter(streamNamePrefixes: [streamPrefix])

    public static func isSagaStream(_ name: String) -> Bool { name.utf8.starts(with: streamPrefix.utf8) }

    /// The events of one decision, as the store takes them, starting at `firstRevision`.
    public static func proposed(_ events: [SagaEvent], stream: String, firstRevision: UInt64) -> [ProposedEvent] {
        let streamHash = fnv1a(stream)
        return events.enumerated().map { offset, event in
            let encoded = event.encoded()
            return ProposedEvent(
                id: EventID(high: streamHash, low: firstRevision + UInt64(offset)), type: encoded.type, data: encoded.data,
                contentType: .json)
        }
    }

    /// The first revision a decision appends at.
    public static func firstRevision(after expected: SagaExpectedRevision) -> UInt64 {
        switch expected {
        case .noStream: 0
        case .exact(let revision): revision + 1
        }
    }

    /// The store's expected state for a decision.
    public static func expectedState(_ expected: SagaExpectedRevision) -> ExpectedState {
        switch expected {
        case .noStream: .noStream
        case .exact(let revision): .revision(StreamRevision(revision))
        }
    }

    /// A recorded event as a saga event; anything a saga stream should not hold is an error.
    public static func sagaEvent(_ recorded: RecordedEvent) throws(SagaEventDecodingError) -> SagaEvent {
        try SagaEvent(decoding: SagaEncodedEvent(type: recorded.type, data: recorded.data))
    }

    public static func fnv1a(_ text: String) -> UInt64 {
        var hasher = FNV1a()
        hasher.combine(bytes: text.utf8)
        return hasher.value
    }
}
