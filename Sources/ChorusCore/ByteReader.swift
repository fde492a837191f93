/// Why a byte string could not be decoded. Every decoder in Chorus reports bad
/// input through this type, never by trapping: bytes come from disks and
/// sockets, and a corrupt or hostile input is an expected failure.
public struct BinaryDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The input ended `needed` bytes early.
        case truncated(needed: Int)
        /// A varint ran past ten bytes or past 64 bits.
        case varintOverflow
        /// A length or count was larger than its limit or than the bytes left.
        case lengthOutOfBounds(length: UInt64, limit: Int)
        /// Bytes that should be UTF-8 were not.
        case invalidUTF8
        /// A tag, flag or value that the format does not allow.
        case invalidValue(String)
        /// Bytes were left over after a complete value.
        case trailingBytes(count: Int)
    }

    public var reason: Reason
    /// The byte offset in the input at which decoding failed.
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        switch reason {
        case .truncated(let needed): "input truncated at byte \(offset): \(needed) more byte(s) needed"
        case .varintOverflow: "malformed varint at byte \(offset)"
        case .lengthOutOfBounds(let length, let limit):
            "length \(length) at byte \(offset) exceeds the limit of \(limit)"
        case .invalidUTF8: "invalid UTF-8 at byte \(offset)"
        case .invalidValue(let what): "invalid value at byte \(offset): \(what)"
        case .trailingBytes(let count): "\(count) unexpected trailing byte(s) at byte \(offset)"
        }
    }
}

/// Reads what `ByteWriter` wrote, checking every bound before it allocates or
/// indexes. A length or element count is checked against both an explicit
/// limit and the bytes that remain, so a forged count cannot make the reader
/// reserve gigabytes.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let endOffset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.endOffset = bytes.count
    }

    public init(_ bytes: ArraySlice<UInt8>) {
        self.init(Array(bytes))
    }

    public var remainingCount: Int { endOffset - offset }
    public var isAtEnd: Bool { offset == endOffset }

    public func error(_ reason: BinaryDecodingError.Reason) -> BinaryDecodingError {
        BinaryDecodingError(reason, at: offset)
    }

    public mutating func readByte() throws(BinaryDecodingError) -> UInt8 {
        guard offset < endOffset else { throw error(.truncated(needed: 1)) }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBool() throws(BinaryDecodingError) -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other:
            offset -= 1
            throw error(.invalidValue("boolean byte \(other)"))
        }
    }

    public mutating func readFixedUInt32() throws(BinaryDecodingError) -> UInt32 {
        guard remainingCount >= 4 else { throw error(.truncated(needed: 4 - remainingCount)) }
        var value: UInt32 = 0
        for shift in 0..<4 { value |= UInt32(bytes[offset + shift]) << (8 * shift) }
        offset += 4
        return value
    }

    public mutating func readFixedUInt64() throws(BinaryDecodingError) -> UInt64 {
        guard remainingCount >= 8 else { throw error(.truncated(needed: 8 - remainingCount)) }
        var value: UInt64 = 0
        for shift in 0..<8 { value |= UInt64(bytes[offset + shift]) << (8 * shift) }
        offset += 8
        return value
    }

    public mutating func readVarint() throws(BinaryDecodingError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < endOffset else {
                offset = start
                throw error(.truncated(needed: 1))
            }
            let byte = bytes[offset]
            offset += 1
            // The tenth byte may carry only the top bit of a UInt64.
            if shift == 63 && byte > 1 {
                offset = start
                throw error(.varintOverflow)
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    public mutating func readSignedVarint() throws(BinaryDecodingError) -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A varint that must fit in `0...limit`, as an `Int`.
    public mutating func readVarint(limit: Int) throws(BinaryDecodingError) -> Int {
        let start = offset
        let raw = try readVarint()
        guard raw <= UInt64(limit) else {
            offset = start
            throw error(.lengthOutOfBounds(length: raw, limit: limit))
        }
        return Int(raw)
    }

    /// An element count for a collection whose elements take at least
    /// `minimumElementBytes` each: bounded by `limit` and by what remains.
    public mutating func readCount(limit: Int, minimumElementBytes: Int = 1) throws(BinaryDecodingError) -> Int {
        let start = offset
        let raw = try readVarint()
        let fitting = minimumElementBytes > 0 ? remainingCount / minimumElementBytes : Int.max
        guard raw <= UInt64(limit), raw <= UInt64(fitting) else {
            offset = start
            throw error(.lengthOutOfBounds(length: raw, limit: Swift.min(limit, fitting)))
        }
        return Int(raw)
    }

    public mutating func readRaw(count: Int) throws(BinaryDecodingError) -> ArraySlice<UInt8> {
        precondition(count >= 0, "readRaw(count:) with a negative count")
        guard remainingCount >= count else { throw error(.truncated(needed: count - remainingCount)) }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// A varint length, at most `limit`, then that many bytes.
    public mutating func readLengthPrefixed(limit: Int) throws(BinaryDecodingError) -> ArraySlice<UInt8> {
        let start = offset
        let length = try readVarint(limit: limit)
        guard remainingCount >= length else {
            let needed = length - remainingCount
            offset = start
            throw error(.truncated(needed: needed))
        }
        return try readRaw(count: length)
    }

    public mutating func readString(limit: Int) throws(BinaryDecodingError) -> String {
        let start = offset
        let raw = try readLengthPrefixed(limit: limit)
        guard let string = String(validating: raw, as: UTF8.self) else {
            offset = start
            throw error(.invalidUTF8)
        }
        return string
    }

    /// Throws unless every byte has been consumed.
    public func expectEnd() throws(BinaryDecodingError) {
        guard isAtEnd else { throw error(.trailingBytes(count: remainingCount)) }
    }
}
