import ChorusClocks
import ChorusCore

/// Remote changes: producing deltas, integrating them, merging states.
extension ReplicatedText {
    /// Everything this copy holds that a copy at `version` lacks: the items
    /// after `version` (in document order, deleted ones without content),
    /// and every deletion this copy knows of, plus anything still pending.
    public func delta(since version: VersionVector) -> TextDelta {
        var delta = integratedDelta(since: version, includingDeletions: true)
        delta.append(pending)
        return delta
    }

    /// The integrated items after `version` in document order, and, when
    /// asked, every deleted range as a deletion too.
    func integratedDelta(since version: VersionVector, includingDeletions: Bool) -> TextDelta {
        var delta = TextDelta()
        var liveOffset = 0
        var leaf = tree.firstLeaf
        let sinceCounts = replicas.map { UInt32(clamping: version[$0]) }
        while leaf >= 0 {
            for position in 0..<tree.runCount(leaf) {
                let run = tree.run(leaf, position)
                let since = sinceCounts[Int(run.agent)]
                if run.isDeleted && includingDeletions {
                    delta.appendDeletion(
                        TextDelta.Deletion(replica: replicas[Int(run.agent)], sequence: run.sequence, count: run.length))
                }
                if run.sequence &+ run.length > since {
                    let skip = since > run.sequence ? Int(since - run.sequence) : 0
                    let piece = skip > 0 ? run.suffix(from: skip) : run
                    let insertion = TextDelta.Insertion(
                        replica: replicas[Int(piece.agent)], sequence: piece.sequence, length: piece.length,
                        isDeleted: piece.isDeleted, originLeft: publicID(piece.originLeft),
                        originRight: publicID(piece.originRight))
                    if piece.isDeleted {
                        delta.appendInsertion(insertion, content: nil)
                    } else {
                        let start = liveOffset + skip
                        text.withPieces(of: start..<(start + Int(piece.length))) { scalars in
                            delta.content.append(contentsOf: scalars)
                        }
                        delta.appendInsertion(insertion, content: nil)
                    }
                }
                liveOffset += run.liveLength
            }
            leaf = Int(tree.leafNext[leaf])
        }
        // Deletions are per run in document order; the encoder sorts and
        // merges them.
        return delta
    }

    /// The state-based join: afterwards this copy holds everything either held.
    public mutating func merge(_ other: ReplicatedText) {
        apply(other.delta(since: version))
    }

    /// Integrates a delta: insertions whose origins and predecessors are
    /// present, deletions of items present. The rest waits in `pending` and
    /// is retried on every later `apply`, so deltas may arrive in any order
    /// and more than once.
    public mutating func apply(_ delta: TextDelta) {
        var work = pending
        work.append(delta)
        pending = TextDelta()
        integrate(work, placingText: true)
    }

    /// Integrates what it can of `work` and leaves the rest in `pending`.
    /// Without `placingText` only the structure is built and `text` is left
    /// behind (for loading, which then sets the whole text at once).
    mutating func integrate(_ work: TextDelta, placingText: Bool) {
        // Content offsets of the live insertions.
        var contentStart: [Int] = []
        contentStart.reserveCapacity(work.insertions.count)
        var offset = 0
        for insertion in work.insertions {
            contentStart.append(offset)
            if !insertion.isDeleted { offset += Int(insertion.length) }
        }
        // Recording, `delta(since:)`, `append` and decoding (which checks it)
        // all keep content and live insertions in step.
        precondition(offset == work.content.count, "delta content does not match its live insertions")
        // Per replica, its insertions in sequence order: a replica's items
        // are integrated in the order it created them, and the queues are
        // drained round-robin until no head can be integrated.
        var queues: [ReplicaID: [Int]] = [:]
        for (position, insertion) in work.insertions.enumerated() { queues[insertion.replica, default: []].append(position) }
        let order = Array(queues.keys).sorted()
        var heads = [Int](repeating: 0, count: order.count)
        let lists = order.map { replica in queues[replica]!.sorted { work.insertions[$0].sequence < work.insertions[$1].sequence } }
        var progress = true
        while progress {
            progress = false
            for queue in order.indices {
                while heads[queue] < lists[queue].count {
                    let position = lists[queue][heads[queue]]
                    switch integrateInsertion(
                        work.insertions[position], content: work.content, from: contentStart[position], placingText: placingText)
                    {
                    case .integrated, .duplicate:
                        heads[queue] += 1
                        progress = true
                        continue
                    case .waiting:
                        break
                    }
                    break
                }
            }
        }
        var waiting: [(insertion: TextDelta.Insertion, contentStart: Int)] = []
        for queue in order.indices {
            for position in lists[queue][heads[queue]...] {
                waiting.append((work.insertions[position], contentStart[position]))
            }
        }
        var missing: [TextDelta.Deletion] = []
        for deletion in work.deletions {
            if let part = applyDeletion(deletion) { missing.append(part) }
        }
        pending = TextDelta.canonicalPending(waiting, content: work.content, deletions: missing)
    }

    private enum IntegrationOutcome { case integrated, duplicate, waiting }

