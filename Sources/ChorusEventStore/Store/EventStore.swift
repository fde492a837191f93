import ChorusCore

/// The event store as a replicated state machine (DESIGN.md §5): streams with
/// per-stream revisions, one global position per event (`$all`), expected-state
/// appends that are idempotent by event id, deletes, retention rules,
/// scavenging, the key-value change feed and the replicated half of
/// persistent subscription groups.
///
/// Every replica applies the same committed commands in the same order and
/// reaches the same state: the machine reads no clock (time arrives in each
/// command, stamped by the proposing leader), draws no random numbers, and
/// nothing it returns or encodes depends on dictionary order (streams are
/// numbered in order of creation; snapshots write groups sorted by key).
///
/// Layout, for a million events: the events are one array of fixed-size
/// records in `$all` order (`EventLog`) with their bytes packed in chunks;
/// each stream holds the 32-bit slots of its events by revision; the id
/// window is one dictionary. An append costs O(batch) plus amortized O(1);
/// a stream read from a revision and an `$all` read from a position are an
/// index lookup (O(1) and O(log n)) plus the page.
public struct EventStore: Sendable {
    public let limits: EventStoreLimits
    /// The index of the last log entry applied or skipped.
    public internal(set) var appliedIndex: LogIndex = .zero
    /// The store's clock: the latest recorded time of any applied command. It
    /// never goes back, and it is what `maximumAge` and the id window's age measure
    /// against (so a read ages events the same way on every replica).
    public internal(set) var clock: RecordedTime = .epoch
    /// The position the next event gets.
    var nextPosition: UInt64 = 0
    var log: EventLog
    var streams: [StreamRecord] = []
    var streamNumbers: [StreamName: UInt32] = [:]
    var window = IdempotencyWindow()
    var groups: [PersistentGroupKey: PersistentGroup] = [:]
    /// Retained events that the count-based rules hide: what a scavenge would
    /// free, not counting `maximumAge`. Maintained incrementally (the sum of the
    /// streams' `reclaimable`), for the automatic scavenge.
    var reclaimableEvents: UInt64 = 0
    /// Scavenges run so far (requested and automatic), and the latest one's
    /// report: counters of this process for metrics, not replicated state (a
    /// snapshot does not carry them).
    public internal(set) var scavengeCount = 0
    /// A deliberate bug for a negative control (`InjectedBug.eventStore`);
    /// nil always but in the simulator's `--inject-bug`. Not replicated state:
    /// the host sets it on every replica alike, and again after a restore.
    public var injectedBug: InjectedBug?
    public internal(set) var lastScavenge: ScavengeReport?

    public init(limits: EventStoreLimits = .default) {
        precondition(limits.problems.isEmpty, "event-store limits are inconsistent: \(limits.problems)")
        self.limits = limits
        self.log = EventLog(chunkBytes: limits.payloadChunkBytes)
    }

    /// The position the next appended event will get; every position below it
    /// has been assigned (`$all`'s head).
    public var headPosition: GlobalPosition { GlobalPosition(nextPosition) }
    /// Events held in memory (not yet scavenged).
    public var retainedEventCount: Int { log.count }
    public var retainedPayloadBytes: Int { log.payloadByteCount }
    public var streamCount: Int { streams.count }
    /// Ids the idempotency window holds.
    public var idempotencyWindowCount: Int { window.count }

    /// Applies the committed command at `index` (the bytes after the machine tag).
    public mutating func apply(_ command: ArraySlice<UInt8>, at index: LogIndex) -> EventStoreResult {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        guard command.count <= limits.maximumCommandBytes else {
            return .appendTooLarge(AppendTooLarge(measure: .commandBytes, actual: command.count, limit: limits.maximumCommandBytes))
        }
        let decoded: EventStoreCommand
        do {
            decoded = try EventStoreCommand(decoding: command, limits: limits)
        } catch {
            return .malformedCommand(error.description)
        }
        return execute(decoded)
    }

    /// Applies an already decoded command at `index` (as `apply` does after decoding).
    public mutating func apply(_ command: EventStoreCommand, at index: LogIndex) -> EventStoreResult {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
        return execute(command)
    }

    /// Notes that the entry at `index` carries nothing for this machine.
    public mutating func skip(index: LogIndex) {
        precondition(index > appliedIndex, "entries are applied in log order: \(index) after \(appliedIndex)")
        appliedIndex = index
    }

    /// Records the key-value store's changes committed at `index` in the change
    /// feed, in place of `skip(index:)` for that entry: the feed costs no second
    /// log write, because it is derived from the key-value apply, which every
    /// replica performs identically. `recordedTime` should be the time stamped
    /// in the key-value command if it carries one; passing `clock` is always
    /// deterministic.
    public mutating func recordKeyValueChanges(
        _ changes: [KeyValueChange], recordedTime: RecordedTime, at index: LogIndex
    ) -> EventStoreResult {
        apply(EventStoreCommand(recordedTime: recordedTime, operation: .recordKeyValueChanges(changes)), at: index)
    }

