/// A place in the tree: item `offset` of run `run` of leaf `leaf`. A cursor
/// with `run == runCount(leaf)` and `offset == 0` in the last leaf is the end
/// of the document.
struct TreeCursor: Equatable, Sendable {
    var leaf: Int
    var run: Int
    var offset: Int
}

/// A B-tree of runs in document order (a B+-tree: runs only in the leaves),
/// counting live and total (live plus deleted) items per subtree, so that
/// "the i-th live character" and "the i-th item" are found in O(log n), and
/// an item's position is computed in O(log n) by walking up from its leaf.
///
/// Storage is struct-of-arrays with integer node indices rather than a class
/// per node: leaf `l`'s runs are `leafRuns[l * leafStride ..< l * leafStride +
/// leafRunCount[l]]`, and branch `b`'s children and their counts sit at
/// `b * branchStride ..< b * branchStride + branchChildCount[b]`. Nothing is
/// reference-counted on the hot path and the tree is a value: copying a
/// document copies a handful of arrays on first write.
///
/// The tree owns the `IDIndex`, because every time a leaf splits the runs it
/// moves must be re-indexed.
///
/// Invariants (checked by `checkInvariants`, which tests call): every branch
/// count is the sum over its child; every leaf but a lone root holds at least
/// one run; leaves are linked in document order; every item is indexed to the
/// leaf that holds it.
struct RunTree: Sendable {
    /// Runs per leaf before it splits. 32-byte runs make a leaf 2 KiB: a
    /// linear scan of one stays within L1.
    static let leafCapacity = 64
    /// Room for the two runs an insertion into the middle of a run adds
    /// before the leaf is split.
    static let leafStride = leafCapacity + 2
    static let branchCapacity = 32
    static let branchStride = branchCapacity + 1

    private(set) var leafRuns: [Run]
    private(set) var leafRunCount: [Int32]
    private(set) var leafParent: [Int32]
    private(set) var leafPrevious: [Int32]
    private(set) var leafNext: [Int32]

    private(set) var branchChildren: [Int32]
    private(set) var branchLive: [Int]
    private(set) var branchTotal: [Int]
    private(set) var branchChildCount: [Int32]
    private(set) var branchParent: [Int32]

    /// A leaf index when `height == 0`, else a branch index.
    private(set) var root: Int
    /// The number of branch levels above the leaves.
    private(set) var height: Int
    private(set) var liveCount: Int
    private(set) var totalCount: Int
    private(set) var firstLeaf: Int
    private(set) var lastLeaf: Int

    var index: IDIndex

    init() {
        leafRuns = []
        leafRunCount = []
        leafParent = []
        leafPrevious = []
        leafNext = []
        branchChildren = []
        branchLive = []
        branchTotal = []
        branchChildCount = []
        branchParent = []
        root = 0
        height = 0
        liveCount = 0
        totalCount = 0
        firstLeaf = 0
        lastLeaf = 0
        index = IDIndex()
        _ = makeLeaf()
    }

    // MARK: Node storage

    private mutating func makeLeaf() -> Int {
        let leaf = leafRunCount.count
        leafRuns.append(contentsOf: repeatElement(Run.empty, count: Self.leafStride))
        leafRunCount.append(0)
        leafParent.append(-1)
        leafPrevious.append(-1)
        leafNext.append(-1)
        return leaf
    }

    private mutating func makeBranch() -> Int {
        let branch = branchChildCount.count
        branchChildren.append(contentsOf: repeatElement(-1, count: Self.branchStride))
        branchLive.append(contentsOf: repeatElement(0, count: Self.branchStride))
        branchTotal.append(contentsOf: repeatElement(0, count: Self.branchStride))
        branchChildCount.append(0)
        branchParent.append(-1)
        return branch
    }

    var leafCount: Int { leafRunCount.count }

    func runCount(_ leaf: Int) -> Int { Int(leafRunCount[leaf]) }

    func run(_ leaf: Int, _ run: Int) -> Run { leafRuns[leaf * Self.leafStride + run] }

    mutating func setRun(_ leaf: Int, _ run: Int, _ value: Run) { leafRuns[leaf * Self.leafStride + run] = value }

    /// Changes a run's length in place and adjusts the counts above it.
    mutating func extendRun(_ leaf: Int, _ run: Int, by count: Int) {
        let slot = leaf * Self.leafStride + run
        leafRuns[slot].length += UInt32(count)
        adjustCounts(leaf: leaf, live: leafRuns[slot].isDeleted ? 0 : count, total: count)
    }

