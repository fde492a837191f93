/// The checks of an append that need no state: sizes, counts, types, ids.
extension EventStore {
    /// Why these batches cannot be appended at all, or nil. `batches` are the
    /// streams' batches in command order (one for a single-stream append).
    func validate(batches: [[ProposedEvent]]) -> EventStoreResult? {
        var eventCount = 0
        for batch in batches { eventCount += batch.count }
        if eventCount > limits.maxEventsPerAppend {
            return .appendTooLarge(AppendTooLarge(measure: .eventCount, actual: eventCount, limit: limits.maxEventsPerAppend))
        }
        var totalBytes = 0
        for (streamIndex, batch) in batches.enumerated() {
            if batch.isEmpty { return .invalidEvent(InvalidEvent(streamIndex: streamIndex, eventIndex: nil, problem: .noEvents)) }
            for (eventIndex, event) in batch.enumerated() {
                let bytes = event.payloadByteCount
                if bytes > limits.maxEventBytes {
                    return .appendTooLarge(
                        AppendTooLarge(
                            measure: .eventBytes(streamIndex: streamIndex, eventIndex: eventIndex), actual: bytes,
                            limit: limits.maxEventBytes))
                }
                totalBytes += bytes
                if let problem = problem(inType: event.type) ?? (event.schemaVersion == 0 ? .schemaVersionZero : nil) {
                    return .invalidEvent(InvalidEvent(streamIndex: streamIndex, eventIndex: eventIndex, problem: problem))
                }
            }
            var seen = Set<EventID>()
            seen.reserveCapacity(batch.count)
            for (eventIndex, event) in batch.enumerated() where !seen.insert(event.id).inserted {
                return .invalidEvent(
                    InvalidEvent(streamIndex: streamIndex, eventIndex: eventIndex, problem: .duplicateEventID(event.id)))
            }
        }
        if totalBytes > limits.maxAppendBytes {
            return .appendTooLarge(AppendTooLarge(measure: .appendBytes, actual: totalBytes, limit: limits.maxAppendBytes))
        }
        return nil
    }

    func problem(inType type: String) -> InvalidEvent.Problem? {
        let bytes = type.utf8.count
        if bytes == 0 { return .emptyType }
        if bytes > limits.maxEventTypeBytes { return .typeTooLong(bytes: bytes, limit: limits.maxEventTypeBytes) }
        if type.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return .typeControlCharacter }
        return nil
    }

    /// Makes room for an append, or says what is full. A full store scavenges
    /// once before it refuses, so unreachable events never block an append.
    mutating func makeRoom(newStreams: Int, events: Int, bytes: Int) -> StoreFull? {
        func lacking() -> StoreFull? {
            if streams.count + newStreams > limits.maxStreams { return StoreFull(resource: .streams, limit: limits.maxStreams) }
            if log.count + events > limits.maxRetainedEvents {
                return StoreFull(resource: .events, limit: limits.maxRetainedEvents)
            }
            if log.payloadByteCount + bytes > limits.maxRetainedPayloadBytes {
                return StoreFull(resource: .payloadBytes, limit: limits.maxRetainedPayloadBytes)
            }
            return nil
        }
        guard let full = lacking() else { return nil }
        guard full.resource != .streams else { return full }
        _ = scavenge(automatic: true)
        return lacking()
    }
}
