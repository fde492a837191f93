/// A 64-bit hash that is the same in every process, on every platform, in
/// every release: XXH64 (Collet, "xxHash", 2012; the XXH64 specification,
/// version 0.1.1).
///
/// Swift's `Hasher` is seeded per process, so two nodes (or one node before
/// and after a restart) would place the same key on different ring
/// positions. Placement, Merkle segments and value digests are agreed
/// between processes, so they need a hash fixed by a specification, checked
/// here against the reference library's outputs.
public enum StableHash {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    private static func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotateLeft(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }

    @inline(__always)
    private static func load64(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    @inline(__always)
    private static func load32(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<4 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    /// XXH64 of `bytes` with `seed`.
    public static func hash<Bytes: Collection>(_ bytes: Bytes, seed: UInt64 = 0) -> UInt64 where Bytes.Element == UInt8 {
        if let direct = bytes.withContiguousStorageIfAvailable({ hash(buffer: $0, seed: seed) }) { return direct }
        return Array(bytes).withUnsafeBufferPointer { hash(buffer: $0, seed: seed) }
    }

    private static func hash(buffer: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        let length = buffer.count
        var offset = 0
        var accumulator: UInt64
        if length >= 32 {
            var lane1 = seed &+ prime1 &+ prime2
            var lane2 = seed &+ prime2
            var lane3 = seed
            var lane4 = seed &- prime1
            while offset + 32 <= length {
                lane1 = round(lane1, load64(buffer, offset))
                lane2 = round(lane2, load64(buffer, offset + 8))
                lane3 = round(lane3, load64(buffer, offset + 16))
                lane4 = round(lane4, load64(buffer, offset + 24))
                offset += 32
            }
            accumulator = rotateLeft(lane1, 1) &+ rotateLeft(lane2, 7) &+ rotateLeft(lane3, 12) &+ rotateLeft(lane4, 18)
            accumulator = mergeRound(accumulator, lane1)
            accumulator = mergeRound(accumulator, lane2)
            accumulator = mergeRound(accumulator, lane3)
            accumulator = mergeRound(accumulator, lane4)
        } else {
            accumulator = seed &+ prime5
        }
        accumulator = accumulator &+ UInt64(length)
        while offset + 8 <= length {
            accumulator ^= round(0, load64(buffer, offset))
            accumulator = rotateLeft(accumulator, 27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            accumulator ^= load32(buffer, offset) &* prime1
            accumulator = rotateLeft(accumulator, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            accumulator ^= UInt64(buffer[offset]) &* prime5
            accumulator = rotateLeft(accumulator, 11) &* prime1
            offset += 1
        }
        accumulator ^= accumulator >> 33
        accumulator = accumulator &* prime2
        accumulator ^= accumulator >> 29
        accumulator = accumulator &* prime3
        accumulator ^= accumulator >> 32
        return accumulator
    }

    /// XXH64 of the eight little-endian bytes of each value, in order: the
    /// hash of small fixed records (a node and a virtual-node index).
    public static func hash(words: [UInt64], seed: UInt64 = 0) -> UInt64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 8)
        for word in words {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return hash(bytes, seed: seed)
    }
}