    // MARK: Counting

    /// Adds to the counts of every branch above `leaf`, and the document's.
    mutating func adjustCounts(leaf: Int, live: Int, total: Int) {
        liveCount += live
        totalCount += total
        var child = leaf
        var parent = Int(leafParent[leaf])
        while parent >= 0 {
            let slot = childSlot(of: child, in: parent)
            branchLive[slot] += live
            branchTotal[slot] += total
            child = parent
            parent = Int(branchParent[parent])
        }
    }

    /// The flat index of `child`'s entry in `parent`'s arrays.
    private func childSlot(of child: Int, in parent: Int) -> Int {
        let base = parent * Self.branchStride
        var slot = base
        while Int(branchChildren[slot]) != child { slot += 1 }
        return slot
    }

    /// The live and total counts of one leaf, summed from its runs.
    func counts(ofLeaf leaf: Int) -> (live: Int, total: Int) {
        var live = 0
        var total = 0
        let base = leaf * Self.leafStride
        for slot in base..<(base + Int(leafRunCount[leaf])) {
            let run = leafRuns[slot]
            total += Int(run.length)
            live += run.liveLength
        }
        return (live, total)
    }

    // MARK: Finding

    /// The cursor of the live item at `position` (`0 ..< liveCount`).
    func findLive(_ position: Int) -> TreeCursor {
        precondition(position >= 0 && position < liveCount, "live position \(position) outside 0..<\(liveCount)")
        var remaining = position
        var node = root
        var level = height
        while level > 0 {
            var slot = node * Self.branchStride
            while remaining >= branchLive[slot] {
                remaining -= branchLive[slot]
                slot += 1
            }
            node = Int(branchChildren[slot])
            level -= 1
        }
        let base = node * Self.leafStride
        var slot = base
        while true {
            let live = leafRuns[slot].liveLength
            if remaining < live { return TreeCursor(leaf: node, run: slot - base, offset: remaining) }
            remaining -= live
            slot += 1
        }
    }

    /// The cursor of the item at `position` (`0 ... totalCount`; `totalCount`
    /// gives the end cursor).
    func findTotal(_ position: Int) -> TreeCursor {
        precondition(position >= 0 && position <= totalCount, "position \(position) outside 0...\(totalCount)")
        if position == totalCount { return endCursor }
        var remaining = position
        var node = root
        var level = height
        while level > 0 {
            var slot = node * Self.branchStride
            while remaining >= branchTotal[slot] {
                remaining -= branchTotal[slot]
                slot += 1
            }
            node = Int(branchChildren[slot])
            level -= 1
        }
        let base = node * Self.leafStride
        var slot = base
        while true {
            let length = Int(leafRuns[slot].length)
            if remaining < length { return TreeCursor(leaf: node, run: slot - base, offset: remaining) }
            remaining -= length
            slot += 1
        }
    }

    var endCursor: TreeCursor { TreeCursor(leaf: lastLeaf, run: runCount(lastLeaf), offset: 0) }

    /// The live and total positions of the item at `cursor` (the number of
    /// live items, and of all items, before it).
    func positions(of cursor: TreeCursor) -> (live: Int, total: Int) {
        var live = 0
        var total = cursor.offset
        let base = cursor.leaf * Self.leafStride
        for slot in base..<(base + cursor.run) {
            let run = leafRuns[slot]
            total += Int(run.length)
            live += run.liveLength
        }
        if cursor.run < runCount(cursor.leaf), !leafRuns[base + cursor.run].isDeleted { live += cursor.offset }
        var child = cursor.leaf
        var parent = Int(leafParent[child])
        while parent >= 0 {
            var slot = parent * Self.branchStride
            while Int(branchChildren[slot]) != child {
                live += branchLive[slot]
                total += branchTotal[slot]
                slot += 1
            }
            child = parent
            parent = Int(branchParent[parent])
        }
        return (live, total)
    }

    /// The total position of the item at `cursor`.
    func totalPosition(of cursor: TreeCursor) -> Int { positions(of: cursor).total }

