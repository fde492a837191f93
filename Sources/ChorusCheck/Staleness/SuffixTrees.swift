/// Counts inserted ranks at or after a rank (a Fenwick tree over reversed ranks).
struct SuffixCountTree: Sendable {
    private var tree: [Int]
    init(size: Int) { tree = [Int](repeating: 0, count: size + 1) }

    mutating func add(at rank: Int) {
        var index = tree.count - 1 - rank
        while index < tree.count {
            tree[index] += 1
            index += index & -index
        }
    }

    /// How many inserted ranks are ≥ `rank`.
    func count(from rank: Int) -> Int {
        var index = tree.count - 1 - rank
        var total = 0
        while index > 0 {
            total += tree[index]
            index -= index & -index
        }
        return total
    }
}

/// The earliest time offered at or after a rank (a Fenwick tree of minima
/// over reversed ranks; offers only ever lower a minimum). Entries without a
/// time lose to entries with one, and are kept only when nothing has a time.
struct SuffixEarliestTree: Sendable {
    private var tree: [(time: Int64?, id: Int)?]
    init(size: Int) { tree = Array(repeating: nil, count: size + 1) }

    private static func better(_ candidate: (time: Int64?, id: Int), than current: (time: Int64?, id: Int)?) -> Bool {
        guard let current else { return true }
        switch (candidate.time, current.time) {
        case (let new?, let old?): return new < old || (new == old && candidate.id < current.id)
        case (.some, nil): return true
        default: return false
        }
    }

    mutating func offer(at rank: Int, time: Int64?, id: Int) {
        var index = tree.count - 1 - rank
        while index < tree.count {
            if Self.better((time, id), than: tree[index]) { tree[index] = (time, id) }
            index += index & -index
        }
    }

    func earliest(from rank: Int) -> (time: Int64?, id: Int?) {
        var index = tree.count - 1 - rank
        var best: (time: Int64?, id: Int)?
        while index > 0 {
            if let entry = tree[index], Self.better(entry, than: best) { best = entry }
            index -= index & -index
        }
        return (best?.time, best?.id)
    }
}
