import ChorusCore

/// The binary forms of the records a Raft runtime persists (entries, hard
/// state, snapshots), written with `ByteWriter` and read back with bounds
/// checked by `ByteReader`. Framing (length + CRC32C) is the storage layer's
/// business; these are the payloads.
public enum RaftCoding {
    /// Limits applied while decoding, so corrupt input cannot force large allocations.
    public struct Limits: Sendable, Hashable {
        public var maximumCommandBytes: Int
        public var maximumMembers: Int
        public var maximumSnapshotBytes: Int
        public var maximumEntriesPerRecord: Int

        public init(maximumCommandBytes: Int, maximumMembers: Int, maximumSnapshotBytes: Int, maximumEntriesPerRecord: Int) {
            self.maximumCommandBytes = maximumCommandBytes
            self.maximumMembers = maximumMembers
            self.maximumSnapshotBytes = maximumSnapshotBytes
            self.maximumEntriesPerRecord = maximumEntriesPerRecord
        }

        public static let `default` = Limits(
            maximumCommandBytes: 16 << 20, maximumMembers: 1_024, maximumSnapshotBytes: 1 << 30, maximumEntriesPerRecord: 1 << 20)
    }

    public static func write(_ entry: LogEntry, to writer: inout ByteWriter) {
        writer.writeVarint(entry.term.rawValue)
        writer.writeVarint(entry.index.rawValue)
        switch entry.payload {
        case .empty:
            writer.write(UInt8(0))
        case .command(let bytes):
            writer.write(UInt8(1))
            writer.writeLengthPrefixed(bytes)
        case .configuration(let configuration):
            writer.write(UInt8(2))
            write(configuration, to: &writer)
        }
    }

    public static func readEntry(_ reader: inout ByteReader, limits: Limits = .default) throws(BinaryDecodingError) -> LogEntry {
        let term = Term(try reader.readVarint())
        let index = LogIndex(try reader.readVarint())
        let tag = try reader.readByte()
        switch tag {
        case 0:
            return LogEntry(term: term, index: index, payload: .empty)
        case 1:
            return LogEntry(
                term: term, index: index, payload: .command(Array(try reader.readLengthPrefixed(limit: limits.maximumCommandBytes))))
        case 2:
            return LogEntry(term: term, index: index, payload: .configuration(try readConfiguration(&reader, limits: limits)))
        default:
            throw reader.error(.invalidValue("log entry payload tag \(tag)"))
        }
    }

    public static func write(_ configuration: MembershipConfiguration, to writer: inout ByteWriter) {
        writer.writeVarint(configuration.voters.count)
        for voter in configuration.voters { writer.writeVarint(voter.rawValue) }
        writer.writeVarint(configuration.learners.count)
        for learner in configuration.learners { writer.writeVarint(learner.rawValue) }
    }

    public static func readConfiguration(_ reader: inout ByteReader, limits: Limits = .default) throws(BinaryDecodingError)
        -> MembershipConfiguration
    {
        var voters: [NodeID] = []
        for _ in 0..<(try reader.readCount(limit: limits.maximumMembers)) { voters.append(NodeID(try reader.readVarint())) }
        var learners: [NodeID] = []
        for _ in 0..<(try reader.readCount(limit: limits.maximumMembers)) { learners.append(NodeID(try reader.readVarint())) }
        // Validate here: MembershipConfiguration.init traps on bad input, decoders must not.
        let sortedVoters = voters.sorted()
        let sortedLearners = learners.sorted()
        guard sortedVoters == voters, sortedLearners == learners,
            Set(voters).count == voters.count, Set(learners).count == learners.count,
            Set(voters).isDisjoint(with: learners), !voters.contains(.none), !learners.contains(.none)
        else {
            throw reader.error(.invalidValue("membership configuration not ascending, disjoint and without n0"))
        }
        return MembershipConfiguration(voters: voters, learners: learners)
    }

    public static func write(_ hardState: HardState, to writer: inout ByteWriter) {
        writer.writeVarint(hardState.term.rawValue)
        writer.writeVarint(hardState.vote.rawValue)
        writer.writeVarint(hardState.commit.rawValue)
    }

    public static func readHardState(_ reader: inout ByteReader) throws(BinaryDecodingError) -> HardState {
        HardState(
            term: Term(try reader.readVarint()), vote: NodeID(try reader.readVarint()),
            commit: LogIndex(try reader.readVarint()))
    }

    public static func write(_ snapshot: Snapshot, to writer: inout ByteWriter) {
        writer.writeVarint(snapshot.metadata.index.rawValue)
        writer.writeVarint(snapshot.metadata.term.rawValue)
        write(snapshot.metadata.configuration, to: &writer)
        writer.writeLengthPrefixed(snapshot.data)
    }

    public static func readSnapshot(_ reader: inout ByteReader, limits: Limits = .default) throws(BinaryDecodingError)
        -> Snapshot
    {
        let index = LogIndex(try reader.readVarint())
        let term = Term(try reader.readVarint())
        let configuration = try readConfiguration(&reader, limits: limits)
        let data = Array(try reader.readLengthPrefixed(limit: limits.maximumSnapshotBytes))
        return Snapshot(metadata: SnapshotMetadata(index: index, term: term, configuration: configuration), data: data)
    }
}
