import ChorusCore

/// A write to the event store, as it travels in a Raft log entry (after the
/// `MachineTag.eventStore` byte): the time the proposing leader stamped and
/// the operation.
///
/// The time is the only clock the machine ever sees (DESIGN.md §3): it becomes
/// the recorded time of the events the command appends, ages events for
/// `maximumAge` and the idempotency window, and every replica reads the same one.
public struct EventStoreCommand: Hashable, Sendable {
    public var recordedTime: RecordedTime
    public var operation: EventStoreOperation

    public init(recordedTime: RecordedTime, operation: EventStoreOperation) {
        self.recordedTime = recordedTime
        self.operation = operation
    }
}

/// What a command does.
public enum EventStoreOperation: Hashable, Sendable {
    /// Appends to one stream.
    case append(StreamAppend)
    /// Appends to several streams atomically, with check-only conditions.
    case appendMultiple(MultiStreamAppend)
    /// Hides the stream's events (it reads as absent); a later append continues
    /// the numbering. The events stay in `$all` until a scavenge.
    case softDelete(stream: StreamName, expected: ExpectedState)
    /// Tombstones the stream: every later append, read and subscribe gets
    /// `streamDeleted`, forever. The events stay in `$all` until a scavenge.
    case hardDelete(stream: StreamName, expected: ExpectedState)
    /// Replaces the stream's retention rules.
    case setMetadata(stream: StreamName, metadata: StreamMetadata)
    /// Records committed key-value writes and deletes in their change feeds.
    case recordKeyValueChanges([KeyValueChange])
    /// Creates a persistent subscription group. `filter` applies to `$all`
    /// groups only (a stream group must pass nil).
    case createGroup(key: PersistentGroupKey, filter: EventFilter?, settings: PersistentGroupSettings, start: PersistentGroupStart)
    /// Deletes a group; its parked stream is soft-deleted.
    case deleteGroup(key: PersistentGroupKey)
    /// Moves the group's replicated checkpoint forward (an older one is ignored).
    case advanceCheckpoint(key: PersistentGroupKey, checkpoint: SubscriptionCursor)
    /// Appends a reference to the event at `position` to the group's parked stream.
    case parkEvent(key: PersistentGroupKey, position: GlobalPosition, reason: String)
    /// Asks for every event parked so far to be delivered again.
    case replayParked(key: PersistentGroupKey)
    /// Records that parked-stream revisions below `through` were replayed and are done.
    case advanceReplay(key: PersistentGroupKey, through: StreamRevision)
    /// Only advances the store's clock to the command's time: an idle leader
    /// proposes it now and then so that `maximumAge` and the id window's age move
    /// on when nothing else is written.
    case advanceClock
    /// Physically removes every event that deletes and retention rules made
    /// unreachable (at this command's time, for `maximumAge`).
    case scavenge
}
