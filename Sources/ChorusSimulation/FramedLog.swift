import ChorusCore

/// An append-only log of framed records on one simulated disk, split into
/// what an fsync has made durable and what is only written. Every simulated
/// store (the Raft disk, the leaderless node's log) keeps its records in one.
///
///     record = length (u32 LE) · CRC32C of payload (u32 LE) · payload
///
/// A crash keeps the durable bytes and, with some probability, a random prefix
/// of the unsynced bytes: the page cache may have written some of them back,
/// and the last one may be cut in the middle (a torn record). Recovery reads
/// records until the first one that is truncated, fails its checksum or does
/// not decode, and discards it and everything after it, exactly as a real
/// write-ahead log does with its tail.
struct FramedLog {
    private(set) var durable: [UInt8] = []
    private(set) var unsynced: [UInt8] = []
    /// Recoveries that found (and cut) a torn or corrupt tail.
    private(set) var tornRecoveries = 0
    /// Whether the last recovery cut a complete record that failed its
    /// checksum: what damage to a synced record leaves (`crashDamagingFinalRecord`),
    /// and what the real log reports as an uncertain record.
    private(set) var lastRecoveryCutCompleteRecord = false

    init() {}

    var isDirty: Bool { !unsynced.isEmpty }
    var byteCount: Int { durable.count + unsynced.count }

    mutating func append(_ payload: [UInt8]) {
        var header = ByteWriter(capacity: 8)
        header.writeFixed(UInt32(payload.count))
        header.writeFixed(CRC32C.checksum(payload))
        unsynced.append(contentsOf: header.bytes)
        unsynced.append(contentsOf: payload)
    }

    /// Forgets what is not synced (what a crash without a torn write keeps).
    mutating func discardUnsynced() { unsynced.removeAll(keepingCapacity: true) }

    mutating func sync() {
        durable.append(contentsOf: unsynced)
        unsynced.removeAll(keepingCapacity: true)
    }

    /// Loses power: the unsynced tail vanishes, or part of it survives (possibly torn).
    mutating func crash(random: inout SeededGenerator, tornWriteProbability: Double) {
        if !unsynced.isEmpty && random.chance(tornWriteProbability) {
            let surviving = Int(random.next() % UInt64(unsynced.count + 1))
            durable.append(contentsOf: unsynced[0..<surviving])
        }
        unsynced.removeAll(keepingCapacity: true)
    }

    /// Loses power and damages the final synced record (one byte of its
    /// checksum or payload): data that was durable, and may have been
    /// acknowledged, fails its check on the next read. Nothing unsynced survives.
    mutating func crashDamagingFinalRecord(random: inout SeededGenerator) {
        unsynced.removeAll(keepingCapacity: true)
        var reader = ByteReader(durable)
        var lastStart: Int?
        var lastEnd = 0
        while !reader.isAtEnd {
            let start = reader.offset
            guard Self.readFrame(&reader) != nil else { break }
            lastStart = start
            lastEnd = reader.offset
        }
        guard let start = lastStart, lastEnd == durable.count else { return }
        // Bytes 4..<8 are the checksum, then the payload; the length stays intact.
        let offset = start + 4 + Int(random.next() % UInt64(lastEnd - start - 4))
        durable[offset] ^= UInt8(1 + random.next() % 255)
    }

    /// Reads the records back after a restart, in order, truncating the tail
    /// from the first record that is torn, fails its checksum or that
    /// `decode` refuses (returns nil for).
    mutating func recover<Record>(_ decode: ([UInt8]) -> Record?) -> [Record] {
        precondition(unsynced.isEmpty, "recover after crash only")
        var reader = ByteReader(durable)
        var records: [Record] = []
        var goodPrefix = 0
        lastRecoveryCutCompleteRecord = false
        while !reader.isAtEnd {
            guard let payload = Self.readFrame(&reader), let record = decode(payload) else {
                lastRecoveryCutCompleteRecord = Self.holdsCompleteFrame(durable, at: goodPrefix)
                break
            }
            goodPrefix = reader.offset
            records.append(record)
        }
        if goodPrefix < durable.count {
            tornRecoveries += 1
            durable.removeSubrange(goodPrefix...)
        }
        return records
    }

    /// Replaces the whole log with `payloads`, durably and atomically (a real
    /// store writes a temporary file, fsyncs it and renames it over the log).
    mutating func replace(with payloads: [[UInt8]]) {
        unsynced.removeAll(keepingCapacity: true)
        durable.removeAll(keepingCapacity: true)
        for payload in payloads { append(payload) }
        sync()
    }

    /// Whether the bytes at `offset` hold a whole frame (as its length declares).
    private static func holdsCompleteFrame(_ bytes: [UInt8], at offset: Int) -> Bool {
        var reader = ByteReader(bytes[offset...])
        guard let length = try? reader.readFixedUInt32() else { return false }
        return offset + 8 + Int(length) <= bytes.count
    }

    private static func readFrame(_ reader: inout ByteReader) -> [UInt8]? {
        guard let length = try? reader.readFixedUInt32(), let checksum = try? reader.readFixedUInt32(),
            let payload = try? reader.readRaw(count: Int(length))
        else { return nil }
        guard CRC32C.checksum(payload) == checksum else { return nil }
        return Array(payload)
    }
}
