/// Which marked nodes reach which nodes: for every strongly connected
/// component of a graph, the set of marked nodes (say, the writes) with a
/// path to it, its own members included. One bit row per component, filled
/// in topological order by or-ing the rows of the components before it, so
/// building it costs (edges × marked / 64) word operations.
struct ReachabilityRows: Sendable {
    let wordsPerRow: Int
    private var words: [UInt64]
    /// The component of every node.
    let component: [Int]

    /// Nil when `components.count × bitCount` exceeds
    /// `CheckLimits.reachabilityBitsMaximum`: the caller reports `unknown`.
    init?(
        graph: DirectedGraph, components: StronglyConnectedComponents, bitOfNode: [Int], bitCount: Int,
        excluding excluded: Set<UInt8> = []
    ) {
        let rows = components.count
        guard rows.multipliedReportingOverflow(by: max(bitCount, 1)).partialValue <= CheckLimits.reachabilityBitsMaximum,
            !rows.multipliedReportingOverflow(by: max(bitCount, 1)).overflow
        else { return nil }
        wordsPerRow = (bitCount + 63) / 64
        component = components.component
        words = [UInt64](repeating: 0, count: rows * wordsPerRow)
        guard wordsPerRow > 0 else { return }
        words.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<rows {
                let base = row * wordsPerRow
                for member in components.members(row) {
                    let bit = bitOfNode[member]
                    if bit >= 0 { buffer[base + (bit >> 6)] |= 1 << UInt64(bit & 63) }
                    for slot in graph.predecessors(member) {
                        if excluded.contains(graph.predecessorKind(slot)) { continue }
                        let source = components.component[graph.predecessorSource(slot)]
                        if source == row { continue }
                        precondition(source < row, "components out of topological order")
                        let from = source * wordsPerRow
                        for word in 0..<wordsPerRow { buffer[base + word] |= buffer[from + word] }
                    }
                }
            }
        }
    }

    /// True when marked node number `bit` reaches `node` (or is in its component).
    @inline(__always)
    func reaches(_ bit: Int, _ node: Int) -> Bool {
        let row = component[node]
        return words[row * wordsPerRow + (bit >> 6)] & (1 << UInt64(bit & 63)) != 0
    }

    /// Adds to `set` every marked node that reaches `node`.
    func formUnion(_ set: inout [UInt64], with node: Int) {
        precondition(set.count == wordsPerRow, "bit set of another size")
        let base = component[node] * wordsPerRow
        for word in 0..<wordsPerRow { set[word] |= words[base + word] }
    }
}

/// Bit-set helpers on plain word arrays, for the sets the checkers keep per session.
enum WordBits {
    @inline(__always)
    static func contains(_ words: [UInt64], _ bit: Int) -> Bool {
        words[bit >> 6] & (1 << UInt64(bit & 63)) != 0
    }

    @inline(__always)
    static func insert(_ words: inout [UInt64], _ bit: Int) {
        words[bit >> 6] |= 1 << UInt64(bit & 63)
    }

    /// In `items` (ordered so that the members of the set always form a
    /// prefix), the index of the last member, or nil when none is.
    static func lastMemberOfPrefix(_ items: [Int], isMember: (Int) -> Bool) -> Int? {
        var low = 0
        var high = items.count
        // Invariant: items[..<low] are members, items[high...] are not.
        while low < high {
            let middle = (low + high) / 2
            if isMember(items[middle]) { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }
}
