import ChorusCore

/// Reads the frames of one segment file held in memory and decides where its
/// valid records end. Pure: no I/O, so every damage case is testable byte by byte.
///
/// ## The torn-tail rule
///
/// Only the **last** segment of a log may end in damage that recovery repairs,
/// and only at its **end**. Scanning stops at the first frame that is not
/// valid. That frame starts the *torn tail*, which recovery truncates, when all
/// of the following hold:
///
/// 1. the segment is the last one (an earlier segment was fsynced in full before
///    the next was created, so damage there is never a torn write);
/// 2. the frame is partial (its header or payload runs past the end of the
///    file), or its length field is out of bounds, or its checksum fails; and
/// 3. **nothing valid follows it**: no byte offset after the frame's start holds
///    a frame whose length fits, whose checksum matches, and whose sequence
///    number could follow the last good record.
///
/// Bytes that are all zero from a frame boundary to the end of the file are a
/// *zero-filled tail* (preallocated or zeroed blocks) and are truncated too.
///
/// ## Torn or uncertain
///
/// A final frame that runs past the end of the file was never written in full,
/// so it was never synced, never acknowledged: a **torn** record; so is one
/// made complete only by zeroed sectors from a sector boundary inside it to the
/// end of the file (sectors never written, `endsInUnwrittenSectors`). A final frame
/// that is all there but fails its checksum (or declares an impossible length)
/// is **uncertain**: a write torn inside the file's length leaves it, and so
/// does damage to a record that was synced and acknowledged, and no byte of
/// this format tells the two apart. Both are truncated; an uncertain one is
/// reported as such, and the caller must recover as if acknowledged data were
/// lost (a Raft node suspends its votes: `RaftPersistentState.suspendingVotes`).
///
/// Anything else stops recovery with `StorageCorruption`, naming the file and
/// the offset: damage in a sealed segment, damage followed by a valid frame
/// (a checksum failure inside the committed prefix), or a valid frame carrying
/// the wrong sequence number.
///
/// Why condition 3: an acknowledged batch is fsynced before anything after it
/// is written, so damage that a valid record follows cannot be a torn final
/// write; it is damage to data that may have been acknowledged. One
/// consequence, stated plainly: if power fails while a multi-page batch is
/// being written back and the disk persists a later page of that batch but not
/// an earlier one, recovery reports corruption instead of truncating. That
/// batch was never acknowledged, so reporting is conservative: it may cost a
/// repair from peers, never an acknowledged record.
public enum SegmentScanner {
    public struct Record: Equatable, Sendable {
        public var sequence: SequenceNumber
        /// Where the payload lies in the scanned bytes.
        public var payloadRange: Range<Int>
    }

    public enum Tail: Equatable, Sendable {
        /// The file ends exactly after the last valid frame.
        case clean
        /// All bytes after the last valid frame are zero.
        case zeroFilled(offset: Int, count: Int)
        /// A torn final record starts at `offset`; `reason` says what is wrong with it.
        case tornRecord(offset: Int, count: Int, reason: StorageCorruption.Reason)
        /// A complete final record that fails its checks starts at `offset`: it
        /// may have been synced and acknowledged before it was damaged.
        case uncertainRecord(offset: Int, count: Int, reason: StorageCorruption.Reason)

        /// Whether acknowledged data may be among what the tail's repair cuts.
        public var mayHoldAcknowledgedData: Bool {
            if case .uncertainRecord = self { return true }
            return false
        }
    }

    public struct Result: Equatable, Sendable {
        public var firstSequence: SequenceNumber
        public var records: [Record]
        /// The offset just after the last valid frame: the size the file should have.
        public var validEndOffset: Int
        public var tail: Tail
        /// The sequence number the next record appended after this segment takes.
        public var nextSequence: SequenceNumber { firstSequence.advanced(by: records.count) }
    }

    /// Scans `bytes`, the whole content of the segment file named `file`.
    ///
    /// - Parameter isLastSegment: whether this is the log's final segment, the
    ///   only one whose tail may be torn.
    public static func scan(
        _ bytes: [UInt8], file: String, isLastSegment: Bool
    ) throws(StorageCorruption) -> Result {
        let firstSequence: SequenceNumber
        switch SegmentFormat.decodeHeader(bytes[...]) {
        case .success(let first): firstSequence = first
        case .failure(let problem):
            throw StorageCorruption(file: file, offset: 0, reason: .invalidHeader(problem.description))
        }

        var records: [Record] = []
        var offset = SegmentFormat.headerBytes
        var expected = firstSequence
        var tail = Tail.clean
        while offset < bytes.count {
            switch frame(in: bytes, at: offset) {
            case .valid(let record, let end):
                guard record.sequence == expected else {
                    throw StorageCorruption(
                        file: file, offset: offset,
                        reason: .unexpectedSequence(expected: expected, found: record.sequence))
                }
                records.append(record)
                expected = expected.next
                offset = end
                continue
            case .damaged(let reason):
                tail = try classifyDamage(
                    bytes, at: offset, reason: reason, expected: expected, file: file,
                    isLastSegment: isLastSegment)
            }
            break
        }
        return Result(firstSequence: firstSequence, records: records, validEndOffset: offset, tail: tail)
    }

