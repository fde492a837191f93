/// A value with a compact binary form written by `ByteWriter` and read back by
/// `ByteReader`.
///
/// Replicated data types are generic over the values they hold (the elements
/// of a set, the value of a register), and their encodings need a way to
/// write those values. This protocol is that way: one method to write, one
/// throwing initializer to read. Decoding reports malformed input as a
/// `BinaryDecodingError` and never traps, because the bytes come from disks
/// and sockets.
public protocol CompactCodable {
    /// Appends this value's encoding.
    func encode(into writer: inout ByteWriter)
    /// Reads one value, leaving the reader just past it.
    init(decoding reader: inout ByteReader) throws(BinaryDecodingError)
}

extension CompactCodable {
    /// The encoding of this value alone.
    public var encodedBytes: [UInt8] {
        var writer = ByteWriter()
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes a value that must take up all of `bytes`.
    public init(decodingAll bytes: [UInt8]) throws(BinaryDecodingError) {
        var reader = ByteReader(bytes)
        self = try Self(decoding: &reader)
        try reader.expectEnd()
    }
}

/// The largest string or byte string a `CompactCodable` conformance of the
/// standard library types accepts: 16 MiB, far above any CRDT element and far
/// below what a forged length could make a decoder allocate.
public enum CompactCodableLimits {
    public static let maximumByteCount = 16 << 20
}

extension String: CompactCodable {
    public func encode(into writer: inout ByteWriter) { writer.writeString(self) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        self = try reader.readString(limit: CompactCodableLimits.maximumByteCount)
    }
}

extension UInt64: CompactCodable {
    public func encode(into writer: inout ByteWriter) { writer.writeVarint(self) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        self = try reader.readVarint()
    }
}

extension Int64: CompactCodable {
    public func encode(into writer: inout ByteWriter) { writer.writeSignedVarint(self) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        self = try reader.readSignedVarint()
    }
}

extension Int: CompactCodable {
    public func encode(into writer: inout ByteWriter) { writer.writeSignedVarint(Int64(self)) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let start = reader.offset
        let wide = try reader.readSignedVarint()
        guard let narrow = Int(exactly: wide) else {
            throw BinaryDecodingError(.invalidValue("integer \(wide) does not fit in Int"), at: start)
        }
        self = narrow
    }
}

extension Bool: CompactCodable {
    public func encode(into writer: inout ByteWriter) { writer.write(self) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        self = try reader.readBool()
    }
}

extension UInt8: CompactCodable {
    public func encode(into writer: inout ByteWriter) { writer.write(self) }
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        self = try reader.readByte()
    }
}

/// A count, then the elements. For `[UInt8]` this is exactly
/// `ByteWriter.writeLengthPrefixed`: a varint length and the raw bytes.
extension Array: CompactCodable where Element: CompactCodable {
    public func encode(into writer: inout ByteWriter) {
        writer.writeVarint(count)
        for element in self { element.encode(into: &writer) }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: CompactCodableLimits.maximumByteCount)
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try Element(decoding: &reader)) }
        self = elements
    }
}