    /// Integrates one insertion if its predecessor items and origins are here.
    private mutating func integrateInsertion(
        _ insertion: TextDelta.Insertion, content: [UInt32], from contentOffset: Int, placingText: Bool
    ) -> IntegrationOutcome {
        // A malformed insertion (only constructible by hand) is dropped.
        guard insertion.length > 0,
            UInt64(insertion.sequence) + UInt64(insertion.length) <= UInt64(TextLimits.maximumItemsPerReplica)
        else { return .duplicate }
        guard let agent = try? agent(for: insertion.replica) else { return .waiting }
        let known = knownCounts[Int(agent)]
        let end = insertion.sequence &+ insertion.length
        if end <= known {
            // Already here; a deleted copy still carries its deletion.
            if insertion.isDeleted {
                _ = applyDeletion(TextDelta.Deletion(replica: insertion.replica, sequence: insertion.sequence, count: insertion.length))
            }
            return .duplicate
        }
        if insertion.sequence > known { return .waiting }
        // Trim a prefix already held.
        let skip = Int(known - insertion.sequence)
        let originLeft: PackedItemID?
        if skip > 0 {
            originLeft = PackedItemID(agent: agent, sequence: known - 1)
            if insertion.isDeleted {
                _ = applyDeletion(TextDelta.Deletion(replica: insertion.replica, sequence: insertion.sequence, count: UInt32(skip)))
            }
        } else {
            originLeft = packedID(insertion.originLeft)
        }
        guard let originLeft, let originRight = packedID(insertion.originRight) else { return .waiting }
        let run = Run(
            agent: agent, sequence: known, length: end - known, isDeleted: insertion.isDeleted, originLeft: originLeft,
            originRight: originRight)
        content.withUnsafeBufferPointer { buffer in
            let scalars = insertion.isDeleted
                ? UnsafeBufferPointer<UInt32>(start: nil, count: 0)
                : UnsafeBufferPointer(rebasing: buffer[(contentOffset + skip)..<(contentOffset + Int(insertion.length))])
            integrateRemote(run, content: scalars, placingText: placingText)
        }
        return .integrated
    }

    /// Places a remote run by the YjsMod rule (see the type's documentation)
    /// and inserts its content.
    mutating func integrateRemote(_ run: Run, content: UnsafeBufferPointer<UInt32>, placingText: Bool) {
        let leftPosition = run.originLeft == .none ? -1 : tree.totalPosition(of: tree.cursor(of: run.originLeft))
        let rightPosition = run.originRight == .none ? tree.totalCount : tree.totalPosition(of: tree.cursor(of: run.originRight))
        var destination = leftPosition + 1
        if destination != rightPosition {
            destination = conflictDestination(leftPosition: leftPosition, rightPosition: rightPosition, replica: replicas[Int(run.agent)])
        }
        let cursor = tree.findTotal(destination)
        let liveOffset = tree.positions(of: cursor).live
        place(run, at: cursor)
        knownCounts[Int(run.agent)] = run.sequence + run.length
        if placingText && !run.isDeleted { text.insert(content, at: liveOffset) }
    }

    /// The YjsMod scan over the items between the origins, for a new item by
    /// `replica`. Items inside a run after its first have their predecessor
    /// as left origin, so a run whose first item is skipped is skipped whole.
    private func conflictDestination(leftPosition: Int, rightPosition: Int, replica: ReplicaID) -> Int {
        var scanning = false
        var destination = leftPosition + 1
        var position = leftPosition + 1
        var cursor = tree.findTotal(position)
        func advance(by count: Int) {
            position += count
            cursor.offset += count
            if cursor.offset == Int(tree.run(cursor.leaf, cursor.run).length) {
                if let next = tree.nextRun(leaf: cursor.leaf, run: cursor.run) {
                    cursor = TreeCursor(leaf: next.leaf, run: next.run, offset: 0)
                } else {
                    cursor = tree.endCursor
                }
            }
        }
        while true {
            if !scanning { destination = position }
            if position == tree.totalCount || position == rightPosition { break }
            let other = tree.run(cursor.leaf, cursor.run)
            let otherLeft: Int
            if cursor.offset > 0 {
                otherLeft = position - 1
            } else {
                otherLeft = other.originLeft == .none ? -1 : tree.totalPosition(of: tree.cursor(of: other.originLeft))
            }
            if otherLeft < leftPosition { break }
            if otherLeft == leftPosition {
                let otherRight = other.originRight == .none
                    ? tree.totalCount : tree.totalPosition(of: tree.cursor(of: other.originRight))
                if otherRight < rightPosition {
                    scanning = true
                } else if otherRight == rightPosition {
                    if replica < replicas[Int(other.agent)] { break }
                    scanning = false
                } else {
                    scanning = false
                }
                advance(by: 1)
            } else {
                // Skip the rest of this run, stopping at the right origin.
                let rest = Int(other.length) - cursor.offset
                let limit = rightPosition > position ? rightPosition - position : rest
                advance(by: Swift.min(rest, limit))
            }
        }
        return destination
    }

    /// Deletes the held part of `deletion`; returns the part not yet held.
    private mutating func applyDeletion(_ deletion: TextDelta.Deletion) -> TextDelta.Deletion? {
        guard UInt64(deletion.sequence) + UInt64(deletion.count) <= UInt64(TextLimits.maximumItemsPerReplica) else {
            return nil
        }
        guard let agent = agents[deletion.replica] else { return deletion }
        let known = knownCounts[Int(agent)]
        var sequence = deletion.sequence
        let end = deletion.sequence &+ deletion.count
        let heldEnd = Swift.min(end, known)
        while sequence < heldEnd {
            let cursor = tree.cursor(of: PackedItemID(agent: agent, sequence: sequence))
            let run = tree.run(cursor.leaf, cursor.run)
            let count = Swift.min(Int(heldEnd - sequence), Int(run.length) - cursor.offset)
            if !run.isDeleted {
                let liveOffset = tree.positions(of: cursor).live
                markDeleted(at: cursor, count: count)
                text.remove(liveOffset..<(liveOffset + count))
            }
            sequence += UInt32(count)
        }
        if end > known {
            let start = Swift.max(deletion.sequence, known)
            return TextDelta.Deletion(replica: deletion.replica, sequence: start, count: end - start)
        }
        return nil
    }
}
