import ChorusCore

/// The binary form of a command:
///
///     format(1) recordedTime(zigzag varint) operation tag(1) body
///
/// with these bodies (strings are length-prefixed UTF-8, `bytes` are
/// length-prefixed, counts and numbers are varints):
///
///     1 append            stream-append
///     2 appendMultiple    count {stream-append} count {stream expected}
///     3 softDelete        stream expected          4 hardDelete  stream expected
///     5 setMetadata       stream metadata          6 kvChanges   count {keyspace key version hasValue [value]}
///     7 createGroup       key hasFilter [filter] settings start
///     8 deleteGroup key   9 advanceCheckpoint key cursor   10 parkEvent key position reason
///     11 replayParked key 12 advanceReplay key revision   13 scavenge   14 advanceClock
///
///     stream-append = stream expected count { id(16) contentType(1) schemaVersion type data metadata }
///     expected      = 0 any | 1 no_stream | 2 stream_exists | 3 revision
///
/// Decoding bounds every count and length by the bytes that remain (and the
/// limits), so a forged length cannot make it allocate; it never traps. Sizes
/// within those bounds but beyond the store's limits decode, and the apply
/// answers them with a typed refusal (`appendTooLarge`, `invalidEvent`, …).
extension EventStoreCommand {
    static let format: UInt8 = 1

