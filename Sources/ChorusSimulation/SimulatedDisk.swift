import ChorusCore
import ChorusRaft

/// One Raft server's disk: a `FramedLog` of hard states, entries and
/// snapshots.
///
///     payload = tag (1: hard state, 2: entries, 3: snapshot) · body
///
/// A crash keeps the durable records and maybe a torn part of the unsynced
/// tail (`FramedLog`); recovery replays the records up to the first bad one.
struct SimulatedDisk {
    private var log = FramedLog()
    /// Statistics for the campaign summary.
    var tornRecoveries: Int { log.tornRecoveries }
    /// The node's `TERM` file: the highest term entered, written atomically
    /// (so durable at once) before a `Ready` with a new term is persisted.
    private(set) var recordedTerm: Term = .zero
    /// Whether the last recovery cut a complete record that failed its check.
    var lastRecoveryCutCompleteRecord: Bool { log.lastRecoveryCutCompleteRecord }

    mutating func raiseRecordedTerm(to term: Term) { recordedTerm = max(recordedTerm, term) }

    init(initial state: RaftPersistentState) {
        append(snapshot: state.snapshot)
        append(hardState: state.hardState)
        if !state.entries.isEmpty { append(entries: state.entries) }
        sync()
    }

    var isDirty: Bool { log.isDirty }
    var byteCount: Int { log.byteCount }

    mutating func append(hardState: HardState) { log.append(Self.payload(hardState: hardState)) }

    mutating func append(entries: [LogEntry]) { log.append(Self.payload(entries: entries)) }

    mutating func append(snapshot: Snapshot) { log.append(Self.payload(snapshot: snapshot)) }

    private static func payload(hardState: HardState) -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        writer.write(UInt8(1))
        RaftCoding.write(hardState, to: &writer)
        writer.writeVarint(hardState.votingSuspendedThrough.rawValue)
        return writer.bytes
    }

    private static func payload(entries: [LogEntry]) -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + entries.count * 32)
        writer.write(UInt8(2))
        writer.writeVarint(entries.count)
        for entry in entries { RaftCoding.write(entry, to: &writer) }
        return writer.bytes
    }

    private static func payload(snapshot: Snapshot) -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + snapshot.data.count)
        writer.write(UInt8(3))
        RaftCoding.write(snapshot, to: &writer)
        return writer.bytes
    }

    mutating func sync() { log.sync() }

    /// Loses power: the unsynced tail vanishes, or part of it survives (possibly torn).
    mutating func crash(random: inout SeededGenerator, tornWriteProbability: Double) {
        log.crash(random: &random, tornWriteProbability: tornWriteProbability)
    }

    /// Whether a restart from what is synced now would suspend votes: a
    /// suspension recorded, or a final record that fails its check.
    var wouldRestartSuspended: Bool {
        var copy = self
        copy.log.discardUnsynced()
        let state = copy.recover()
        return state.hardState.votingSuspendedThrough != .zero || copy.lastRecoveryCutCompleteRecord
    }

    /// Loses power, and one byte of the final synced record rots.
    mutating func crashDamagingFinalRecord(random: inout SeededGenerator) {
        log.crashDamagingFinalRecord(random: &random)
    }

    /// Reads the disk back after a restart, truncating a torn tail.
    mutating func recover() -> RaftPersistentState {
        var hardState = HardState()
        var snapshot = Snapshot(metadata: SnapshotMetadata(index: .zero, term: .zero, configuration: .empty), data: [])
        var entries: [LogEntry] = []
        for record in log.recover(Self.decode) {
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
        return RaftPersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
    }

    /// Rewrites the disk as a checkpoint: snapshot + hard state + the durable
    /// entries after the snapshot (the write-ahead log deleting segments a
    /// snapshot covers). Done atomically, as a real store does with
    /// write-temp, fsync, rename. It is taken between `Ready`s, when the only
    /// unsynced records are lazily written hard states, which the
    /// checkpoint's hard state supersedes.
    mutating func checkpoint(snapshot: Snapshot, hardState: HardState, entries: [LogEntry]) {
        var payloads = [Self.payload(snapshot: snapshot), Self.payload(hardState: hardState)]
        if !entries.isEmpty && entries.first!.index == snapshot.metadata.index.next { payloads.append(Self.payload(entries: entries)) }
        log.replace(with: payloads)
    }

    private enum Record {
        case hardState(HardState)
        case entries([LogEntry])
        case snapshot(Snapshot)
    }

    private static func decode(_ payload: [UInt8]) -> Record? {
        var reader = ByteReader(payload)
        do {
            let tag = try reader.readByte()
            let record: Record
            switch tag {
            case 1:
                var hardState = try RaftCoding.readHardState(&reader)
                hardState.votingSuspendedThrough = Term(try reader.readVarint())
                record = .hardState(hardState)
            case 2:
                let count = try reader.readCount(limit: RaftCoding.Limits.default.maximumEntriesPerRecord, minimumElementBytes: 3)
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
