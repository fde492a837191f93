/// The checks of an append that need no state: sizes, counts, types, ids.
extension EventStore {
    /// Why these batches cannot be appended at all, or nil. `batches` are the
    /// streams' batches in command order (one for a single-stream append).
    func validate(batches: [[ProposedEvent]]) -> EventStoreResult? {
        var eventCount = 0
        for batch in batches { eventCount += batch.count }
        if eventCount > limits.maximumEventsPerAppend {
            return .appendTooLarge(AppendTooLarge(measure: .eventCount, actual: eventCount, limit: limits.maximumEventsPerAppend))
        }
        var totalBytes = 0
        for (streamIndex, batch) in batches.enumerated() {
            if batch.isEmpty { return .invalidEvent(InvalidEvent(streamIndex: streamIndex, eventIndex: nil, problem: .noEvents)) }
            for (eventIndex, event) in batch.enumerated() {
                let bytes = event.payloadByteCount
                if bytes > limits.maximumEventBytes {
                    return .appendTooLarge(
                        AppendTooLarge(
                            measure: .eventBytes(streamIndex: streamIndex, eventIndex: eventIndex), actual: bytes,
                            limit: limits.maximumEventBytes))
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
        if totalBytes > limits.maximumAppendBytes {
            return .appendTooLarge(AppendTooLarge(measure: .appendBytes, actual: totalBytes, limit: limits.maximumAppendBytes))
        }
        return nil
    }

    func problem(inType type: String) -> InvalidEvent.Problem? {
        let bytes = type.utf8.count
        if bytes == 0 { return .emptyType }
        if bytes > limits.maximumEventTypeBytes { return .typeTooLong(bytes: bytes, limit: limits.maximumEventTypeBytes) }
        if type.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return .typeControlCharacter }
        return nil
    }

    /// Makes room for an append, or says what is full. A full store scavenges
    /// once before it refuses, so unreachable events never block an append.
    mutating func makeRoom(newStreams: Int, events: Int, bytes: Int) -> StoreFull? {
        func lacking() -> StoreFull? {
            if streams.count + newStreams > limits.maximumStreams { return StoreFull(resource: .streams, limit: limits.maximumStreams) }
            if log.count + events > limits.maximumRetainedEvents {
                return StoreFull(resource: .events, limit: limits.maximumRetainedEvents)
            }
            if log.payloadByteCount + bytes > limits.maximumRetainedPayloadBytes {
                return StoreFull(resource: .payloadBytes, limit: limits.maximumRetainedPayloadBytes)
            }
            return nil
        }
        guard let full = lacking() else { return nil }
        guard full.resource != .streams else { return full }
        _ = scavenge(automatic: true)
        return lacking()
    }
}
