/// Base64 with the URL- and header-safe alphabet and no padding (RFC 4648
/// §5), for the session token: small enough to write here, and the protocol
/// cores stay free of Foundation.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The value of each ASCII byte in the alphabet, 255 for any other byte.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let available = min(3, bytes.count - index)
            var group: UInt32 = 0
            for offset in 0..<3 {
                group <<= 8
                if offset < available { group |= UInt32(bytes[index + offset]) }
            }
            for symbol in 0..<(available + 1) {
                out.append(alphabet[Int((group >> (18 - 6 * UInt32(symbol))) & 63)])
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of `text`, or nil when it holds a byte outside the alphabet,
    /// padding, or a length no encoding has (one symbol left over).
    public static func decode(_ text: Substring.UTF8View) -> [UInt8]? {
        let symbols = Array(text)
        guard symbols.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count * 3 / 4)
        var index = 0
        while index < symbols.count {
            let available = min(4, symbols.count - index)
            var group: UInt32 = 0
            for offset in 0..<4 {
                group <<= 6
                if offset < available {
                    let value = values[Int(symbols[index + offset])]
                    guard value != 255 else { return nil }
                    group |= UInt32(value)
                }
            }
            for byte in 0..<(available - 1) { out.append(UInt8((group >> (16 - 8 * UInt32(byte))) & 255)) }
            // Canonical only: the bits past the last whole byte must be zero.
            let unusedBits = UInt32(24 - 8 * (available - 1))
            guard available == 4 || group & ((1 << unusedBits) - 1) == 0 else { return nil }
            index += 4
        }
        return out
    }

    public static func decode(_ text: String) -> [UInt8]? { decode(Substring(text).utf8) }
}
