/// A cursor over one fuzzer input that hands out the pieces a harness needs:
/// a selector byte, length-prefixed chunks, the rest. Nothing here traps on
/// short input: a harness that asks past the end gets zeros or empty chunks,
/// so every input, however short, is a valid run.
///
/// Chunks are `length (u16 LE) · bytes`, the length clamped to what remains,
/// so a fuzzer mutating a length still yields a parse, and seeds stay easy to
/// write by hand (`FuzzInput.chunked`).
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { offset >= bytes.count }
    public var remainingCount: Int { bytes.count - offset }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The next chunk: a two-byte little-endian length, then that many bytes
    /// (fewer if the input ends first).
    public mutating func chunk() -> [UInt8] {
        let low = Int(byte())
        let high = Int(byte())
        let length = min(low | high << 8, remainingCount)
        defer { offset += length }
        return Array(bytes[offset..<(offset + length)])
    }

    /// Every chunk up to the end, at most `limit` of them.
    public mutating func chunks(limit: Int) -> [[UInt8]] {
        var result: [[UInt8]] = []
        while !isAtEnd && result.count < limit { result.append(chunk()) }
        return result
    }

    /// Everything not yet read.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return isAtEnd ? [] : Array(bytes[offset...])
    }

    /// The inverse of `chunk()`, for writing seeds.
    public static func chunked(_ pieces: [[UInt8]]) -> [UInt8] {
        var output: [UInt8] = []
        for piece in pieces {
            precondition(piece.count <= 0xFFFF, "a seed chunk of \(piece.count) bytes does not fit a u16 length")
            output.append(UInt8(piece.count & 0xFF))
            output.append(UInt8(piece.count >> 8))
            output.append(contentsOf: piece)
        }
        return output
    }
}