    enum Frame {
        case valid(Record, end: Int)
        case damaged(StorageCorruption.Reason)
    }

    /// Decodes the frame at `offset`, checking its bounds and checksum but not
    /// its sequence number.
    static func frame(in bytes: [UInt8], at offset: Int) -> Frame {
        let remaining = bytes.count - offset
        guard remaining >= SegmentFormat.frameHeaderBytes else {
            return .damaged(.truncatedRecord(needed: SegmentFormat.frameHeaderBytes - remaining))
        }
        let stored = bytes.littleEndianUInt32(at: offset)
        let length = Int(bytes.littleEndianUInt32(at: offset + 4))
        guard length <= SegmentFormat.maximumRecordBytes else {
            return .damaged(.recordLengthOutOfBounds(length: UInt64(length), limit: SegmentFormat.maximumRecordBytes))
        }
        let end = offset + SegmentFormat.frameHeaderBytes + length
        guard end <= bytes.count else { return .damaged(.truncatedRecord(needed: end - bytes.count)) }
        let computed = CRC32C.checksum(bytes[(offset + 4)..<end])
        guard computed == stored else { return .damaged(.checksumMismatch(stored: stored, computed: computed)) }
        let sequence = SequenceNumber(bytes.littleEndianUInt64(at: offset + 8))
        return .valid(Record(sequence: sequence, payloadRange: (offset + SegmentFormat.frameHeaderBytes)..<end), end: end)
    }

    /// Decides whether damage at `offset` is a repairable tail or corruption.
    static func classifyDamage(
        _ bytes: [UInt8], at offset: Int, reason: StorageCorruption.Reason, expected: SequenceNumber,
        file: String, isLastSegment: Bool
    ) throws(StorageCorruption) -> Tail {
        let count = bytes.count - offset
        if bytes[offset...].allSatisfy({ $0 == 0 }) {
            guard isLastSegment else {
                throw StorageCorruption(file: file, offset: offset, reason: .unexpectedZeroBytes(count: count))
            }
            return .zeroFilled(offset: offset, count: count)
        }
        guard isLastSegment else { throw StorageCorruption(file: file, offset: offset, reason: reason) }
        if validFrameOffset(in: bytes, after: offset, expected: expected) != nil {
            throw StorageCorruption(file: file, offset: offset, reason: reason)
        }
        if case .truncatedRecord = reason { return .tornRecord(offset: offset, count: count, reason: reason) }
        if endsInUnwrittenSectors(bytes, frameAt: offset) {
            return .tornRecord(offset: offset, count: count, reason: reason)
        }
        return .uncertainRecord(offset: offset, count: count, reason: reason)
    }

    /// The sector size torn writes are assumed to respect: a disk writes a
    /// sector whole or not at all, so a write cut short leaves whole sectors
    /// unwritten, and an unwritten sector of an extended file reads as zeros.
    static let sectorBytes = 512

    /// Whether the frame at `offset` is complete only because the file was
    /// extended past sectors that were never written: every byte from a
    /// sector boundary inside the frame to the end of the file is zero. That
    /// is a torn write (power lost while the frame's later sectors were in the
    /// page cache), not damage to a synced record, which leaves no such run.
    static func endsInUnwrittenSectors(_ bytes: [UInt8], frameAt offset: Int) -> Bool {
        guard bytes.count - offset >= SegmentFormat.frameHeaderBytes else { return false }
        let frameEnd = offset + SegmentFormat.frameHeaderBytes + Int(bytes.littleEndianUInt32(at: offset + 4))
        var zeroStart = bytes.count
        while zeroStart > offset && bytes[zeroStart - 1] == 0 { zeroStart -= 1 }
        let boundary = (zeroStart + sectorBytes - 1) / sectorBytes * sectorBytes
        return boundary > offset && boundary < min(frameEnd, bytes.count)
    }

    /// The first offset after `damageOffset` holding a valid frame that could
    /// follow the last good record, or nil.
    ///
    /// A frame at offset `p` can hold sequence number `expected + k` only if the
    /// `k` records before it fit in `p - damageOffset` bytes, at least
    /// `frameHeaderBytes` each; checking that bound before the checksum keeps
    /// the search cheap on random bytes.
    static func validFrameOffset(in bytes: [UInt8], after damageOffset: Int, expected: SequenceNumber) -> Int? {
        var candidate = damageOffset + 1
        while candidate + SegmentFormat.frameHeaderBytes <= bytes.count {
            defer { candidate += 1 }
            let length = Int(bytes.littleEndianUInt32(at: candidate + 4))
            guard length <= SegmentFormat.maximumRecordBytes,
                candidate + SegmentFormat.frameHeaderBytes + length <= bytes.count
            else { continue }
            let sequence = bytes.littleEndianUInt64(at: candidate + 8)
            let skippedMaximum = UInt64((candidate - damageOffset) / SegmentFormat.frameHeaderBytes)
            guard sequence >= expected.rawValue, sequence - expected.rawValue <= skippedMaximum else { continue }
            if case .valid = frame(in: bytes, at: candidate) { return candidate }
        }
        return nil
    }
}