    enum Tag: UInt8 {
        case append = 1, appendMultiple, softDelete, hardDelete, setMetadata, recordKeyValueChanges
        case createGroup, deleteGroup, advanceCheckpoint, parkEvent, replayParked, advanceReplay, scavenge, advanceClock
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + operation.estimatedPayloadBytes)
        writer.write(Self.format)
        writer.writeSignedVarint(recordedTime.rawValue)
        switch operation {
        case .append(let append):
            writer.write(Tag.append.rawValue)
            append.encode(into: &writer)
        case .appendMultiple(let multiple):
            writer.write(Tag.appendMultiple.rawValue)
            writer.writeVarint(multiple.writes.count)
            for write in multiple.writes { write.encode(into: &writer) }
            writer.writeVarint(multiple.checks.count)
            for check in multiple.checks {
                writer.writeString(check.stream.text)
                check.expected.encode(into: &writer)
            }
        case .softDelete(let stream, let expected), .hardDelete(let stream, let expected):
            if case .softDelete = operation { writer.write(Tag.softDelete.rawValue) } else { writer.write(Tag.hardDelete.rawValue) }
            writer.writeString(stream.text)
            expected.encode(into: &writer)
        case .setMetadata(let stream, let metadata):
            writer.write(Tag.setMetadata.rawValue)
            writer.writeString(stream.text)
            metadata.encode(into: &writer)
        case .recordKeyValueChanges(let changes):
            writer.write(Tag.recordKeyValueChanges.rawValue)
            writer.writeVarint(changes.count)
            for change in changes { change.encode(into: &writer) }
        case .createGroup(let key, let filter, let settings, let start):
            writer.write(Tag.createGroup.rawValue)
            key.encode(into: &writer)
            writer.write(filter != nil)
            filter?.encode(into: &writer)
            settings.encode(into: &writer)
            start.encode(into: &writer)
        case .deleteGroup(let key):
            writer.write(Tag.deleteGroup.rawValue)
            key.encode(into: &writer)
        case .advanceCheckpoint(let key, let checkpoint):
            writer.write(Tag.advanceCheckpoint.rawValue)
            key.encode(into: &writer)
            checkpoint.encode(into: &writer)
        case .parkEvent(let key, let position, let reason):
            writer.write(Tag.parkEvent.rawValue)
            key.encode(into: &writer)
            writer.writeVarint(position.rawValue)
            writer.writeString(reason)
        case .replayParked(let key):
            writer.write(Tag.replayParked.rawValue)
            key.encode(into: &writer)
        case .advanceReplay(let key, let through):
            writer.write(Tag.advanceReplay.rawValue)
            key.encode(into: &writer)
            writer.writeVarint(through.rawValue)
        case .scavenge:
            writer.write(Tag.scavenge.rawValue)
        case .advanceClock:
            writer.write(Tag.advanceClock.rawValue)
        }
        return writer.bytes
    }

    /// Decodes `encoded()`'s output. Throws on anything else.
    public init(decoding bytes: ArraySlice<UInt8>, limits: EventStoreLimits = .default) throws(BinaryDecodingError) {
        guard bytes.count <= limits.maximumCommandBytes else {
            throw BinaryDecodingError(.lengthOutOfBounds(length: UInt64(bytes.count), limit: limits.maximumCommandBytes), at: 0)
        }
        var reader = ByteReader(bytes)
        let format = try reader.readByte()
        guard format == Self.format else {
            throw BinaryDecodingError(.invalidValue("event-store command format \(format)"), at: 0)
        }
        recordedTime = RecordedTime(rawValue: try reader.readSignedVarint())
        let tagOffset = reader.offset
        let rawTag = try reader.readByte()
        guard let tag = Tag(rawValue: rawTag) else {
            throw BinaryDecodingError(.invalidValue("event-store operation tag \(rawTag)"), at: tagOffset)
        }
        let bound = limits.maximumCommandBytes
        switch tag {
        case .append:
            operation = .append(try StreamAppend(decoding: &reader, bound: bound))
        case .appendMultiple:
            let writeCount = try reader.readCount(limit: bound, minimumElementBytes: 3)
            var writes: [StreamAppend] = []
            writes.reserveCapacity(writeCount)
            for _ in 0..<writeCount { writes.append(try StreamAppend(decoding: &reader, bound: bound)) }
            let checkCount = try reader.readCount(limit: bound, minimumElementBytes: 2)
            var checks: [StreamCondition] = []
            checks.reserveCapacity(checkCount)
            for _ in 0..<checkCount {
                let stream = StreamName(try reader.readString(limit: bound))
                checks.append(StreamCondition(stream: stream, expected: try ExpectedState(decoding: &reader)))
            }
            operation = .appendMultiple(MultiStreamAppend(writes: writes, checks: checks))
        case .softDelete, .hardDelete:
            let stream = StreamName(try reader.readString(limit: bound))
            let expected = try ExpectedState(decoding: &reader)
            operation = tag == .softDelete ? .softDelete(stream: stream, expected: expected) : .hardDelete(stream: stream, expected: expected)
        case .setMetadata:
            let stream = StreamName(try reader.readString(limit: bound))
            operation = .setMetadata(stream: stream, metadata: try StreamMetadata(decoding: &reader))
        case .recordKeyValueChanges:
            let count = try reader.readCount(limit: bound, minimumElementBytes: 4)
            var changes: [KeyValueChange] = []
            changes.reserveCapacity(count)
            for _ in 0..<count { changes.append(try KeyValueChange(decoding: &reader, bound: bound)) }
            operation = .recordKeyValueChanges(changes)
        case .createGroup:
            let key = try PersistentGroupKey(decoding: &reader, bound: bound)
            let filter = try reader.readBool() ? try EventFilter(decoding: &reader, bound: bound) : nil
            let settings = try PersistentGroupSettings(decoding: &reader)
            operation = .createGroup(key: key, filter: filter, settings: settings, start: try PersistentGroupStart(decoding: &reader))
        case .deleteGroup:
            operation = .deleteGroup(key: try PersistentGroupKey(decoding: &reader, bound: bound))
        case .advanceCheckpoint:
            let key = try PersistentGroupKey(decoding: &reader, bound: bound)
            operation = .advanceCheckpoint(key: key, checkpoint: try SubscriptionCursor(decoding: &reader))
        case .parkEvent:
            let key = try PersistentGroupKey(decoding: &reader, bound: bound)
            let position = GlobalPosition(try reader.readVarint())
            operation = .parkEvent(key: key, position: position, reason: try reader.readString(limit: bound))
        case .replayParked:
            operation = .replayParked(key: try PersistentGroupKey(decoding: &reader, bound: bound))
        case .advanceReplay:
            let key = try PersistentGroupKey(decoding: &reader, bound: bound)
            operation = .advanceReplay(key: key, through: StreamRevision(try reader.readVarint()))
        case .scavenge:
            operation = .scavenge
        case .advanceClock:
            operation = .advanceClock
        }
        try reader.expectEnd()
    }
}