    /// The cursor of item `id`, which must exist.
    func cursor(of id: PackedItemID) -> TreeCursor {
        let agent = id.agent
        let sequence = id.sequence
        let leaf = index.leaf(agent: agent, sequence: sequence)
        let base = leaf * Self.leafStride
        for slot in base..<(base + Int(leafRunCount[leaf])) {
            let run = leafRuns[slot]
            if run.contains(agent: agent, sequence: sequence) {
                return TreeCursor(leaf: leaf, run: slot - base, offset: Int(sequence - run.sequence))
            }
        }
        preconditionFailure("item \(agent).\(sequence) is indexed to leaf \(leaf) but not in it")
    }

    /// The run before run `run` of `leaf`, possibly in an earlier leaf.
    func previousRun(leaf: Int, run: Int) -> (leaf: Int, run: Int)? {
        if run > 0 { return (leaf, run - 1) }
        var previous = Int(leafPrevious[leaf])
        while previous >= 0 {
            let count = runCount(previous)
            if count > 0 { return (previous, count - 1) }
            previous = Int(leafPrevious[previous])
        }
        return nil
    }

    /// The run after run `run` of `leaf`, possibly in a later leaf.
    func nextRun(leaf: Int, run: Int) -> (leaf: Int, run: Int)? {
        if run + 1 < runCount(leaf) { return (leaf, run + 1) }
        var next = Int(leafNext[leaf])
        while next >= 0 {
            if runCount(next) > 0 { return (next, 0) }
            next = Int(leafNext[next])
        }
        return nil
    }

    /// The item just before `cursor` (none at the document start).
    func itemBefore(_ cursor: TreeCursor) -> PackedItemID {
        if cursor.offset > 0 { return run(cursor.leaf, cursor.run).id(at: cursor.offset - 1) }
        guard let previous = previousRun(leaf: cursor.leaf, run: cursor.run) else { return .none }
        return run(previous.leaf, previous.run).lastID
    }

    /// The item at `cursor` (none at the document end).
    func itemAt(_ cursor: TreeCursor) -> PackedItemID {
        if cursor.run < runCount(cursor.leaf) { return run(cursor.leaf, cursor.run).id(at: cursor.offset) }
        guard let next = nextRun(leaf: cursor.leaf, run: cursor.run - 1) else { return .none }
        return run(next.leaf, next.run).firstID
    }

    // MARK: Changing

    /// Inserts `first`, and `second` after it, at run index `position` of
    /// `leaf`, adjusts the counts, and splits the leaf if it overflowed. When
    /// `newItems`, `first` holds items just created (indexed here); `second`
    /// is always the tail of a run split at the insertion point, whose items
    /// are already indexed to this leaf.
    mutating func insertRuns(_ first: Run, _ second: Run?, at position: Int, in leaf: Int, newItems: Bool) {
        let base = leaf * Self.leafStride
        let count = Int(leafRunCount[leaf])
        let added = second == nil ? 1 : 2
        precondition(count + added <= Self.leafStride, "leaf overflow beyond its stride")
        var slot = base + count - 1
        while slot >= base + position {
            leafRuns[slot + added] = leafRuns[slot]
            slot -= 1
        }
        leafRuns[base + position] = first
        var live = first.liveLength
        var total = Int(first.length)
        if let second {
            leafRuns[base + position + 1] = second
            live += second.liveLength
            total += Int(second.length)
        }
        leafRunCount[leaf] += Int32(added)
        if newItems {
            index.assign(
                agent: first.agent, sequence: first.sequence, count: first.length, leaf: leaf,
                existingEnd: first.sequence)
        }
        adjustCounts(leaf: leaf, live: live, total: total)
        if count + added > Self.leafCapacity { splitLeaf(leaf) }
    }

    /// Replaces run `position` of `leaf` by two or three runs that partition
    /// its items (differing only in deletion state), adjusting the live
    /// counts by `liveChange`. The items stay in this leaf unless it splits.
    mutating func replaceRun(at position: Int, in leaf: Int, with first: Run, _ second: Run, _ third: Run?, liveChange: Int) {
        let base = leaf * Self.leafStride
        let count = Int(leafRunCount[leaf])
        let added = third == nil ? 1 : 2
        precondition(count + added <= Self.leafStride, "leaf overflow beyond its stride")
        var slot = base + count - 1
        while slot > base + position {
            leafRuns[slot + added] = leafRuns[slot]
            slot -= 1
        }
        leafRuns[base + position] = first
        leafRuns[base + position + 1] = second
        if let third { leafRuns[base + position + 2] = third }
        leafRunCount[leaf] += Int32(added)
        adjustCounts(leaf: leaf, live: liveChange, total: 0)
        if count + added > Self.leafCapacity { splitLeaf(leaf) }
    }

