/// The search memo: a set of (linearized operations, model state) pairs
/// (Lowe, CCPE 2017, §3.2), stored flat so that remembering a pair costs no
/// allocation of its own.
///
/// Bitsets live back to back in one word arena; an open-addressing table of
/// entry numbers indexes them by a hash that combines a Zobrist hash of the
/// bitset (the XOR of one random word per member, kept up to date by the
/// search as it adds and removes operations; Zobrist, 1970) with the state's
/// hash. Equality is then confirmed word by word and with the state's `==`,
/// so collisions cost time, never correctness.
struct Memo<State: Hashable> {
    private let wordCount: Int
    private var words: [UInt64] = []
    private var states: [State] = []
    /// One word per slot: the upper 32 bits of the entry's hash (its
    /// fingerprint, which also picks the home slot), and entry number + 1 in
    /// the lower 32 bits; 0 is empty. Probing compares fingerprints in the slot
    /// itself, so a miss costs one cache line, not three.
    private var slots: [UInt64]
    private var mask: Int

    private(set) var count = 0

    /// What one entry costs in the memo's own arrays, states' heap buffers
    /// aside: its bitset, its inline state, and up to four table slots (the
    /// table is kept between a quarter and half full).
    var bytesPerEntry: Int { wordCount * 8 + MemoryLayout<State>.stride + 4 * 8 }

    init(operationCount: Int) {
        wordCount = max(1, (operationCount + 63) / 64)
        slots = Array(repeating: 0, count: 1 << 12)
        mask = (1 << 12) - 1
    }

    /// A memo that holds nothing and allocates nothing, only to stand in
    /// for a search's real memo while the search loop works on it. It has
    /// no table, so inserting into it traps.
    init() {
        wordCount = 1
        slots = []
        mask = 0
    }

    /// Inserts the pair unless present; returns whether it was new.
    mutating func insert(_ linearized: BitSet, zobrist: UInt64, state: State) -> Bool {
        precondition(linearized.words.count == wordCount, "memo and search disagree on the bitset size")
        precondition(count < Int(UInt32.max) - 1, "memo entry numbers are 32-bit")
        let hash = zobrist ^ (UInt64(bitPattern: Int64(state.hashValue)) &* 0x9E37_79B9_7F4A_7C15)
        let fingerprint = (hash ^ (hash << 29)) & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: fingerprint >> 32) & mask
        while true {
            let occupant = slots[slot]
            if occupant == 0 { break }
            if occupant & 0xFFFF_FFFF_0000_0000 == fingerprint {
                let entry = Int(occupant & 0xFFFF_FFFF) - 1
                if sameWords(entry, linearized) && states[entry] == state { return false }
            }
            slot = (slot + 1) & mask
        }
        slots[slot] = fingerprint | UInt64(count + 1)
        words.append(contentsOf: linearized.words)
        states.append(state)
        count += 1
        if count * 2 > slots.count { grow() }
        return true
    }

    private func sameWords(_ entry: Int, _ linearized: BitSet) -> Bool {
        let base = entry * wordCount
        for index in 0..<wordCount where words[base + index] != linearized.words[index] { return false }
        return true
    }

    private mutating func grow() {
        let old = slots
        let capacity = slots.count * 2
        slots = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for occupant in old where occupant != 0 {
            var slot = Int(truncatingIfNeeded: occupant >> 32) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = occupant
        }
    }
}

extension Memo: Sendable where State: Sendable {}

/// One random word per operation for the Zobrist hash of a linearized set,
/// drawn from a fixed seed so that runs are reproducible.
struct ZobristTable {
    let keys: [UInt64]

    init(operationCount: Int) {
        var state: UInt64 = 0x243F_6A88_85A3_08D3  // SplitMix64 over a fixed seed (the digits of pi)
        var keys: [UInt64] = []
        keys.reserveCapacity(operationCount)
        for _ in 0..<operationCount {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            keys.append(mixed ^ (mixed >> 31))
        }
        self.keys = keys
    }
}
