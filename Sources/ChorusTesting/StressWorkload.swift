import ChorusCore
import ChorusStorage

/// The workload of `chorus storage stress`, shared with the crash tests that
/// kill it: self-checking records and a tiny replicated-state-machine stand-in
/// whose state is a hash of every record applied, in order.
///
/// A payload is an 8-byte tag followed by bytes drawn from a `SeededGenerator`
/// seeded with the tag, so any record read back can be checked on its own:
/// garbage replayed after a torn write fails the check. The state is the
/// FNV-1a hash of every (sequence, tag) pair applied, so a snapshot of it
/// proves that every covered record was applied exactly once and in order.
public enum StressWorkload {
    /// The tag of writer `writer`'s `counter`-th record in run `run`: unique
    /// across runs and writers.
    public static func tag(run: UInt64, writer: UInt64, counter: UInt64) -> UInt64 {
        precondition(run < 1 << 24 && writer < 1 << 8 && counter < 1 << 32, "stress tag field out of range")
        return run << 40 | writer << 32 | counter
    }

    /// A payload of 8 to `maximumBytes` bytes whose length and content follow from `tag`.
    public static func payload(tag: UInt64, maximumBytes: Int) -> [UInt8] {
        precondition(maximumBytes >= 8, "stress payloads carry an 8-byte tag")
        var generator = SeededGenerator(seed: tag)
        let length = 8 + Int(generator.next() % UInt64(maximumBytes - 8 + 1))
        var writer = ByteWriter(capacity: length)
        writer.writeFixed(tag)
        while writer.count < length { writer.write(UInt8(truncatingIfNeeded: generator.next())) }
        return writer.bytes
    }

    /// The tag of a payload `payload(tag:maximumBytes:)` produced, or nil if the
    /// bytes are not such a payload.
    public static func validatedTag(of payload: [UInt8]) -> UInt64? {
        var reader = ByteReader(payload)
        guard let tag = try? reader.readFixedUInt64() else { return nil }
        var generator = SeededGenerator(seed: tag)
        _ = generator.next()  // the draw that chose the length, which depends on the unknown maximum
        for index in 8..<payload.count where payload[index] != UInt8(truncatingIfNeeded: generator.next()) {
            return nil
        }
        return tag
    }

    /// The state machine: how many records were applied and a hash of them in order.
    public struct State: Sendable, Equatable {
        /// The sequence number of the next record to apply.
        public var nextSequence: SequenceNumber = .first
        public var hash: UInt64 = FNV1a.offsetBasis

        public init() {}

        public mutating func apply(sequence: SequenceNumber, tag: UInt64) {
            precondition(sequence == nextSequence, "records must be applied in order without gaps")
            var hasher = FNV1a(continuing: hash)
            hasher.combine(sequence.rawValue)
            hasher.combine(tag)
            hash = hasher.value
            nextSequence = sequence.next
        }

        public func encoded() -> [UInt8] {
            var writer = ByteWriter(capacity: 16)
            writer.writeFixed(nextSequence.rawValue)
            writer.writeFixed(hash)
            return writer.bytes
        }

        public init(decoding bytes: [UInt8]) throws(BinaryDecodingError) {
            var reader = ByteReader(bytes)
            nextSequence = SequenceNumber(try reader.readFixedUInt64())
            hash = try reader.readFixedUInt64()
            try reader.expectEnd()
        }
    }
}
