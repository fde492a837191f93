import ChorusCore

/// Writes replies in the connection's protocol version (redis.io, "Redis
/// serialization protocol specification": RESP2 types, and the RESP3 types
/// with the RESP2 fallbacks redis-server uses for a RESP2 client):
///
/// | value | RESP3 | RESP2 |
/// |---|---|---|
/// | null | `_` | `$-1` |
/// | null array | `_` | `*-1` |
/// | map | `%n` k v … | `*2n` k v … |
/// | set | `~n` | `*n` |
/// | double | `,1.5` | `$3 1.5` |
/// | boolean | `#t` / `#f` | `:1` / `:0` |
/// | verbatim | `=n txt:…` | `$n …` (text only) |
/// | big number | `(digits` | `$n digits` |
/// | bulk error | `!n …` | `-…` |
/// | push | `>n` | `*n` |
///
/// Encoding cannot fail for values that keep `RESPValue`'s invariants; one
/// that breaks them (a CR in a status line) is a bug in the caller and traps.
public enum RESPEncoder {
    /// Appends `value` to `writer`.
    public static func encode(_ value: RESPValue, version: RESPProtocolVersion, into writer: inout ByteWriter) {
        switch value {
        case .simpleString(let text):
            writeLine(prefix: UInt8(ascii: "+"), text, into: &writer)
        case .error(let text):
            writeLine(prefix: UInt8(ascii: "-"), text, into: &writer)
        case .integer(let number):
            writer.write(UInt8(ascii: ":"))
            writeDecimal(number, into: &writer)
            writeTerminator(into: &writer)
        case .bulkString(let bytes):
            writeBulk(prefix: UInt8(ascii: "$"), bytes, into: &writer)
        case .null:
            writeRaw(version == .resp3 ? "_\r\n" : "$-1\r\n", into: &writer)
        case .nullArray:
            writeRaw(version == .resp3 ? "_\r\n" : "*-1\r\n", into: &writer)
        case .array(let elements):
            writeAggregate(prefix: UInt8(ascii: "*"), elements, version: version, into: &writer)
        case .map(let entries):
            writer.write(UInt8(ascii: version == .resp3 ? "%" : "*"))
            writeDecimal(Int64(version == .resp3 ? entries.count : 2 * entries.count), into: &writer)
            writeTerminator(into: &writer)
            for entry in entries {
                encode(entry.key, version: version, into: &writer)
                encode(entry.value, version: version, into: &writer)
            }
        case .set(let elements):
            writeAggregate(prefix: UInt8(ascii: version == .resp3 ? "~" : "*"), elements, version: version, into: &writer)
        case .double(let number):
            let text = formatDouble(number)
            if version == .resp3 {
                writeLine(prefix: UInt8(ascii: ","), text, into: &writer)
            } else {
                writeBulk(prefix: UInt8(ascii: "$"), Array(text.utf8), into: &writer)
            }
        case .boolean(let flag):
            if version == .resp3 {
                writeRaw(flag ? "#t\r\n" : "#f\r\n", into: &writer)
            } else {
                writeRaw(flag ? ":1\r\n" : ":0\r\n", into: &writer)
            }
        case .verbatimString(let format, let bytes):
            precondition(format.utf8.count == 3 && isLineSafe(format), "a verbatim format is three bytes: \(format)")
            if version == .resp3 {
                writer.write(UInt8(ascii: "="))
                writeDecimal(Int64(bytes.count + 4), into: &writer)
                writeTerminator(into: &writer)
                writer.bytes.append(contentsOf: format.utf8)
                writer.write(UInt8(ascii: ":"))
                writer.bytes.append(contentsOf: bytes)
                writeTerminator(into: &writer)
            } else {
                writeBulk(prefix: UInt8(ascii: "$"), bytes, into: &writer)
            }
        case .bigNumber(let digits):
            if version == .resp3 {
                writeLine(prefix: UInt8(ascii: "("), digits, into: &writer)
            } else {
                writeBulk(prefix: UInt8(ascii: "$"), Array(digits.utf8), into: &writer)
            }
        case .bulkError(let bytes):
            if version == .resp3 {
                writeBulk(prefix: UInt8(ascii: "!"), bytes, into: &writer)
            } else {
                // A simple error cannot carry CR or LF: they become spaces, as
                // redis-server's `addReplyErrorLength` does to user text.
                writer.write(UInt8(ascii: "-"))
                writer.bytes.append(contentsOf: bytes.lazy.map { $0 == 13 || $0 == 10 ? UInt8(ascii: " ") : $0 })
                writeTerminator(into: &writer)
            }
        case .push(let elements):
            writeAggregate(prefix: UInt8(ascii: version == .resp3 ? ">" : "*"), elements, version: version, into: &writer)
        }
    }

    /// The bytes of `value` alone.
    public static func encoded(_ value: RESPValue, version: RESPProtocolVersion) -> [UInt8] {
        var writer = ByteWriter()
        encode(value, version: version, into: &writer)
        return writer.bytes
    }

    /// A double as RESP3 spells it: `inf`, `-inf`, `nan`, else the shortest
    /// decimal that reads back to the same double (Swift's `description`).
    public static func formatDouble(_ number: Double) -> String {
        if number.isNaN { return "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        return number.description
    }

    /// Whether `text` may be sent as a status or error line.
    public static func isLineSafe(_ text: String) -> Bool {
        !text.utf8.contains(13) && !text.utf8.contains(10)
    }

    // MARK: Pieces

    private static func writeAggregate(
        prefix: UInt8, _ elements: [RESPValue], version: RESPProtocolVersion, into writer: inout ByteWriter
    ) {
        writer.write(prefix)
        writeDecimal(Int64(elements.count), into: &writer)
        writeTerminator(into: &writer)
        for element in elements { encode(element, version: version, into: &writer) }
    }

    private static func writeLine(prefix: UInt8, _ text: String, into writer: inout ByteWriter) {
        precondition(isLineSafe(text), "a RESP line may not contain CR or LF")
        writer.write(prefix)
        writer.bytes.append(contentsOf: text.utf8)
        writeTerminator(into: &writer)
    }

    private static func writeBulk(prefix: UInt8, _ bytes: [UInt8], into writer: inout ByteWriter) {
        writer.write(prefix)
        writeDecimal(Int64(bytes.count), into: &writer)
        writeTerminator(into: &writer)
        writer.bytes.append(contentsOf: bytes)
        writeTerminator(into: &writer)
    }

    private static func writeRaw(_ text: StaticString, into writer: inout ByteWriter) {
        text.withUTF8Buffer { writer.bytes.append(contentsOf: $0) }
    }

    private static func writeTerminator(into writer: inout ByteWriter) {
        writer.write(13)
        writer.write(10)
    }

    /// Decimal digits without a `String` in between: replies are mostly
    /// lengths and small integers, and this is the hot path.
    static func writeDecimal(_ number: Int64, into writer: inout ByteWriter) {
        if number < 0 { writer.write(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        if magnitude < 10 {
            writer.write(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 20 digits, on the stack
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            while magnitude > 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            writer.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }
}
