/// Maps an item identifier to the tree leaf that holds it, so that a remote
/// operation naming an item ("insert after item r7.1042", "delete r3.5…r3.9")
/// finds its place in O(1) plus one leaf scan and a walk up the tree, never by
/// scanning the document.
///
/// Each replica's sequence numbers are dense (0, 1, 2, …), so the index is a
/// table of fixed blocks of `blockSize` sequence numbers per replica. A block
/// holds the change points of the leaf along its range: `(start, leaf)` pairs
/// sorted by start, each covering up to the next one. Typing fills a block
/// with one entry; a block gains entries only where runs of one replica were
/// split across leaves. That keeps the index at well under one byte per item
/// (deleted items included) while an update is O(entries in a block).
struct IDIndex: Sendable {
    static let blockShift: UInt32 = 8
    static let blockSize: UInt32 = 1 << blockShift

    /// One block's change points, each `start << 32 | leaf`, sorted by start.
    struct Block: Sendable {
        var entries: [UInt64] = []
    }

    /// `agents[agent][block]`.
    private(set) var agents: [[Block]] = []

    mutating func addAgent() { agents.append([]) }

    /// Bytes held, counting each array's header and capacity.
    var storageBytes: Int {
        let arrayHeader = 32
        var total = arrayHeader + agents.capacity * MemoryLayout<[Block]>.stride
        for blocks in agents {
            total += arrayHeader + blocks.capacity * MemoryLayout<Block>.stride
            for block in blocks { total += arrayHeader + block.entries.capacity * 8 }
        }
        return total
    }

    /// The leaf holding item `sequence` of `agent`, which must have been
    /// assigned.
    func leaf(agent: UInt32, sequence: UInt32) -> Int {
        let blockIndex = Int(sequence >> Self.blockShift)
        let offset = UInt64(sequence & (Self.blockSize - 1))
        let entries = agents[Int(agent)][blockIndex].entries
        // The last entry whose start is at or before `offset`; blocks hold a
        // handful of entries, so a backward scan beats a binary search.
        var index = entries.count - 1
        while entries[index] >> 32 > offset { index -= 1 }
        return Int(UInt32(truncatingIfNeeded: entries[index]))
    }

    /// Records that items `sequence ..< sequence + count` of `agent` live in
    /// `leaf`. Items from `existingEnd` on do not exist yet (new items being
    /// created pass their own first sequence number), so their block offsets
    /// need no entry restoring an older leaf after the range.
    mutating func assign(agent: UInt32, sequence: UInt32, count: UInt32, leaf: Int, existingEnd: UInt32) {
        var start = sequence
        let end = sequence + count
        let leafValue = UInt64(UInt32(leaf))
        while start < end {
            let blockIndex = Int(start >> Self.blockShift)
            let blockStart = UInt32(blockIndex) << Self.blockShift
            let low = start - blockStart
            let high = Swift.min(end - blockStart, Self.blockSize)
            let restoresAfter = high < Self.blockSize && blockStart + high < existingEnd
            while agents[Int(agent)].count <= blockIndex { agents[Int(agent)].append(Block()) }
            Self.assign(
                &agents[Int(agent)][blockIndex].entries, low: UInt64(low), high: UInt64(high), leaf: leafValue,
                restoresAfter: restoresAfter)
            start = blockStart + high
        }
    }

    /// Sets offsets `low ..< high` of one block to `leaf`, keeping the entries
    /// sorted, unique by start, and free of neighbours with the same leaf.
    private static func assign(_ entries: inout [UInt64], low: UInt64, high: UInt64, leaf: UInt64, restoresAfter: Bool) {
        // Fast path: new items at the end of the block's last entry's range.
        if !restoresAfter, let last = entries.last, last >> 32 <= low {
            if last & 0xFFFF_FFFF == leaf { return }
            if last >> 32 == low {
                entries[entries.count - 1] = low << 32 | leaf
                if entries.count > 1, entries[entries.count - 2] & 0xFFFF_FFFF == leaf { entries.removeLast() }
            } else {
                entries.append(low << 32 | leaf)
            }
            return
        }
        // The leaf in force at `high`, and the entries starting in low...high.
        var valueAtHigh: UInt64? = nil
        var removeStart = entries.count
        var removeEnd = entries.count
        for index in entries.indices {
            let start = entries[index] >> 32
            if start > high {
                removeEnd = index
                break
            }
            valueAtHigh = entries[index] & 0xFFFF_FFFF
            if start >= low && removeStart == entries.count { removeStart = index }
        }
        if removeStart > removeEnd { removeStart = removeEnd }
        entries.removeSubrange(removeStart..<removeEnd)
        var insertAt = removeStart
        if insertAt == 0 || entries[insertAt - 1] & 0xFFFF_FFFF != leaf {
            entries.insert(low << 32 | leaf, at: insertAt)
            insertAt += 1
        }
        if restoresAfter, let valueAtHigh, valueAtHigh != leaf {
            entries.insert(high << 32 | valueAtHigh, at: insertAt)
            insertAt += 1
        }
        // The entry after the assigned range may now repeat its predecessor's leaf.
        if insertAt < entries.count, insertAt > 0,
            entries[insertAt] & 0xFFFF_FFFF == entries[insertAt - 1] & 0xFFFF_FFFF
        {
            entries.remove(at: insertAt)
        }
    }
}
