/// One RESP value, as a server replies (and as `RESPValueParser` reads back).
/// RESP3 types are encoded as their RESP2 equivalents on a RESP2 connection
/// (`RESPEncoder`), so command code builds one reply for both protocols, as
/// redis-server's `addReplyMap`/`addReplyDouble` do.
///
/// Invariants the encoder relies on (checked there with `precondition`):
/// a simple string, error or verbatim format carries no CR or LF, and a
/// verbatim format is exactly three bytes.
public indirect enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR message`: the first word is the error code (`ERR`, `WRONGTYPE`, …).
    case error(String)
    case integer(Int64)
    /// `$n` bytes: binary safe.
    case bulkString([UInt8])
    /// RESP3 `_`; RESP2 `$-1` (the null bulk string).
    case null
    /// RESP2's `*-1`, the null array (RESP3 `_`).
    case nullArray
    case array([RESPValue])
    /// RESP3 `%`; RESP2 a flat array of keys and values. Order is kept as given.
    case map([RESPMapEntry])
    /// RESP3 `~`; RESP2 an array.
    case set([RESPValue])
    /// RESP3 `,`; RESP2 a bulk string of the same digits.
    case double(Double)
    /// RESP3 `#t`/`#f`; RESP2 the integers 1 and 0.
    case boolean(Bool)
    /// RESP3 `=` with a three-byte format (`txt`, `mkd`); RESP2 a bulk string.
    case verbatimString(format: String, [UInt8])
    /// RESP3 `(`; RESP2 a bulk string. Kept as its decimal digits.
    case bigNumber(String)
    /// RESP3 `!`, an error with binary-safe text; RESP2 a simple error.
    case bulkError([UInt8])
    /// RESP3 `>`: out-of-band data (invalidation, pub/sub); RESP2 an array.
    case push([RESPValue])

    public static let ok = RESPValue.simpleString("OK")

    /// A bulk string of UTF-8 text.
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
}

/// One key–value pair of a RESP3 map, in the order the server chose.
public struct RESPMapEntry: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue

    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}