extension EventStoreOperation {
    var estimatedPayloadBytes: Int {
        switch self {
        case .append(let append): append.events.reduce(64) { $0 + $1.payloadByteCount + 40 }
        case .appendMultiple(let multiple):
            multiple.writes.reduce(64) { total, write in write.events.reduce(total + 64) { $0 + $1.payloadByteCount + 40 } }
        case .recordKeyValueChanges(let changes): changes.reduce(16) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 32 }
        default: 64
        }
    }
}

// MARK: - Shared encodings (commands and snapshots)

extension ExpectedState {
    func encode(into writer: inout ByteWriter) {
        switch self {
        case .any: writer.write(UInt8(0))
        case .noStream: writer.write(UInt8(1))
        case .streamExists: writer.write(UInt8(2))
        case .revision(let revision):
            writer.write(UInt8(3))
            writer.writeVarint(revision.rawValue)
        }
    }

    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let tag = try reader.readByte()
        switch tag {
        case 0: self = .any
        case 1: self = .noStream
        case 2: self = .streamExists
        case 3: self = .revision(StreamRevision(try reader.readVarint()))
        default: throw reader.error(.invalidValue("expected-state tag \(tag)"))
        }
    }
}

extension ProposedEvent {
    func encode(into writer: inout ByteWriter) {
        id.encode(into: &writer)
        writer.write(contentType.rawValue)
        writer.writeVarint(UInt64(schemaVersion))
        writer.writeString(type)
        writer.writeLengthPrefixed(data)
        writer.writeLengthPrefixed(metadata)
    }

    init(decoding reader: inout ByteReader, bound: Int) throws(BinaryDecodingError) {
        let id = try EventID(decoding: &reader)
        let contentType = try ContentType(decoding: &reader)
        let schemaVersion = UInt32(try reader.readVarint(limit: Int(UInt32.max)))
        let type = try reader.readString(limit: bound)
        let data = Array(try reader.readLengthPrefixed(limit: bound))
        let metadata = Array(try reader.readLengthPrefixed(limit: bound))
        self.init(id: id, type: type, data: data, metadata: metadata, contentType: contentType, schemaVersion: schemaVersion)
    }
}

extension ContentType {
    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let raw = try reader.readByte()
        guard let value = ContentType(rawValue: raw) else { throw reader.error(.invalidValue("content type \(raw)")) }
        self = value
    }
}

extension StreamAppend {
    func encode(into writer: inout ByteWriter) {
        writer.writeString(stream.text)
        expected.encode(into: &writer)
        writer.writeVarint(events.count)
        for event in events { event.encode(into: &writer) }
    }

    init(decoding reader: inout ByteReader, bound: Int) throws(BinaryDecodingError) {
        let stream = StreamName(try reader.readString(limit: bound))
        let expected = try ExpectedState(decoding: &reader)
        // An event takes at least 16 (id) + 1 + 1 + 3 bytes.
        let count = try reader.readCount(limit: bound, minimumElementBytes: 21)
        var events: [ProposedEvent] = []
        events.reserveCapacity(count)
        for _ in 0..<count { events.append(try ProposedEvent(decoding: &reader, bound: bound)) }
        self.init(stream: stream, expected: expected, events: events)
    }
}

extension StreamMetadata {
    func encode(into writer: inout ByteWriter) {
        var flags: UInt8 = 0
        if maximumCount != nil { flags |= 1 }
        if maximumAge != nil { flags |= 2 }
        if truncateBefore != nil { flags |= 4 }
        writer.write(flags)
        if let maximumCount { writer.writeVarint(maximumCount) }
        if let maximumAge { writer.writeVarint(maximumAge.rawValue) }
        if let truncateBefore { writer.writeVarint(truncateBefore.rawValue) }
    }

    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let flags = try reader.readByte()
        guard flags & ~7 == 0 else { throw reader.error(.invalidValue("metadata flags \(flags)")) }
        self.init(
            maximumCount: flags & 1 != 0 ? try reader.readVarint() : nil,
            maximumAge: flags & 2 != 0 ? Microseconds(try reader.readVarint()) : nil,
            truncateBefore: flags & 4 != 0 ? StreamRevision(try reader.readVarint()) : nil)
    }
}

