/// The run fingerprint both simulators keep: FNV-1a over every event they
/// handle, byte by byte. Two runs of one seed end with equal hashes; that is
/// what the determinism tests compare.
enum TraceHash {
    static let initial: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always)
    static func mix(_ hash: inout UInt64, _ value: UInt64) {
        var remaining = value
        for _ in 0..<8 {
            hash ^= remaining & 0xFF
            hash = hash &* 0x100_0000_01B3
            remaining >>= 8
        }
    }

    /// `12.000345 text`: a trace line stamped with virtual seconds.
    static func line(at now: UInt64, _ text: String) -> String {
        let micros = String(now % 1_000_000)
        let fraction = String(repeating: "0", count: max(0, 6 - micros.count)) + micros
        return "\(now / 1_000_000).\(fraction) \(text)"
    }
}