    /// Sets the deletion state of a whole run, adjusting the live counts.
    mutating func setDeleted(_ isDeleted: Bool, leaf: Int, run position: Int) {
        let slot = leaf * Self.leafStride + position
        let before = leafRuns[slot].liveLength
        leafRuns[slot].isDeleted = isDeleted
        adjustCounts(leaf: leaf, live: leafRuns[slot].liveLength - before, total: 0)
    }

    /// Merges run `position` of `leaf` into run `position - 1` when the first
    /// continues the second. Returns whether it did.
    @discardableResult
    mutating func mergeWithPrevious(at position: Int, in leaf: Int) -> Bool {
        guard position > 0, position < runCount(leaf) else { return false }
        let base = leaf * Self.leafStride
        let previous = leafRuns[base + position - 1]
        let current = leafRuns[base + position]
        guard previous.isContinued(by: current, sameDeletion: true) else { return false }
        leafRuns[base + position - 1].length += current.length
        let count = Int(leafRunCount[leaf])
        for slot in (base + position)..<(base + count - 1) { leafRuns[slot] = leafRuns[slot + 1] }
        leafRunCount[leaf] -= 1
        return true
    }

    /// Moves the upper half of an overflowing leaf to a new leaf after it.
    private mutating func splitLeaf(_ leaf: Int) {
        let count = Int(leafRunCount[leaf])
        let kept = count / 2
        let moved = count - kept
        let sibling = makeLeaf()
        let source = leaf * Self.leafStride
        let target = sibling * Self.leafStride
        var movedLive = 0
        var movedTotal = 0
        for offset in 0..<moved {
            let run = leafRuns[source + kept + offset]
            leafRuns[target + offset] = run
            movedLive += run.liveLength
            movedTotal += Int(run.length)
        }
        leafRunCount[leaf] = Int32(kept)
        leafRunCount[sibling] = Int32(moved)
        for offset in 0..<moved {
            let run = leafRuns[target + offset]
            index.assign(
                agent: run.agent, sequence: run.sequence, count: run.length, leaf: sibling, existingEnd: .max)
        }
        let next = Int(leafNext[leaf])
        leafPrevious[sibling] = Int32(leaf)
        leafNext[sibling] = Int32(next)
        leafNext[leaf] = Int32(sibling)
        if next >= 0 { leafPrevious[next] = Int32(sibling) } else { lastLeaf = sibling }
        insertSibling(sibling, after: leaf, level: 0, live: movedLive, total: movedTotal)
    }

    /// Hooks `sibling` into the tree right after `node` (both at `level`, 0
    /// for leaves), moving `live`/`total` of `node`'s counts to it.
    private mutating func insertSibling(_ sibling: Int, after node: Int, level: Int, live: Int, total: Int) {
        let parent = level == 0 ? Int(leafParent[node]) : Int(branchParent[node])
        if parent < 0 {
            // The root split: grow a level.
            let newRoot = makeBranch()
            let base = newRoot * Self.branchStride
            branchChildren[base] = Int32(node)
            branchLive[base] = liveCount - live
            branchTotal[base] = totalCount - total
            branchChildren[base + 1] = Int32(sibling)
            branchLive[base + 1] = live
            branchTotal[base + 1] = total
            branchChildCount[newRoot] = 2
            setParent(of: node, level: level, to: newRoot)
            setParent(of: sibling, level: level, to: newRoot)
            root = newRoot
            height += 1
            return
        }
        let slot = childSlot(of: node, in: parent)
        branchLive[slot] -= live
        branchTotal[slot] -= total
        let base = parent * Self.branchStride
        let end = base + Int(branchChildCount[parent])
        var moving = end - 1
        while moving > slot {
            branchChildren[moving + 1] = branchChildren[moving]
            branchLive[moving + 1] = branchLive[moving]
            branchTotal[moving + 1] = branchTotal[moving]
            moving -= 1
        }
        branchChildren[slot + 1] = Int32(sibling)
        branchLive[slot + 1] = live
        branchTotal[slot + 1] = total
        branchChildCount[parent] += 1
        setParent(of: sibling, level: level, to: parent)
        if Int(branchChildCount[parent]) > Self.branchCapacity { splitBranch(parent, level: level + 1) }
    }

