import ChorusCore

/// The on-disk layout of a log segment.
///
/// ```
/// segment file  = header, frame*
/// header (24 B) = magic "CWAL" | version u32 | first sequence u64 | reserved u32 (0) | CRC32C u32 of bytes 0..<20
/// frame         = CRC32C u32 | payload length u32 | sequence u64 | payload
///                 └ covers ─────────────────────────────────────────────┘ (everything after itself)
/// ```
///
/// All integers are little-endian. The checksum covers the length and the
/// sequence number as well as the payload, so a flipped bit in the length
/// cannot silently re-frame the rest of the file, and a frame left in place
/// from other data cannot pass for the next record. The sequence number is
/// stored, not implied by position, so every frame identifies itself: recovery
/// can tell whether anything valid lies after a damaged frame (see
/// `SegmentScanner`). A segment's file name repeats its first sequence number
/// (`segment-00000000000000000001.wal`) so that ordering never depends on
/// directory order or on reading headers.
///
/// The layout follows the framing of etcd's WAL and of LevelDB's log, with a
/// per-frame sequence number as in TigerBeetle's journal headers.
public enum SegmentFormat {
    public static let magic: [UInt8] = Array("CWAL".utf8)
    public static let version: UInt32 = 1
    public static let headerBytes = 24
    public static let frameHeaderBytes = 16
    /// The largest payload a frame may declare. Reading enforces this bound
    /// whatever the configuration, so a forged length cannot make recovery
    /// read or checksum gigabytes.
    public static let maximumRecordBytes = 64 << 20
    /// The largest segment file recovery will read into memory.
    public static let maximumFileBytes = (1 << 30) + (256 << 20) + headerBytes

    static let fileNamePrefix = "segment-"
    static let fileNameSuffix = ".wal"
    static let sequenceDigits = 20

    /// `segment-<first sequence, 20 decimal digits>.wal`: fixed width, so names sort like numbers.
    public static func fileName(firstSequence: SequenceNumber) -> String {
        fileNamePrefix + zeroPadded(firstSequence.rawValue) + fileNameSuffix
    }

    /// The first sequence number a segment file name declares, or nil when the
    /// name is not a segment's.
    public static func firstSequence(fromFileName name: String) -> SequenceNumber? {
        parseSequence(name, prefix: fileNamePrefix, suffix: fileNameSuffix).map { SequenceNumber($0) }
    }

    /// The 24-byte header of a segment whose first record will be `firstSequence`.
    public static func encodeHeader(firstSequence: SequenceNumber) -> [UInt8] {
        var writer = ByteWriter(capacity: headerBytes)
        writer.writeRaw(magic)
        writer.writeFixed(version)
        writer.writeFixed(firstSequence.rawValue)
        writer.writeFixed(UInt32(0))
        writer.writeFixed(CRC32C.checksum(writer.bytes))
        precondition(writer.count == headerBytes, "segment header must be exactly \(headerBytes) bytes")
        return writer.bytes
    }

    /// Why a header is invalid, or its first sequence number.
    public static func decodeHeader(_ bytes: ArraySlice<UInt8>) -> Result<SequenceNumber, HeaderProblem> {
        guard bytes.count >= headerBytes else { return .failure(.tooShort(bytes.count)) }
        var reader = ByteReader(bytes.prefix(headerBytes))
        do {
            let foundMagic = Array(try reader.readRaw(count: 4))
            let foundVersion = try reader.readFixedUInt32()
            let first = try reader.readFixedUInt64()
            let reserved = try reader.readFixedUInt32()
            let stored = try reader.readFixedUInt32()
            let computed = CRC32C.checksum(bytes.prefix(headerBytes - 4))
            guard foundMagic == magic else { return .failure(.badMagic) }
            guard stored == computed else { return .failure(.checksumMismatch(stored: stored, computed: computed)) }
            guard foundVersion == version else { return .failure(.unsupportedVersion(foundVersion)) }
            guard reserved == 0 else { return .failure(.reservedNotZero) }
            guard first >= 1 else { return .failure(.zeroFirstSequence) }
            return .success(SequenceNumber(first))
        } catch {
            return .failure(.tooShort(bytes.count))
        }
    }

    public enum HeaderProblem: Error, Equatable, Sendable, CustomStringConvertible {
        case tooShort(Int)
        case badMagic
        case checksumMismatch(stored: UInt32, computed: UInt32)
        case unsupportedVersion(UInt32)
        case reservedNotZero
        case zeroFirstSequence

        public var description: String {
            switch self {
            case .tooShort(let count): "\(count) byte(s), shorter than the \(SegmentFormat.headerBytes)-byte header"
            case .badMagic: "magic is not \"CWAL\""
            case .checksumMismatch(let stored, let computed): "header checksum \(stored) != computed \(computed)"
            case .unsupportedVersion(let found): "unsupported version \(found)"
            case .reservedNotZero: "reserved field is not zero"
            case .zeroFirstSequence: "first sequence number is zero"
            }
        }
    }

    /// Appends one frame to `writer`: checksum, length, sequence, payload.
    public static func appendFrame(
        sequence: SequenceNumber, payload: [UInt8], to writer: inout ByteWriter
    ) {
        precondition(payload.count <= maximumRecordBytes, "record of \(payload.count) bytes exceeds the format limit")
        let start = writer.count
        writer.writeFixed(UInt32(0))  // checksum, patched below once the covered bytes are in place
        writer.writeFixed(UInt32(payload.count))
        writer.writeFixed(sequence.rawValue)
        writer.writeRaw(payload)
        let checksum = CRC32C.checksum(writer.bytes[(start + 4)...])
        withUnsafeBytes(of: checksum.littleEndian) { raw in
            for index in 0..<4 { writer.bytes[start + index] = raw[index] }
        }
    }

    /// The encoded size of a frame carrying `payloadBytes`.
    @inlinable
    public static func frameBytes(payloadBytes: Int) -> Int { frameHeaderBytes + payloadBytes }
}

/// Twenty decimal digits, zero-padded: the width of the largest `UInt64`.
func zeroPadded(_ value: UInt64) -> String {
    let digits = String(value)
    return String(repeating: "0", count: SegmentFormat.sequenceDigits - digits.count) + digits
}

/// The number in `prefix<20 digits>suffix`, or nil for any other name.
func parseSequence(_ name: String, prefix: String, suffix: String) -> UInt64? {
    guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
    let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
    guard digits.count == SegmentFormat.sequenceDigits, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        return nil
    }
    return UInt64(digits)
}

extension Array where Element == UInt8 {
    /// The little-endian `UInt32` at `offset`; the caller has checked the bounds.
    func littleEndianUInt32(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for shift in 0..<4 { value |= UInt32(self[offset + shift]) << (8 * shift) }
        return value
    }

    /// The little-endian `UInt64` at `offset`; the caller has checked the bounds.
    func littleEndianUInt64(at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<8 { value |= UInt64(self[offset + shift]) << (8 * shift) }
        return value
    }
}
