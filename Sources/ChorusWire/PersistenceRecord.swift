import ChorusCore
import ChorusRaft

/// How a node's Raft state maps onto the write-ahead log's opaque records and
/// onto its snapshot files (`ChorusStorage`).
///
///     record     = tag (u8) · body
///       1 hard state   term, vote, commit (`RaftCoding`)
///       4 hard state   term, vote, commit, votes suspended through (a term, non-zero):
///                      written only while votes are suspended, so a log without
///                      a suspension reads the same as before it existed
///       2 entries      count · entry*      the log from entries[0].index on:
///                                          every stored entry at or above it is superseded
///       3 snapshot     a snapshot received from the leader (`RaftCoding`):
///                                          it replaces the whole log before it
///
///     checkpoint = format (u8) · hard state · snapshot · count · entry*
///       format 1: hard state = term, vote, commit; format 2 adds votes suspended
///       through (written only while non-zero)
///
/// The log never rewrites a record, so a follower truncating a conflicting
/// suffix writes a new `entries` record starting at the conflict, and replay
/// (`RecoveredRaftState.apply`) applies records in order: later records
/// supersede earlier ones, exactly the `Ready` contract's "writing an entry at
/// index i discards every stored entry at i or above".
///
/// A checkpoint is what a node saves as a storage snapshot when it compacts:
/// the application snapshot (inside the Raft snapshot), the hard state, and
/// the durable entries after the snapshot index. It covers every log record
/// written before it, so everything replay would have needed from those
/// records is inside it (the storage README's rule for building on the log).
public enum PersistenceRecord: Sendable, Hashable {
    case hardState(HardState)
    case entries([LogEntry])
    case snapshot(Snapshot)

    static let tagHardState: UInt8 = 1
    static let tagEntries: UInt8 = 2
    static let tagSnapshot: UInt8 = 3
    static let tagSuspendedHardState: UInt8 = 4

    /// Appends the record's bytes to `writer`.
    public func encode(into writer: inout ByteWriter) {
        switch self {
        case .hardState(let hardState):
            let suspended = hardState.votingSuspendedThrough != .zero
            writer.write(suspended ? Self.tagSuspendedHardState : Self.tagHardState)
            RaftCoding.write(hardState, to: &writer)
            if suspended { writer.writeVarint(hardState.votingSuspendedThrough.rawValue) }
        case .entries(let entries):
            writer.write(Self.tagEntries)
            writer.writeVarint(entries.count)
            for entry in entries { RaftCoding.write(entry, to: &writer) }
        case .snapshot(let snapshot):
            writer.write(Self.tagSnapshot)
            RaftCoding.write(snapshot, to: &writer)
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        encode(into: &writer)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8], limits: RaftCoding.Limits = .default) throws(WireError) {
        var reader = ByteReader(bytes)
        do throws(BinaryDecodingError) {
            let tag = try reader.readByte()
            switch tag {
            case Self.tagHardState:
                self = .hardState(try RaftCoding.readHardState(&reader))
            case Self.tagSuspendedHardState:
                var hardState = try RaftCoding.readHardState(&reader)
                hardState.votingSuspendedThrough = Term(try reader.readVarint())
                guard hardState.votingSuspendedThrough != .zero else {
                    throw reader.error(.invalidValue("a suspended hard state suspended through term 0"))
                }
                self = .hardState(hardState)
            case Self.tagEntries:
                self = .entries(try Self.readEntries(&reader, limits: limits))
            case Self.tagSnapshot:
                self = .snapshot(try RaftCoding.readSnapshot(&reader, limits: limits))
            default:
                throw reader.error(.invalidValue("persistence record tag \(tag)"))
            }
            try reader.expectEnd()
        } catch {
            throw .malformed(error)
        }
        switch self {
        case .hardState(let hardState): try MessageCodec.checkHardState(hardState)
        case .entries(let entries): try Self.checkConsecutive(entries)
        case .snapshot(let snapshot): try MessageCodec.checkSnapshot(snapshot)
        }
    }

    static func readEntries(_ reader: inout ByteReader, limits: RaftCoding.Limits) throws(BinaryDecodingError)
        -> [LogEntry]
    {
        let count = try reader.readCount(limit: limits.maximumEntriesPerRecord, minimumElementBytes: 3)
        var entries: [LogEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count { entries.append(try RaftCoding.readEntry(&reader, limits: limits)) }
        return entries
    }

    static func checkConsecutive(_ entries: [LogEntry]) throws(WireError) {
        guard let first = entries.first else { return }
        try MessageCodec.checkBound(first.index.rawValue, "entry index")
        guard first.index != .zero else { throw .invalid("an entry at index 0") }
        try MessageCodec.checkEntries(entries, after: first.index.previous, previousTerm: first.term)
    }
}

/// The payload of a storage snapshot: everything a node needs from the log
/// records the snapshot covers.
public struct Checkpoint: Sendable, Hashable {
    public var hardState: HardState
    public var snapshot: Snapshot
    /// The durable entries after `snapshot.metadata.index`, consecutive.
    public var entries: [LogEntry]

