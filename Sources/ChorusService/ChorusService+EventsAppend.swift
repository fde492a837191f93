import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore
import ChorusNode
import ChorusSagas
import CoreMetrics

/// Appends: single-stream with an expected state, and multi-stream atomic
/// appends with check-only conditions (Sources/ChorusEventStore/README.md).
///
/// Ids: an event without a client id gets a random version-4 UUID here, at
/// the edge (the machine never draws randomness); such an event is not
/// idempotent, because a retry of the request carries new ids. A retry that
/// arrives while the original is still uncommitted is simply proposed too:
/// the store applies it after the original and answers it as an exact retry
/// (`already_appended`), or writes it once if the original was lost.
extension ChorusService {
    public func append(_ request: AppendRequest, caller: Caller) async throws(ServiceError) -> AppendResponse {
        try authorize(caller, .streamAppend, .stream(request.stream.text))
        try validateWritable(request.stream)
        let events = Self.proposedEvents(request.events)
        try checkCommandSize(streams: [request.stream], events: [events])
        let operation = EventStoreOperation.append(StreamAppend(stream: request.stream, expected: request.expected, events: events))
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(operation)
        recordAppend(result, eventCount: events.count)
        switch result {
        case .appended(let outcome):
            return AppendResponse(outcome: outcome, eventIDs: events.map(\.id), index: index, appliedIndex: appliedIndex)
        default:
            throw Self.refusal(result, expected: "appended")
        }
    }

    public func appendMultiple(_ request: MultiStreamAppendRequest, caller: Caller) async throws(ServiceError)
        -> MultiStreamAppendResponse
    {
        // One decision for the whole request: every written stream needs
        // `stream.append`, every checked one `stream.read`.
        for write in request.writes { try authorize(caller, .streamAppend, .stream(write.stream.text)) }
        for check in request.checks { try authorize(caller, .streamRead, .stream(check.stream.text)) }
        for write in request.writes { try validateWritable(write.stream) }
        for check in request.checks { try validateReadable(check.stream) }
        let batches = request.writes.map { Self.proposedEvents($0.events) }
        try checkCommandSize(streams: request.writes.map(\.stream) + request.checks.map(\.stream), events: batches)
        let writes = zip(request.writes, batches).map { write, events in
            StreamAppend(stream: write.stream, expected: write.expected, events: events)
        }
        let operation = EventStoreOperation.appendMultiple(MultiStreamAppend(writes: writes, checks: request.checks))
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(operation)
        recordAppend(result, eventCount: batches.reduce(0) { $0 + $1.count })
        switch result {
        case .appendedMultiple(let outcome):
            return MultiStreamAppendResponse(
                outcome: outcome, eventIDs: batches.map { $0.map(\.id) }, index: index, appliedIndex: appliedIndex)
        default:
            throw Self.refusal(result, expected: "appendedMultiple")
        }
    }

    // MARK: Helpers

    /// The drafts as the store takes them, with an id drawn for each event that came without one.
    static func proposedEvents(_ drafts: [EventDraft]) -> [ProposedEvent] {
        var generator = SystemRandomNumberGenerator()
        return drafts.map { draft in
            ProposedEvent(
                id: draft.id ?? EventID.random(using: &generator), type: draft.type, data: draft.data,
                metadata: draft.metadata, contentType: draft.contentType, schemaVersion: draft.schemaVersion)
        }
    }

    /// Refuses a command the node could not carry: the node's log records and
    /// peer frames bound one command (`NodeConfiguration.maximumCommandBytes`),
    /// which is below the store's own `maximumAppendBytes` with the default node
    /// settings. The size is an upper bound of the encoding (names, events and
    /// their framing), checked before anything is proposed.
    func checkCommandSize(streams: [StreamName], events batches: [[ProposedEvent]]) throws(ServiceError) {
        let limit = node.configuration.maximumCommandBytes
        var bytes = 64
        for stream in streams { bytes += stream.byteCount + 16 }
        for batch in batches {
            for event in batch { bytes += event.payloadByteCount + Self.encodedEventOverheadBytes }
        }
        guard bytes <= limit else {
            throw ServiceError(
                refusal: .appendTooLarge(AppendTooLarge(measure: .commandBytes, actual: bytes, limit: limit)))
        }
    }

    /// An event's bytes in a command besides its payload, at most (id, content
    /// type, schema version, three lengths; `EventStoreLimits`' own bound).
    static let encodedEventOverheadBytes = 48

    func recordAppend(_ result: EventStoreResult, eventCount: Int) {
        let metrics = eventStore.metrics
        metrics.appends.increment()
        metrics.appendBatchSize.record(eventCount)
        switch result {
        case .appended(let outcome) where outcome.disposition == .alreadyWritten:
            metrics.idempotentHits.increment()
        case .appendedMultiple(let outcome) where outcome.disposition == .alreadyWritten:
            metrics.idempotentHits.increment()
        case .appended, .appendedMultiple:
            metrics.eventsAppended.increment(by: Int64(eventCount))
        case .wrongExpectedVersion, .multiStreamConditionsFailed:
            metrics.versionConflicts.increment()
        default:
            break
        }
    }

    /// A refusal as a `ServiceError`; a success of another kind than the
    /// operation's is a bug in the machine's contract, reported as internal.
    static func refusal(_ result: EventStoreResult, expected: String) -> ServiceError {
        if result.isSuccess {
            return ServiceError(.internal, "the event store answered \(result.code) where \(expected) was due")
        }
        return ServiceError(refusal: result)
    }

    /// A stream a client may write: `StreamName.validate` (no `$` system streams).
    func validateWritable(_ stream: StreamName) throws(ServiceError) {
        if let problem = stream.validate(limits: eventStore.options.limits) {
            throw ServiceError(refusal: .invalidStreamName(stream, problem))
        }
        // A saga's state is the fold of its stream: an event from anyone but
        // the saga engine could make it do what no decision chose.
        if SagaStreamEvents.isSagaStream(stream.text) {
            throw ServiceError(.invalidStreamName, "streams named \(SagaStreamEvents.streamPrefix)… are written by the saga engine only; use /v1/sagas")
        }
    }

    /// A stream a client may read or subscribe to: system streams included
    /// (`$kv-default`, parked streams), `$all` excluded (it has routes of its own).
    func validateReadable(_ stream: StreamName) throws(ServiceError) {
        let limits = eventStore.options.limits
        if stream == .all {
            throw ServiceError(.invalidStreamName, "$all is not a stream name here; read it with the $all operations")
        }
        let count = stream.byteCount
        let maximum = stream.isSystem ? limits.maximumSystemStreamNameBytes : limits.maximumStreamNameBytes
        let problem: StreamNameProblem?
        if count == 0 {
            problem = .empty
        } else if count > maximum {
            problem = .tooLong(bytes: count, limit: maximum)
        } else if stream.text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            problem = .controlCharacter
        } else {
            problem = nil
        }
        if let problem { throw ServiceError(refusal: .invalidStreamName(stream, problem)) }
    }
}
