/// Strict decimal integers, as redis-server's `string2ll` reads them: an
/// optional `-`, then `0` alone or a digit 1–9 followed by digits, nothing
/// else (no `+`, no spaces, no leading zeros), and within `Int64`. Lengths on
/// the wire and integer arguments (`INCRBY`, `SELECT`) both use it, so
/// `INCRBY k 007` fails exactly where Redis fails.
public enum RESPDecimal {
    public static func parse(_ bytes: [UInt8]) -> Int64? {
        parse(bytes.span)
    }

    static func parse(_ bytes: Span<UInt8>) -> Int64? {
        let count = bytes.count
        guard count > 0, count <= 20 else { return nil }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative {
            index = 1
            guard count > 1 else { return nil }
        }
        let first = bytes[index]
        if first == UInt8(ascii: "0") {
            // "0" alone; "-0" and "01" are refused, as string2ll refuses them.
            return count == 1 ? 0 : nil
        }
        guard first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9") else { return nil }
        var magnitude: UInt64 = 0
        while index < count {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
