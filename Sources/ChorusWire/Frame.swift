import ChorusCore

/// The framing of every byte stream between two nodes:
///
///     frame = payload length (u32 LE) · CRC32C of payload (u32 LE) · payload
///
/// the same layout as the write-ahead log's records, for the same reasons: the
/// length comes first so a reader knows how much to wait for and can refuse an
/// oversized frame from its header alone (before allocating anything), and the
/// checksum catches corruption that TCP's 16-bit checksum lets through
/// (Stone & Partridge, "When the CRC and TCP checksum disagree", SIGCOMM 2000).
public enum Frame {
    public static let headerBytes = 8

    /// A parsed frame header.
    public struct Header: Sendable, Hashable {
        public var payloadLength: Int
        public var checksum: UInt32
    }

    /// Reads a header from its eight bytes, refusing a length beyond `limit`.
    public static func parseHeader(
        lengthField: UInt32, checksumField: UInt32, limit: Int
    ) throws(WireError) -> Header {
        guard UInt64(lengthField) <= UInt64(limit) else {
            throw .frameTooLarge(length: UInt64(lengthField), limit: limit)
        }
        return Header(payloadLength: Int(lengthField), checksum: checksumField)
    }

    /// Checks a payload against its header's checksum.
    public static func verify(_ payload: UnsafeRawBufferPointer, against header: Header) throws(WireError) {
        let actual = CRC32C.checksum(payload.bindMemory(to: UInt8.self))
        guard actual == header.checksum else { throw .checksumMismatch(expected: header.checksum, actual: actual) }
    }

    /// Checks a payload array against its header's checksum.
    public static func verify(_ payload: [UInt8], against header: Header) throws(WireError) {
        let actual = CRC32C.checksum(payload)
        guard actual == header.checksum else { throw .checksumMismatch(expected: header.checksum, actual: actual) }
    }

    /// Appends one frame (header and payload) to `output`.
    public static func append(payload: [UInt8], to output: inout [UInt8]) {
        var header = ByteWriter(capacity: headerBytes)
        header.writeFixed(UInt32(payload.count))
        header.writeFixed(CRC32C.checksum(payload))
        output.append(contentsOf: header.bytes)
        output.append(contentsOf: payload)
    }

    /// Decodes every complete frame at the front of `bytes`: the payloads and
    /// how many bytes they took. A pure helper for tests and tools; the node's
    /// transport parses frames straight out of its receive buffer.
    public static func split(_ bytes: [UInt8], limit: Int) throws(WireError) -> (payloads: [[UInt8]], consumed: Int) {
        var payloads: [[UInt8]] = []
        var offset = 0
        while bytes.count - offset >= headerBytes {
            var reader = ByteReader(Array(bytes[offset..<(offset + headerBytes)]))
            let length: UInt32
            let checksum: UInt32
            do {
                length = try reader.readFixedUInt32()
                checksum = try reader.readFixedUInt32()
            } catch {
                throw .malformed(error)
            }
            let header = try parseHeader(lengthField: length, checksumField: checksum, limit: limit)
            guard bytes.count - offset - headerBytes >= header.payloadLength else { break }
            let start = offset + headerBytes
            let payload = Array(bytes[start..<(start + header.payloadLength)])
            try verify(payload, against: header)
            payloads.append(payload)
            offset = start + header.payloadLength
        }
        return (payloads, offset)
    }
}