extension KeyValueChange {
    func encode(into writer: inout ByteWriter) {
        writer.writeString(keyspace)
        writer.writeString(key)
        writer.writeVarint(version.rawValue)
        writer.write(value != nil)
        if let value { writer.writeLengthPrefixed(value) }
    }

    init(decoding reader: inout ByteReader, bound: Int) throws(BinaryDecodingError) {
        let keyspace = try reader.readString(limit: bound)
        let key = try reader.readString(limit: bound)
        let version = LogIndex(try reader.readVarint())
        let value = try reader.readBool() ? Array(try reader.readLengthPrefixed(limit: bound)) : nil
        self.init(keyspace: keyspace, key: key, version: version, value: value)
    }
}

extension PersistentGroupKey {
    func encode(into writer: inout ByteWriter) {
        writer.writeString(stream.text)
        writer.writeString(group)
    }

    init(decoding reader: inout ByteReader, bound: Int) throws(BinaryDecodingError) {
        let stream = StreamName(try reader.readString(limit: bound))
        self.init(stream: stream, group: try reader.readString(limit: bound))
    }
}

extension EventFilter {
    func encode(into writer: inout ByteWriter) {
        writer.writeVarint(streamNamePrefixes.count)
        for prefix in streamNamePrefixes { writer.writeString(prefix) }
        writer.writeVarint(eventTypePrefixes.count)
        for prefix in eventTypePrefixes { writer.writeString(prefix) }
        writer.write(includeSystemStreams)
    }

    init(decoding reader: inout ByteReader, bound: Int) throws(BinaryDecodingError) {
        func readPrefixes(_ reader: inout ByteReader) throws(BinaryDecodingError) -> [String] {
            let count = try reader.readCount(limit: bound, minimumElementBytes: 1)
            var prefixes: [String] = []
            prefixes.reserveCapacity(count)
            for _ in 0..<count { prefixes.append(try reader.readString(limit: bound)) }
            return prefixes
        }
        let streams = try readPrefixes(&reader)
        let types = try readPrefixes(&reader)
        self.init(streamNamePrefixes: streams, eventTypePrefixes: types, includeSystemStreams: try reader.readBool())
    }
}

extension PersistentGroupSettings {
    func encode(into writer: inout ByteWriter) {
        for value in [
            maximumRetryCount, maximumConsumerCount, messageTimeoutTicks, maximumInFlightPerConsumer, bufferSize, checkpointAfterEvents,
            checkpointIntervalTicks,
        ] {
            writer.writeVarint(value)
        }
    }

    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        // Bounded so that no later arithmetic on a setting can overflow; the
        // store's limits refine them when the command is applied.
        let bound = Int(Int32.max)
        self.init(
            maximumRetryCount: try reader.readVarint(limit: bound), maximumConsumerCount: try reader.readVarint(limit: bound),
            messageTimeoutTicks: try reader.readVarint(limit: bound),
            maximumInFlightPerConsumer: try reader.readVarint(limit: bound), bufferSize: try reader.readVarint(limit: bound),
            checkpointAfterEvents: try reader.readVarint(limit: bound),
            checkpointIntervalTicks: try reader.readVarint(limit: bound))
    }
}

extension PersistentGroupStart {
    func encode(into writer: inout ByteWriter) {
        switch self {
        case .start: writer.write(UInt8(0))
        case .end: writer.write(UInt8(1))
        case .after(let position):
            writer.write(UInt8(2))
            writer.writeVarint(position.rawValue)
        }
    }

    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let tag = try reader.readByte()
        switch tag {
        case 0: self = .start
        case 1: self = .end
        case 2: self = .after(GlobalPosition(try reader.readVarint()))
        default: throw reader.error(.invalidValue("group start tag \(tag)"))
        }
    }
}

extension SubscriptionCursor {
    func encode(into writer: inout ByteWriter) {
        switch self {
        case .start: writer.write(UInt8(0))
        case .after(let position):
            writer.write(UInt8(1))
            writer.writeVarint(position.rawValue)
        }
    }

    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let tag = try reader.readByte()
        switch tag {
        case 0: self = .start
        case 1: self = .after(GlobalPosition(try reader.readVarint()))
        default: throw reader.error(.invalidValue("cursor tag \(tag)"))
        }
    }
}