    static let format: UInt8 = 1
    static let formatWithSuspension: UInt8 = 2

    public init(hardState: HardState, snapshot: Snapshot, entries: [LogEntry]) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64 + snapshot.data.count + entries.count * 32)
        let suspended = hardState.votingSuspendedThrough != .zero
        writer.write(suspended ? Self.formatWithSuspension : Self.format)
        RaftCoding.write(hardState, to: &writer)
        if suspended { writer.writeVarint(hardState.votingSuspendedThrough.rawValue) }
        RaftCoding.write(snapshot, to: &writer)
        writer.writeVarint(entries.count)
        for entry in entries { RaftCoding.write(entry, to: &writer) }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8], limits: RaftCoding.Limits = .default) throws(WireError) {
        var reader = ByteReader(bytes)
        do throws(BinaryDecodingError) {
            let format = try reader.readByte()
            guard format == Self.format || format == Self.formatWithSuspension else {
                throw reader.error(.invalidValue("checkpoint format \(format)"))
            }
            hardState = try RaftCoding.readHardState(&reader)
            if format == Self.formatWithSuspension {
                hardState.votingSuspendedThrough = Term(try reader.readVarint())
                guard hardState.votingSuspendedThrough != .zero else {
                    throw reader.error(.invalidValue("a suspended hard state suspended through term 0"))
                }
            }
            snapshot = try RaftCoding.readSnapshot(&reader, limits: limits)
            entries = try PersistenceRecord.readEntries(&reader, limits: limits)
            try reader.expectEnd()
        } catch {
            throw .malformed(error)
        }
        try MessageCodec.checkHardState(hardState)
        try MessageCodec.checkSnapshot(snapshot)
        try MessageCodec.checkEntries(entries, after: snapshot.metadata.index, previousTerm: snapshot.metadata.term)
        if let first = entries.first, first.index != snapshot.metadata.index.next {
            throw .invalid("checkpoint entries start at \(first.index), not after the snapshot at \(snapshot.metadata.index)")
        }
    }
}

/// Replays a checkpoint and log records into the state a `RaftNode` resumes from.
public struct RecoveredRaftState: Sendable, Hashable {
    public private(set) var hardState: HardState
    public private(set) var snapshot: Snapshot
    public private(set) var entries: [LogEntry]

    /// Starts from a checkpoint, or from `initial` (a bootstrap or joining state) when there is none.
    public init(checkpoint: Checkpoint?, initial: RaftPersistentState) {
        if let checkpoint {
            hardState = checkpoint.hardState
            snapshot = checkpoint.snapshot
            entries = checkpoint.entries
        } else {
            hardState = initial.hardState
            snapshot = initial.snapshot
            entries = initial.entries
        }
    }

    /// Applies one record, later records superseding earlier ones. Throws if
    /// the record cannot follow the state so far (an entries record that
    /// would leave a gap), which only damage can produce.
    public mutating func apply(_ record: PersistenceRecord) throws(WireError) {
        switch record {
        case .hardState(let state):
            hardState = state
        case .entries(let newEntries):
            guard let first = newEntries.first else { return }
            let lastIndex = entries.last?.index ?? snapshot.metadata.index
            if first.index <= snapshot.metadata.index {
                // Entries the snapshot already covers: keep only what lies beyond it.
                let kept = newEntries.filter { $0.index > snapshot.metadata.index }
                if !kept.isEmpty { try apply(.entries(kept)) }
                return
            }
            guard first.index <= lastIndex.next else {
                throw .invalid("stored entries start at \(first.index), after a gap following \(lastIndex)")
            }
            let keep = Int(first.index.rawValue - snapshot.metadata.index.rawValue - 1)
            entries.removeSubrange(keep...)
            entries.append(contentsOf: newEntries)
        case .snapshot(let newSnapshot):
            snapshot = newSnapshot
            entries = []
        }
    }

    public var persistentState: RaftPersistentState {
        RaftPersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
    }

    /// The last durable entry index.
    public var lastIndex: LogIndex { entries.last?.index ?? snapshot.metadata.index }
}
