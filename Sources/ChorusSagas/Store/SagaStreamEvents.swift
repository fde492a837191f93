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

    /// The status a final event's type ends a saga in, or nil for any other type.
    public static func finalStatus(ofType type: String) -> SagaStatus? {
        switch SagaEventType(rawValue: type) {
        case .completed: .completed
        case .compensated: .compensated
        case .cancelled: .cancelled
        default: nil
        }
    }

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

    /// Whether the store's answer to a decision's append means the decision
    /// is recorded (`SagaHost.appended`), rather than unsettled
    /// (`appendUnsettled`). An exact retry (`alreadyWritten`) is not: the
    /// events ids name (stream, revision), so another decision's events at
    /// those revisions — a second start of one stream, a decision of an
    /// earlier leadership — answer the same, and folding this decision
    /// instead of reading the stream would let the host act on events the
    /// stream does not hold. Every runtime decides with this one function.
    public static func recordsDecision(_ result: EventStoreResult) -> Bool {
        guard case .appended(let outcome) = result else { return false }
        return outcome.disposition == .written
    }

    /// What a list needs from a saga's `SagaStarted` event — the definition's
    /// name and version, the saga id and the start time — read without
    /// decoding the definition (a follower summarising a finished saga).
    public static func startFacts(_ recorded: RecordedEvent) throws(SagaEventDecodingError)
        -> (definition: String, version: Int, sagaID: SagaID, at: UInt64)
    {
        func fail(_ message: String) -> SagaEventDecodingError { SagaEventDecodingError(type: recorded.type, message: message) }
        guard recorded.type == SagaEventType.started.rawValue else { throw fail("not a SagaStarted event") }
        guard recorded.data.count <= SagaLimits.maximumEventBytes else { throw fail("data exceeds \(SagaLimits.maximumEventBytes) bytes") }
        let value: JSONValue
        do { value = try JSONValue(parsing: recorded.data, limits: SagaLimits.json) } catch { throw fail(error.description) }
        guard let name = value["definition"]?["name"]?.stringValue, SagaNames.isValidDefinitionName(name),
            let version = value["definition"]?["version"]?.int64Value, version >= 1, version <= Int64(Int32.max),
            let id = value["sagaId"]?.stringValue, SagaNames.isValidSagaID(SagaID(id)),
            let at = value["at"]?.numberValue.flatMap({ UInt64($0.literal) })
        else { throw fail("a start names its definition (name, version), its saga id and its time") }
        return (name, Int(version), SagaID(id), at)
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