    private mutating func setParent(of node: Int, level: Int, to parent: Int) {
        if level == 0 { leafParent[node] = Int32(parent) } else { branchParent[node] = Int32(parent) }
    }

    private mutating func splitBranch(_ branch: Int, level: Int) {
        let count = Int(branchChildCount[branch])
        let kept = count / 2
        let moved = count - kept
        let sibling = makeBranch()
        let source = branch * Self.branchStride
        let target = sibling * Self.branchStride
        var movedLive = 0
        var movedTotal = 0
        for offset in 0..<moved {
            let child = Int(branchChildren[source + kept + offset])
            branchChildren[target + offset] = Int32(child)
            branchLive[target + offset] = branchLive[source + kept + offset]
            branchTotal[target + offset] = branchTotal[source + kept + offset]
            movedLive += branchLive[target + offset]
            movedTotal += branchTotal[target + offset]
            setParent(of: child, level: level - 1, to: sibling)
        }
        branchChildCount[branch] = Int32(kept)
        branchChildCount[sibling] = Int32(moved)
        insertSibling(sibling, after: branch, level: level, live: movedLive, total: movedTotal)
    }

    // MARK: Measuring

    /// Bytes held by the tree's arrays (capacity, not just count) and by
    /// the identifier index.
    var storageBytes: (tree: Int, index: Int) {
        let tree = leafRuns.capacity * MemoryLayout<Run>.stride
            + (leafRunCount.capacity + leafParent.capacity + leafPrevious.capacity + leafNext.capacity) * 4
            + (branchChildren.capacity + branchChildCount.capacity + branchParent.capacity) * 4
            + (branchLive.capacity + branchTotal.capacity) * 8
        return (tree, index.storageBytes)
    }

    // MARK: Checking

    /// Verifies every structural invariant; O(n). For tests and debugging.
    func checkInvariants(knownCounts: [UInt32]) {
        var leaf = firstLeaf
        var previous = -1
        var live = 0
        var total = 0
        var seenLeaves = 0
        while leaf >= 0 {
            precondition(Int(leafPrevious[leaf]) == previous, "leaf links broken at \(leaf)")
            precondition(runCount(leaf) > 0 || (leafCount == 1), "empty leaf \(leaf)")
            precondition(runCount(leaf) <= Self.leafCapacity, "leaf \(leaf) over capacity")
            for position in 0..<runCount(leaf) {
                let run = run(leaf, position)
                precondition(run.length > 0, "empty run in leaf \(leaf)")
                precondition(
                    UInt64(run.sequence) + UInt64(run.length) <= UInt64(knownCounts[Int(run.agent)]),
                    "run beyond its agent's known items")
                for offset in [0, Int(run.length) - 1] {
                    precondition(
                        index.leaf(agent: run.agent, sequence: run.sequence + UInt32(offset)) == leaf,
                        "item \(run.agent).\(run.sequence + UInt32(offset)) indexed to the wrong leaf")
                }
            }
            let counts = counts(ofLeaf: leaf)
            live += counts.live
            total += counts.total
            seenLeaves += 1
            previous = leaf
            leaf = Int(leafNext[leaf])
        }
        precondition(previous == lastLeaf, "last leaf mismatch")
        precondition(seenLeaves == leafCount, "unlinked leaves")
        precondition(live == liveCount && total == totalCount, "document counts mismatch")
        if height > 0 { _ = checkBranch(root, level: height, parent: -1) }
    }

    private func checkBranch(_ node: Int, level: Int, parent: Int) -> (live: Int, total: Int) {
        if level == 0 {
            precondition(Int(leafParent[node]) == parent, "leaf parent mismatch")
            return counts(ofLeaf: node)
        }
        precondition(Int(branchParent[node]) == parent, "branch parent mismatch")
        precondition(branchChildCount[node] >= 1 && Int(branchChildCount[node]) <= Self.branchCapacity, "branch size")
        var live = 0
        var total = 0
        let base = node * Self.branchStride
        for slot in base..<(base + Int(branchChildCount[node])) {
            let child = checkBranch(Int(branchChildren[slot]), level: level - 1, parent: node)
            precondition(child.live == branchLive[slot] && child.total == branchTotal[slot], "branch count mismatch")
            live += child.live
            total += child.total
        }
        return (live, total)
    }
}
