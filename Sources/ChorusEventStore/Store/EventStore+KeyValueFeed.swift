import ChorusCore

/// The key-value store's change feed: each committed write or delete becomes
/// one event in `$kv-<keyspace>`, in commit order, with the key, the new
/// version and the value (or a tombstone). A feed stream is created with
/// `maximumCount = keyValueChangeFeedMaxCount`, so it keeps the latest changes
/// and older ones are scavenged (the automatic scavenge keeps memory bounded).
extension EventStore {
    mutating func executeKeyValueChanges(_ changes: [KeyValueChange]) -> EventStoreResult {
        if changes.count > limits.maximumKeyValueChangesPerCommand {
            return .appendTooLarge(
                AppendTooLarge(measure: .eventCount, actual: changes.count, limit: limits.maximumKeyValueChangesPerCommand))
        }
        var newStreams = Set<StreamName>()
        var bytes = 0
        for (index, change) in changes.enumerated() {
            if let problem = StreamName.problem(in: change.keyspace, maximumBytes: limits.maximumKeyspaceNameBytes) {
                return .invalidEvent(
                    InvalidEvent(streamIndex: nil, eventIndex: index, problem: .invalidKeyValueChange("keyspace: \(problem)")))
            }
            if change.key.utf8.count > limits.maximumKeyValueKeyBytes {
                return .invalidEvent(
                    InvalidEvent(
                        streamIndex: nil, eventIndex: index,
                        problem: .invalidKeyValueChange("a key of \(change.key.utf8.count) bytes exceeds \(limits.maximumKeyValueKeyBytes)")))
            }
            let stream = KeyValueChange.feedStream(keyspace: change.keyspace)
            if streamNumber(stream) == nil { newStreams.insert(stream) }
            bytes += change.eventType.utf8.count + (change.value?.count ?? 0) + change.metadataJSON.count
        }
        if let full = makeRoom(newStreams: newStreams.count, events: changes.count, bytes: bytes) { return .storeFull(full) }
        var positions: [GlobalPosition] = []
        positions.reserveCapacity(changes.count)
        for (ordinal, change) in changes.enumerated() {
            let stream = KeyValueChange.feedStream(keyspace: change.keyspace)
            let isNew = streamNumber(stream) == nil
            let number = ensureStream(stream)
            if isNew {
                streams[Int(number)].metadata = StreamMetadata(maximumCount: UInt64(limits.keyValueChangeFeedMaxCount))
            }
            if streams[Int(number)].status == .tombstoned { continue }
            let event = ProposedEvent(
                id: change.eventID(ordinal: ordinal), type: change.eventType, data: change.value ?? [],
                metadata: change.metadataJSON, contentType: .octetStream)
            positions.append(GlobalPosition(nextPosition))
            appendSystemEvent(event, to: number)
        }
        return .keyValueChangesRecorded(KeyValueFeedOutcome(positions: positions))
    }

    /// Appends one event the store writes itself (a batch of one, not in the id window).
    mutating func appendSystemEvent(_ event: ProposedEvent, to number: UInt32) {
        let index = Int(number)
        var flags: EventFlags = [.batchStart, .batchEnd]
        if streams[index].status == .softDeleted || streams[index].nextRevision == 0 { flags.insert(.incarnationStart) }
        if streams[index].status == .softDeleted {
            streams[index].status = .active
            streams[index].rulesChangedAt = nextPosition
        }
        appendEvent(event, to: number, flags: flags, recordInWindow: false)
        refreshReclaimable(number)
    }
}
