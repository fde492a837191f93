import ChorusCore
import ChorusRaft

/// One server's disk: an append-only log of framed records, split into what
/// an fsync has made durable and what is only written.
///
///     record = length (u32 LE) · CRC32C of payload (u32 LE) · payload
///     payload = tag (1: hard state, 2: entries, 3: snapshot) · body
///
/// A crash keeps the durable bytes and, with some probability, a random prefix
/// of the unsynced bytes: the page cache may have written some of them back,
/// and the last one may be cut in the middle (a torn record). Recovery reads
/// records until the first one that is truncated or fails its checksum and
/// discards it and everything after it, exactly as a real write-ahead log does
/// with its tail.
struct SimulatedDisk {
    private(set) var durable: [UInt8] = []
    private(set) var unsynced: [UInt8] = []
    /// Statistics for the campaign summary.
    private(set) var tornRecoveries = 0

    init(initial state: RaftPersistentState) {
        append(snapshot: state.snapshot)
        append(hardState: state.hardState)
        if !state.entries.isEmpty { append(entries: state.entries) }
        sync()
    }

    var isDirty: Bool { !unsynced.isEmpty }
    var byteCount: Int { durable.count + unsynced.count }

    mutating func append(hardState: HardState) {
        var writer = ByteWriter(capacity: 32)
        writer.write(UInt8(1))
        RaftCoding.write(hardState, to: &writer)
        frame(writer.bytes)
    }

    mutating func append(entries: [LogEntry]) {
        var writer = ByteWriter(capacity: 16 + entries.count * 32)
        writer.write(UInt8(2))
        writer.writeVarint(entries.count)
        for entry in entries { RaftCoding.write(entry, to: &writer) }
        frame(writer.bytes)
    }

    mutating func append(snapshot: Snapshot) {
        var writer = ByteWriter(capacity: 32 + snapshot.data.count)
        writer.write(UInt8(3))
        RaftCoding.write(snapshot, to: &writer)
        frame(writer.bytes)
    }

    private mutating func frame(_ payload: [UInt8]) {
        var header = ByteWriter(capacity: 8)
        header.writeFixed(UInt32(payload.count))
        header.writeFixed(CRC32C.checksum(payload))
        unsynced.append(contentsOf: header.bytes)
        unsynced.append(contentsOf: payload)
    }

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

    /// Reads the disk back after a restart, truncating a torn tail.
    mutating func recover() -> RaftPersistentState {
        precondition(unsynced.isEmpty, "recover after crash only")
        var reader = ByteReader(durable)
        var hardState = HardState()
        var snapshot = Snapshot(metadata: SnapshotMetadata(index: .zero, term: .zero, configuration: .empty), data: [])
        var entries: [LogEntry] = []
        var goodPrefix = 0
        while !reader.isAtEnd {
            guard let payload = Self.readFrame(&reader), let record = Self.decode(payload) else { break }
            goodPrefix = reader.offset
            switch record {
            case .hardState(let state):
                hardState = state
            case .entries(let newEntries):
                guard let first = newEntries.first else { continue }
                if let position = entries.firstIndex(where: { $0.index >= first.index }) {
                    entries.removeSubrange(position...)
                }
                entries += newEntries
            case .snapshot(let newSnapshot):
                // A snapshot replaces the whole log before it was written; a
                // checkpoint re-writes the entries it keeps after it.
                snapshot = newSnapshot
                entries.removeAll()
            }
        }
        if goodPrefix < durable.count {
            tornRecoveries += 1
            durable.removeSubrange(goodPrefix...)
        }
        return RaftPersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
    }

    /// Rewrites the disk as a checkpoint: snapshot + hard state + the durable
    /// entries after the snapshot (the write-ahead log deleting segments a
    /// snapshot covers). Done atomically, as a real store does with
    /// write-temp, fsync, rename. It is taken between `Ready`s, when the only
    /// unsynced records are lazily written hard states, which the
    /// checkpoint's hard state supersedes.
    mutating func checkpoint(snapshot: Snapshot, hardState: HardState, entries: [LogEntry]) {
        unsynced.removeAll(keepingCapacity: true)
        durable.removeAll(keepingCapacity: true)
        append(snapshot: snapshot)
        append(hardState: hardState)
        if !entries.isEmpty && entries.first!.index == snapshot.metadata.index.next { append(entries: entries) }
        sync()
    }

    private enum Record {
        case hardState(HardState)
        case entries([LogEntry])
        case snapshot(Snapshot)
    }

    private static func readFrame(_ reader: inout ByteReader) -> [UInt8]? {
        guard let length = try? reader.readFixedUInt32(), let checksum = try? reader.readFixedUInt32(),
            let payload = try? reader.readRaw(count: Int(length))
        else { return nil }
        guard CRC32C.checksum(payload) == checksum else { return nil }
        return Array(payload)
    }

    private static func decode(_ payload: [UInt8]) -> Record? {
        var reader = ByteReader(payload)
        do {
            let tag = try reader.readByte()
            let record: Record
            switch tag {
            case 1:
                record = .hardState(try RaftCoding.readHardState(&reader))
            case 2:
                let count = try reader.readCount(limit: RaftCoding.Limits.default.maxEntriesPerRecord, minimumElementBytes: 3)
                var entries: [LogEntry] = []
                entries.reserveCapacity(count)
                for _ in 0..<count { entries.append(try RaftCoding.readEntry(&reader)) }
                record = .entries(entries)
            case 3:
                record = .snapshot(try RaftCoding.readSnapshot(&reader))
            default:
                return nil
            }
            try reader.expectEnd()
            return record
        } catch {
            return nil
        }
    }
}
