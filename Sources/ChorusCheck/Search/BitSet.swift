/// A fixed-size set of small integers: which operations of a partition are
/// already linearized. It is half of every memo key, so it is a flat array of
/// words whose synthesized hash and equality touch one word per 64 operations.
struct BitSet: Hashable, Sendable {
    private(set) var words: [UInt64]

    init(count: Int) {
        precondition(count >= 0, "a bit set cannot have a negative size")
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    @inline(__always)
    func contains(_ index: Int) -> Bool {
        words[index >> 6] & (1 << UInt64(index & 63)) != 0
    }

    @inline(__always)
    mutating func insert(_ index: Int) {
        words[index >> 6] |= 1 << UInt64(index & 63)
    }

    @inline(__always)
    mutating func remove(_ index: Int) {
        words[index >> 6] &= ~(1 << UInt64(index & 63))
    }

    var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
