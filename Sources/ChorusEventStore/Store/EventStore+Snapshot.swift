import ChorusCore

/// Snapshot and restore of the whole machine, for Raft compaction and for
/// followers that fall behind the log (thesis §5.1):
///
///     format(1) appliedIndex clock(zigzag) nextPosition
///     streamCount { name nextRevision retainedStart status softDeletedBefore metadata rulesChangedAt }   by stream number
///     eventCount  { position stream id(16) recordedTime(zigzag) schemaVersion contentType flags type data metadata }  by position
///     windowCount { stream id(16) revision position recordedTime(zigzag) flags }   oldest first
///     groupCount  { key hasFilter [filter] settings checkpoint replayRequestedThrough replayedThrough }   keys ascending
///
/// Event revisions are not written: a stream's retained events are its
/// revisions `retainedStart…nextRevision-1`, in position order. Restoring
/// checks every invariant the store relies on (ascending positions and times,
/// complete stream indexes, bounds of every count and length), so bytes from
/// a disk or a peer can make `restore` throw but never trap later.
extension EventStore {
    static let snapshotFormat: UInt8 = 1

    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + streams.count * 32 + log.count * 40 + log.payloadByteCount + window.count * 40)
        writer.write(Self.snapshotFormat)
        writer.writeVarint(appliedIndex.rawValue)
        writer.writeSignedVarint(clock.rawValue)
        writer.writeVarint(nextPosition)
        writer.writeVarint(streams.count)
        for stream in streams {
            writer.writeString(stream.name.text)
            writer.writeVarint(stream.nextRevision)
            writer.writeVarint(stream.retainedStart)
            writer.write(stream.status.rawValue)
            writer.writeVarint(stream.softDeletedBefore)
            stream.metadata.encode(into: &writer)
            writer.writeVarint(stream.rulesChangedAt)
        }
        writer.writeVarint(log.count)
        for slot in 0..<log.count {
            let record = log[slot]
            writer.writeVarint(record.position)
            writer.writeVarint(UInt64(record.stream))
            record.id.encode(into: &writer)
            writer.writeSignedVarint(record.recordedTime)
            writer.writeVarint(UInt64(record.schemaVersion))
            writer.write(record.contentType.rawValue)
            writer.write(record.flags.rawValue)
            writer.writeLengthPrefixed(log.typeBytes(of: record))
            writer.writeLengthPrefixed(log.data(of: record))
            writer.writeLengthPrefixed(log.metadata(of: record))
        }
        let windowEntries = window.liveEntriesInOrder
        writer.writeVarint(windowEntries.count)
        for (key, entry) in windowEntries {
            writer.writeVarint(UInt64(key.stream))
            key.id.encode(into: &writer)
            writer.writeVarint(entry.revision)
            writer.writeVarint(entry.position)
            writer.writeSignedVarint(entry.recordedTime)
            writer.write(entry.flags.rawValue)
        }
        writer.writeVarint(groups.count)
        for key in groups.keys.sorted() {
            let group = groups[key]!
            key.encode(into: &writer)
            if case .all(let filter) = group.source {
                writer.write(true)
                filter.encode(into: &writer)
            } else {
                writer.write(false)
            }
            group.settings.encode(into: &writer)
            group.checkpoint.encode(into: &writer)
            writer.writeVarint(group.replayRequestedThrough.rawValue)
            writer.writeVarint(group.replayedThrough.rawValue)
        }
        return writer.bytes
    }

    /// Replaces the state with a `snapshot()`'s taken at `index`. An empty
    /// snapshot is the empty machine at `index` (one that did not exist when
    /// the snapshot was taken).
    public mutating func restore(from snapshot: [UInt8], at index: LogIndex) throws(BinaryDecodingError) {
        if snapshot.isEmpty {
            self = EventStore(limits: limits)
            appliedIndex = index
            return
        }
        let restored = try EventStore(restoring: snapshot, limits: limits)
        guard restored.appliedIndex == index else {
            throw BinaryDecodingError(
                .invalidValue("snapshot of index \(restored.appliedIndex.rawValue) offered for index \(index.rawValue)"), at: 0)
        }
        self = restored
    }

    /// A store restored from `snapshot()` bytes. Throws on malformed input.
    public init(restoring bytes: [UInt8], limits: EventStoreLimits = .default) throws(BinaryDecodingError) {
        self.init(limits: limits)
        var reader = ByteReader(bytes)
        let format = try reader.readByte()
        guard format == Self.snapshotFormat else {
            throw BinaryDecodingError(.invalidValue("event-store snapshot format \(format)"), at: 0)
        }
        appliedIndex = LogIndex(try reader.readVarint())
        clock = RecordedTime(rawValue: try reader.readSignedVarint())
        nextPosition = try reader.readVarint()
        // Positions (and so revisions) stay far from overflowing a UInt64.
        guard nextPosition <= UInt64(Int64.max) else { throw reader.error(.invalidValue("head position \(nextPosition)")) }
        try restoreStreams(&reader)
        try restoreEvents(&reader)
        try restoreWindow(&reader)
        try restoreGroups(&reader)
        try reader.expectEnd()
        for index in streams.indices { refreshReclaimable(UInt32(index)) }
    }

    private mutating func restoreStreams(_ reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: limits.maximumStreams, minimumElementBytes: 7)
        streams.reserveCapacity(count)
        for _ in 0..<count {
            let name = StreamName(try reader.readString(limit: limits.maximumSystemStreamNameBytes))
            if let problem = name.validateAnyStream(limits: limits) { throw reader.error(.invalidValue("stream name: \(problem)")) }
            guard streamNumbers[name] == nil else { throw reader.error(.invalidValue("stream \(name) appears twice")) }
            var stream = StreamRecord(name: name)
            stream.nextRevision = try reader.readVarint()
            stream.retainedStart = try reader.readVarint()
            let rawStatus = try reader.readByte()
            guard let status = StreamStatus(rawValue: rawStatus) else { throw reader.error(.invalidValue("stream status \(rawStatus)")) }
            stream.status = status
            stream.softDeletedBefore = try reader.readVarint()
            stream.metadata = try StreamMetadata(decoding: &reader)
            stream.rulesChangedAt = try reader.readVarint()
            guard stream.retainedStart <= stream.nextRevision, stream.softDeletedBefore <= stream.nextRevision,
                stream.rulesChangedAt <= nextPosition, status != .softDeleted || stream.nextRevision > 0,
                stream.nextRevision <= nextPosition
            else { throw reader.error(.invalidValue("stream \(name) has inconsistent revisions")) }
            streamNumbers[name] = UInt32(streams.count)
            streams.append(stream)
        }
    }

    private mutating func restoreEvents(_ reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: limits.maximumRetainedEvents, minimumElementBytes: 25)
        log.reserveCapacity(count)
        var previousPosition: UInt64?
        var previousTime = Int64.min
        for _ in 0..<count {
            let position = try reader.readVarint()
            let number = try reader.readVarint()
            let id = try EventID(decoding: &reader)
            let recordedTime = try reader.readSignedVarint()
            let schemaVersion = try reader.readVarint(limit: Int(UInt32.max))
            let contentType = try ContentType(decoding: &reader)
            let flags = EventFlags(rawValue: try reader.readByte())
            let type = try reader.readString(limit: limits.maximumEventTypeBytes)
            let data = Array(try reader.readLengthPrefixed(limit: limits.maximumCommandBytes))
            let metadata = Array(try reader.readLengthPrefixed(limit: limits.maximumCommandBytes))
            guard position < nextPosition, previousPosition.map({ $0 < position }) ?? true else {
                throw reader.error(.invalidValue("event positions must ascend below the head"))
            }
            guard recordedTime >= previousTime, recordedTime <= clock.rawValue else {
                throw reader.error(.invalidValue("recorded times must ascend up to the clock"))
            }
            guard number < UInt64(streams.count), EventFlags.all.isSuperset(of: flags) else {
                throw reader.error(.invalidValue("event of an unknown stream or with unknown flags"))
            }
            guard log.payloadByteCount + type.utf8.count + data.count + metadata.count <= limits.maximumRetainedPayloadBytes else {
                throw reader.error(.invalidValue("retained payload exceeds maximumRetainedPayloadBytes"))
            }
            let stream = UInt32(number)
            let index = Int(stream)
            let revision = streams[index].retainedStart + UInt64(streams[index].entries.count)
            guard revision < streams[index].nextRevision else {
                throw reader.error(.invalidValue("stream \(streams[index].name) has more retained events than revisions"))
            }
            let record = EventRecord(
                position: position, revision: revision, recordedTime: recordedTime, id: id, stream: stream,
                schemaVersion: UInt32(schemaVersion), payloadChunk: 0, payloadOffset: 0, dataLength: UInt32(data.count),
                metadataLength: UInt32(metadata.count), typeLength: UInt16(type.utf8.count), contentType: contentType,
                flags: flags)
            let slot = log.append(record, type: type.utf8, data: data, metadata: metadata)
            streams[index].entries.append(UInt32(slot))
            previousPosition = position
            previousTime = recordedTime
        }
        for stream in streams where UInt64(stream.entries.count) != stream.nextRevision - stream.retainedStart {
            throw reader.error(.invalidValue("stream \(stream.name) is missing retained events"))
        }
    }

    private mutating func restoreWindow(_ reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: limits.idempotencyWindowMaxEvents, minimumElementBytes: 21)
        var previousPosition: UInt64?
        for _ in 0..<count {
            let number = try reader.readVarint()
            let id = try EventID(decoding: &reader)
            let revision = try reader.readVarint()
            let position = try reader.readVarint()
            let recordedTime = try reader.readSignedVarint()
            let flags = EventFlags(rawValue: try reader.readByte())
            guard number < UInt64(streams.count), revision < streams[Int(number)].nextRevision, position < nextPosition,
                previousPosition.map({ $0 < position }) ?? true, recordedTime <= clock.rawValue,
                EventFlags.all.isSuperset(of: flags)
            else { throw reader.error(.invalidValue("inconsistent idempotency window entry")) }
            let key = IdempotencyWindow.Key(stream: UInt32(number), id: id)
            guard window.lookup(key) == nil else { throw reader.error(.invalidValue("idempotency window entry appears twice")) }
            window.record(key, IdempotencyWindow.Entry(revision: revision, position: position, recordedTime: recordedTime, flags: flags))
            previousPosition = position
        }
    }

    private mutating func restoreGroups(_ reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: limits.maximumPersistentGroups, minimumElementBytes: 12)
        var previousKey: PersistentGroupKey?
        for _ in 0..<count {
            let key = try PersistentGroupKey(decoding: &reader, bound: limits.maximumSystemStreamNameBytes)
            if let problem = groupProblem(key) { throw reader.error(.invalidValue("group \(key): \(problem)")) }
            if let previousKey, !(previousKey < key) { throw reader.error(.invalidValue("group keys not strictly ascending")) }
            previousKey = key
            let source: SubscriptionSource
            if try reader.readBool() {
                let filter = try EventFilter(decoding: &reader, bound: limits.maximumSystemStreamNameBytes)
                if let problem = filter.problem(limits: limits) { throw reader.error(.invalidValue("group filter: \(problem)")) }
                source = .all(filter)
            } else {
                source = .stream(key.stream)
            }
            guard (key.stream == .all) == (source != .stream(key.stream)) else {
                throw reader.error(.invalidValue("group \(key) has a source that does not match its stream"))
            }
            let settings = try PersistentGroupSettings(decoding: &reader)
            if let problem = settings.problem(limits: limits) { throw reader.error(.invalidValue("group settings: \(problem)")) }
            let checkpoint = try SubscriptionCursor(decoding: &reader)
            let requested = StreamRevision(try reader.readVarint())
            let replayed = StreamRevision(try reader.readVarint())
            let parkedEnd = streamNumber(key.parkedStream).map { streams[Int($0)].nextRevision } ?? 0
            if case .after(let position) = checkpoint, position.rawValue >= nextPosition {
                throw reader.error(.invalidValue("group checkpoint beyond the head"))
            }
            guard replayed <= requested, requested.rawValue <= parkedEnd else {
                throw reader.error(.invalidValue("group replay bounds inconsistent"))
            }
            groups[key] = PersistentGroup(
                key: key, source: source, settings: settings, checkpoint: checkpoint, replayRequestedThrough: requested,
                replayedThrough: replayed)
        }
    }
}
