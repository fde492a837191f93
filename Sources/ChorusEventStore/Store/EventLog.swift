/// One retained event, as the store holds it: fixed-size fields only, so a
/// million events are one contiguous array of plain values (about 72 bytes
/// each) with their payloads in the `PayloadArena`, and no per-event object.
struct EventRecord: Sendable, Hashable {
    var position: UInt64
    var revision: UInt64
    var recordedTime: Int64
    var id: EventID
    var stream: UInt32
    var schemaVersion: UInt32
    var payloadChunk: UInt32
    var payloadOffset: UInt32
    var dataLength: UInt32
    var metadataLength: UInt32
    var typeLength: UInt16
    var contentType: ContentType
    var flags: EventFlags

    var payloadLength: Int { Int(typeLength) + Int(dataLength) + Int(metadataLength) }
}

/// What the store remembers about an event's batch, for exact idempotency.
struct EventFlags: OptionSet, Sendable, Hashable {
    var rawValue: UInt8

    /// The first event of its append's batch for its stream.
    static let batchStart = EventFlags(rawValue: 1)
    /// The last event of its append's batch for its stream.
    static let batchEnd = EventFlags(rawValue: 2)
    /// Appended to a stream that was absent or soft-deleted (so `no_stream`
    /// held, and `stream_exists` did not, when it was written).
    static let incarnationStart = EventFlags(rawValue: 4)

    static let all: EventFlags = [.batchStart, .batchEnd, .incarnationStart]
}

/// The retained events in `$all` order, with their payloads. Slots (indices
/// into `records`) are what the stream index holds; positions ascend with
/// slots, so `$all` by position is a binary search, and before any scavenge
/// the slot of position p is simply p.
struct EventLog: Sendable {
    private(set) var records: [EventRecord] = []
    private(set) var arena: PayloadArena

    init(chunkBytes: Int) {
        arena = PayloadArena(chunkBytes: chunkBytes)
    }

    var count: Int { records.count }
    var payloadByteCount: Int { arena.byteCount }

    mutating func reserveCapacity(_ count: Int) { records.reserveCapacity(count) }

    /// Appends an event whose record has every field but the payload's place.
    mutating func append(_ record: EventRecord, type: String.UTF8View, data: [UInt8], metadata: [UInt8]) -> Int {
        precondition(records.last.map { $0.position < record.position } ?? true, "$all positions must ascend")
        var record = record
        (record.payloadChunk, record.payloadOffset) = arena.append(type, data, metadata)
        records.append(record)
        return records.count - 1
    }

    /// Appends a record whose payload is copied from `source` (a scavenge).
    mutating func append(copying record: EventRecord, from source: PayloadArena) -> Int {
        var copy = record
        (copy.payloadChunk, copy.payloadOffset) = arena.append(
            source.bytes(chunk: record.payloadChunk, offset: record.payloadOffset, count: record.payloadLength))
        records.append(copy)
        return records.count - 1
    }

    subscript(slot: Int) -> EventRecord { records[slot] }

    /// The first slot whose position is at least `position` (`count` if none).
    func firstSlot(atOrAfter position: UInt64) -> Int {
        // Fast path: nothing before `position` was scavenged.
        if let first = records.first, position >= first.position {
            let guess = position - first.position
            if guess < UInt64(records.count), records[Int(guess)].position == position { return Int(guess) }
        }
        var low = 0
        var high = records.count
        while low < high {
            let middle = (low + high) / 2
            if records[middle].position < position { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The slot of the event at exactly `position`, if retained.
    func slot(ofPosition position: UInt64) -> Int? {
        let slot = firstSlot(atOrAfter: position)
        return slot < records.count && records[slot].position == position ? slot : nil
    }

    func typeBytes(of record: EventRecord) -> ArraySlice<UInt8> {
        arena.bytes(chunk: record.payloadChunk, offset: record.payloadOffset, count: Int(record.typeLength))
    }

    func type(of record: EventRecord) -> String { String(decoding: typeBytes(of: record), as: UTF8.self) }

    func data(of record: EventRecord) -> [UInt8] {
        Array(
            arena.bytes(
                chunk: record.payloadChunk, offset: record.payloadOffset + UInt32(record.typeLength),
                count: Int(record.dataLength)))
    }

    func metadata(of record: EventRecord) -> [UInt8] {
        Array(
            arena.bytes(
                chunk: record.payloadChunk, offset: record.payloadOffset + UInt32(record.typeLength) + record.dataLength,
                count: Int(record.metadataLength)))
    }
}
