/// Appends the primitives of Chorus's binary encodings to a growing buffer:
/// fixed-width little-endian integers, LEB128 varints, zigzag-signed varints,
/// and length-prefixed byte strings.
///
/// Every compact encoding in Chorus (CRDT states and deltas, Raft messages on
/// the wire, WAL records) is written with this one type and read back with
/// `ByteReader`, so the two stay in step in one place.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inlinable
    public mutating func write(_ byte: UInt8) { bytes.append(byte) }

    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func writeFixed(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeFixed(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128: seven bits per byte, low groups first, high bit set on
    /// every byte but the last. At most ten bytes for a `UInt64`.
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
    }

    @inlinable
    public mutating func writeVarint(_ value: Int) {
        precondition(value >= 0, "writeVarint(Int) takes a count or offset, never negative; use writeSignedVarint")
        writeVarint(UInt64(value))
    }

    /// Zigzag then LEB128, so small negative numbers stay short.
    @inlinable
    public mutating func writeSignedVarint(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Raw bytes with no length; the reader must know the count.
    public mutating func writeRaw<Bytes: Sequence>(_ raw: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// A varint length followed by the bytes.
    public mutating func writeLengthPrefixed<Bytes: Collection>(_ raw: Bytes) where Bytes.Element == UInt8 {
        writeVarint(raw.count)
        bytes.append(contentsOf: raw)
    }

    /// A string as length-prefixed UTF-8.
    public mutating func writeString(_ string: String) {
        var copy = string
        copy.withUTF8 { writeLengthPrefixed($0) }
    }
}
