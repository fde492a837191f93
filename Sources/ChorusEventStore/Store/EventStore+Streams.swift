/// Deletes and retention rules.
///
/// A soft delete hides every event so far (KurrentDB sets `$tb` to the next
/// revision): the stream reads as absent, `no_stream` holds, and the next
/// append recreates it at the next revision. A hard delete tombstones the
/// stream forever. Both leave the events in `$all` and in memory until a
/// scavenge, and both take an expected state like an append.
extension EventStore {
    mutating func executeSoftDelete(_ stream: StreamName, expected: ExpectedState) -> EventStoreResult {
        if let problem = stream.validate(limits: limits) { return .invalidStreamName(stream, problem) }
        let number = streamNumber(stream)
        let state = actualState(of: number)
        if state == .tombstoned { return .streamDeleted(stream) }
        guard expected.isSatisfied(by: state) else {
            return .wrongExpectedVersion(WrongExpectedVersion(stream: stream, expected: expected, actual: state, cause: .stateMismatch))
        }
        guard let number, case .revision(let last) = state else {
            // Absent or already soft-deleted: nothing changes.
            return .deleted(StreamDeletion(stream: stream, kind: .soft, lastRevision: number.flatMap { streams[Int($0)].lastRevision }))
        }
        let index = Int(number)
        streams[index].status = .softDeleted
        streams[index].softDeletedBefore = streams[index].nextRevision
        streams[index].rulesChangedAt = nextPosition
        refreshReclaimable(number)
        return .deleted(StreamDeletion(stream: stream, kind: .soft, lastRevision: last))
    }

    mutating func executeHardDelete(_ stream: StreamName, expected: ExpectedState) -> EventStoreResult {
        if let problem = stream.validate(limits: limits) { return .invalidStreamName(stream, problem) }
        let number = streamNumber(stream)
        let state = actualState(of: number)
        if state == .tombstoned { return .streamDeleted(stream) }
        guard expected.isSatisfied(by: state) else {
            return .wrongExpectedVersion(WrongExpectedVersion(stream: stream, expected: expected, actual: state, cause: .stateMismatch))
        }
        if number == nil, let full = makeRoom(newStreams: 1, events: 0, bytes: 0) { return .storeFull(full) }
        let tombstoned = ensureStream(stream)
        let index = Int(tombstoned)
        let last = streams[index].lastRevision
        streams[index].status = .tombstoned
        streams[index].rulesChangedAt = nextPosition
        refreshReclaimable(tombstoned)
        return .deleted(StreamDeletion(stream: stream, kind: .hard, lastRevision: last))
    }

    /// Replaces a stream's metadata. A client may set it on its own streams and
    /// on system streams (to change a change feed's retention), not on `$all`.
    mutating func executeSetMetadata(_ stream: StreamName, metadata: StreamMetadata) -> EventStoreResult {
        if let problem = stream.validateAnyStream(limits: limits) { return .invalidStreamName(stream, problem) }
        let number = streamNumber(stream)
        if actualState(of: number) == .tombstoned { return .streamDeleted(stream) }
        if number == nil, let full = makeRoom(newStreams: 1, events: 0, bytes: 0) { return .storeFull(full) }
        let changed = ensureStream(stream)
        streams[Int(changed)].metadata = metadata
        streams[Int(changed)].rulesChangedAt = nextPosition
        refreshReclaimable(changed)
        return .metadataSet(stream: stream)
    }
}
