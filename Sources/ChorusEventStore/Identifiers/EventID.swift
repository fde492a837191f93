import ChorusCore

/// An event's identity: a UUID (RFC 9562) as 16 bytes, chosen by the client
/// (so a retried append is recognised, see `IdempotencyWindow`) or assigned by
/// the proposing node for events that came without one.
///
/// The store compares ids as bytes and never interprets the version or variant
/// bits; ids the store derives itself (key-value change-feed entries) are
/// deterministic 16-byte values. The text form is the canonical lowercase
/// `8-4-4-4-12` hexadecimal one; parsing also accepts uppercase digits.
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Bytes 0–7, big-endian.
    public var high: UInt64
    /// Bytes 8–15, big-endian.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The id with these 16 bytes, or nil if `bytes` has another length.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (offset, byte) in bytes.enumerated() {
            if offset < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// The id written in the canonical text form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`),
    /// or nil for anything else.
    public init?(parsing text: String) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(32)
        for (offset, character) in utf8.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = Self.hexValue(character) else { return nil }
            nibbles.append(value)
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (offset, nibble) in nibbles.enumerated() {
            if offset < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
        }
        self.init(high: high, low: low)
    }

    public var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        return result
    }

    /// The canonical lowercase text form.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var characters: [UInt8] = []
        characters.reserveCapacity(36)
        for (offset, byte) in bytes.enumerated() {
            if offset == 4 || offset == 6 || offset == 8 || offset == 10 { characters.append(UInt8(ascii: "-")) }
            characters.append(digits[Int(byte >> 4)])
            characters.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: characters, as: UTF8.self)
    }

    public static func < (lhs: EventID, rhs: EventID) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    /// A random version-4 UUID from `generator` (for the proposing node, which
    /// assigns ids to events that came without one; never called by the machine).
    public static func random<Generator: RandomNumberGenerator>(using generator: inout Generator) -> EventID {
        let high = (generator.next() & ~0xF000) | 0x4000
        let low = (generator.next() & ~(0xC000_0000_0000_0000 as UInt64)) | 0x8000_0000_0000_0000
        return EventID(high: high, low: low)
    }

    func encode(into writer: inout ByteWriter) {
        writer.writeRaw(bytes)
    }

    init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let raw = try reader.readRaw(count: 16)
        self.init(bytes: raw)!
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
