/// A deterministic pseudo-random generator: xoshiro256** (Blackman & Vigna,
/// "Scrambled linear pseudorandom number generators", 2021), seeded through
/// SplitMix64 so that nearby seeds give unrelated streams.
///
/// Every source of randomness in a core or in the simulator is one of these,
/// passed in. Two generators built from the same seed produce the same stream
/// on every platform and in every process, which is what lets one `UInt64`
/// seed replay a whole simulation bit for bit.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline internal var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
        // xoshiro's only invalid state is all zeros; SplitMix64 never yields it
        // for four consecutive outputs, but the negative space is cheap to assert.
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A fresh generator whose stream is independent of this one's, for handing
    /// a sub-component its own randomness without coupling the two streams.
    public mutating func split() -> SeededGenerator {
        SeededGenerator(seed: next())
    }

    /// True with probability `probability` (clamped to 0...1).
    public mutating func chance(_ probability: Double) -> Bool {
        if probability <= 0 { return false }
        if probability >= 1 { return true }
        return Double(next() >> 11) * 0x1.0p-53 < probability
    }

    @usableFromInline
    internal func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