    private mutating func execute(_ command: EventStoreCommand) -> EventStoreResult {
        if command.recordedTime > clock { clock = command.recordedTime }
        window.evict(maximumEvents: limits.idempotencyWindowMaxEvents, recordedBefore: clock.subtracting(limits.idempotencyWindowMaxAge))
        let result: EventStoreResult
        switch command.operation {
        case .append(let append): result = executeAppend(append)
        case .appendMultiple(let multiple): result = executeMultiStreamAppend(multiple)
        case .softDelete(let stream, let expected): result = executeSoftDelete(stream, expected: expected)
        case .hardDelete(let stream, let expected): result = executeHardDelete(stream, expected: expected)
        case .setMetadata(let stream, let metadata): result = executeSetMetadata(stream, metadata: metadata)
        case .recordKeyValueChanges(let changes): result = executeKeyValueChanges(changes)
        case .createGroup(let key, let filter, let settings, let start):
            result = executeCreateGroup(key, filter: filter, settings: settings, start: start)
        case .deleteGroup(let key): result = executeDeleteGroup(key)
        case .advanceCheckpoint(let key, let checkpoint): result = executeAdvanceCheckpoint(key, to: checkpoint)
        case .parkEvent(let key, let position, let reason): result = executePark(key, position: position, reason: reason)
        case .replayParked(let key): result = executeReplayParked(key)
        case .advanceReplay(let key, let through): result = executeAdvanceReplay(key, through: through)
        case .scavenge: result = .scavenged(scavenge(automatic: false))
        case .advanceClock: result = .clockAdvanced(clock)
        }
        scavengeIfWorthwhile()
        return result
    }

    // MARK: Streams

    func streamNumber(_ name: StreamName) -> UInt32? { streamNumbers[name] }

    func actualState(of number: UInt32?) -> ActualStreamState {
        guard let number else { return .absent }
        return streams[Int(number)].actualState
    }

    /// The stream's number, creating an empty record if it has none.
    /// Precondition: there is room (`streams.count < limits.maximumStreams`).
    mutating func ensureStream(_ name: StreamName) -> UInt32 {
        if let number = streamNumbers[name] { return number }
        precondition(streams.count < limits.maximumStreams, "ensureStream beyond maximumStreams; the caller checks room first")
        let number = UInt32(streams.count)
        streams.append(StreamRecord(name: name))
        streamNumbers[name] = number
        return number
    }

    /// Recomputes a stream's share of the reclaimable count after its rules or length changed.
    mutating func refreshReclaimable(_ number: UInt32) {
        let index = Int(number)
        let now = streams[index].countReclaimable
        reclaimableEvents = reclaimableEvents - streams[index].reclaimable + now
        streams[index].reclaimable = now
    }

    /// The first revision reads see (every retention rule, the strictest winning,
    /// and never below what is retained).
    func visibleStart(of stream: StreamRecord) -> UInt64 {
        var cut = Swift.max(stream.countCut(nextRevision: stream.nextRevision), stream.retainedStart)
        if let maximumAge = stream.metadata.maximumAge { cut = ageCut(of: stream, from: cut, threshold: clock.subtracting(maximumAge)) }
        return cut
    }

    /// The first revision at or after `from` recorded at or after `threshold`
    /// (recorded times ascend along a stream, so this is a binary search).
    func ageCut(of stream: StreamRecord, from: UInt64, threshold: RecordedTime) -> UInt64 {
        var low = from
        var high = stream.nextRevision
        while low < high {
            let middle = low + (high - low) / 2
            let slot = stream.slot(ofRevision: middle)!
            if log[slot].recordedTime < threshold.rawValue { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The materialized event in `slot`.
    func recordedEvent(at slot: Int) -> RecordedEvent {
        let record = log[slot]
        return RecordedEvent(
            stream: streams[Int(record.stream)].name, revision: StreamRevision(record.revision),
            position: GlobalPosition(record.position), id: record.id, type: log.type(of: record), data: log.data(of: record),
            metadata: log.metadata(of: record), contentType: record.contentType, schemaVersion: record.schemaVersion,
            recordedTime: RecordedTime(rawValue: record.recordedTime))
    }

    /// A digest of the whole state, equal on two replicas exactly when their snapshots are.
    public var stateDigest: UInt32 { CRC32C.checksum(snapshot()) }
}

extension EventStore: ReplicatedStateMachine {
    public typealias Output = EventStoreResult
    public typealias Query = EventStoreQuery
    public typealias QueryResult = EventStoreQueryResult
}
