import ChorusCore

/// A snapshot read back from disk.
public struct Snapshot: Sendable, Equatable {
    /// The snapshot stands in for every log record below this number.
    public var coveredBelow: SequenceNumber
    public var payload: [UInt8]

    public init(coveredBelow: SequenceNumber, payload: [UInt8]) {
        self.coveredBelow = coveredBelow
        self.payload = payload
    }
}

/// The on-disk layout of a snapshot file.
///
/// ```
/// header (32 B) = magic "CSNP" | version u32 | covered-below u64 | payload length u64
///                 | payload CRC32C u32 | header CRC32C u32 of bytes 0..<28
/// payload
/// ```
///
/// The file is exactly header plus payload: trailing bytes make it invalid.
/// Its name repeats the coverage (`snapshot-00000000000000000042.snap`), and a
/// name that disagrees with the header makes it invalid too.
public enum SnapshotFormat {
    public static let magic: [UInt8] = Array("CSNP".utf8)
    public static let version: UInt32 = 1
    public static let headerBytes = 32

    static let fileNamePrefix = "snapshot-"
    static let fileNameSuffix = ".snap"
    /// A snapshot being written; renamed to its final name once synced.
    static let temporarySuffix = ".tmp"
    /// A snapshot found invalid at start-up, renamed so it is kept for
    /// inspection but never read again.
    static let corruptSuffix = ".corrupt"

    public static func fileName(coveredBelow: SequenceNumber) -> String {
        fileNamePrefix + zeroPadded(coveredBelow.rawValue) + fileNameSuffix
    }

    public static func coveredBelow(fromFileName name: String) -> SequenceNumber? {
        parseSequence(name, prefix: fileNamePrefix, suffix: fileNameSuffix).map { SequenceNumber($0) }
    }

    public static func encode(_ snapshot: Snapshot) -> [UInt8] {
        var writer = ByteWriter(capacity: headerBytes + snapshot.payload.count)
        writer.writeRaw(magic)
        writer.writeFixed(version)
        writer.writeFixed(snapshot.coveredBelow.rawValue)
        writer.writeFixed(UInt64(snapshot.payload.count))
        writer.writeFixed(CRC32C.checksum(snapshot.payload))
        writer.writeFixed(CRC32C.checksum(writer.bytes))
        precondition(writer.count == headerBytes, "snapshot header must be exactly \(headerBytes) bytes")
        writer.writeRaw(snapshot.payload)
        return writer.bytes
    }

    /// Decodes and checks a whole snapshot file.
    public static func decode(_ bytes: [UInt8], file: String, payloadLimit: Int) throws(StorageCorruption) -> Snapshot {
        func corrupt(_ offset: Int, _ reason: StorageCorruption.Reason) -> StorageCorruption {
            StorageCorruption(file: file, offset: offset, reason: reason)
        }
        guard bytes.count >= headerBytes else {
            throw corrupt(0, .invalidHeader("\(bytes.count) byte(s), shorter than the \(headerBytes)-byte header"))
        }
        var reader = ByteReader(bytes.prefix(headerBytes))
        let header: (magic: [UInt8], version: UInt32, covered: UInt64, length: UInt64, payloadSum: UInt32, headerSum: UInt32)
        do {
            header = (
                Array(try reader.readRaw(count: 4)), try reader.readFixedUInt32(), try reader.readFixedUInt64(),
                try reader.readFixedUInt64(), try reader.readFixedUInt32(), try reader.readFixedUInt32()
            )
        } catch {
            throw corrupt(error.offset, .invalidHeader(error.description))
        }
        guard header.magic == magic else { throw corrupt(0, .invalidHeader("magic is not \"CSNP\"")) }
        let computedHeader = CRC32C.checksum(bytes[..<(headerBytes - 4)])
        guard computedHeader == header.headerSum else {
            throw corrupt(0, .checksumMismatch(stored: header.headerSum, computed: computedHeader))
        }
        guard header.version == version else { throw corrupt(4, .invalidHeader("unsupported version \(header.version)")) }
        guard header.length <= UInt64(payloadLimit) else {
            throw corrupt(16, .fileTooLarge(bytes: Int(clamping: header.length), limit: payloadLimit))
        }
        let length = Int(header.length)
        guard bytes.count == headerBytes + length else {
            throw corrupt(
                headerBytes,
                bytes.count < headerBytes + length
                    ? .truncatedRecord(needed: headerBytes + length - bytes.count)
                    : .invalidHeader("\(bytes.count - headerBytes - length) byte(s) after the payload"))
        }
        let payload = Array(bytes[headerBytes...])
        let computedPayload = CRC32C.checksum(payload)
        guard computedPayload == header.payloadSum else {
            throw corrupt(headerBytes, .checksumMismatch(stored: header.payloadSum, computed: computedPayload))
        }
        return Snapshot(coveredBelow: SequenceNumber(header.covered), payload: payload)
    }
}
