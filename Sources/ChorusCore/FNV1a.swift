/// The 64-bit FNV-1a hash (Fowler, Noll, Vo): a stable, seedless digest for
/// identities and fingerprints that must agree across processes and runs
/// (Swift's `Hasher` is seeded per process). Not for anything adversarial.
public struct FNV1a: Sendable, Hashable {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    public private(set) var value: UInt64

    public init() { value = Self.offsetBasis }

    /// A hasher that continues from an earlier `value` (a digest kept in state).
    public init(continuing value: UInt64) { self.value = value }

    @inline(__always)
    public mutating func combine(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    public mutating func combine<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { combine(byte: byte) }
    }

    /// The eight bytes of `word`, least significant first.
    @inline(__always)
    public mutating func combine(_ word: UInt64) {
        var remaining = word
        for _ in 0..<8 {
            combine(byte: UInt8(truncatingIfNeeded: remaining))
            remaining >>= 8
        }
    }

    /// The hash of `bytes`.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hasher = FNV1a()
        hasher.combine(bytes: bytes)
        return hasher.value
    }
}
