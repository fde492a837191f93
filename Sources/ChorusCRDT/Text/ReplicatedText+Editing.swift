import ChorusClocks
import ChorusCore

/// Local edits: insertion and deletion at Unicode scalar offsets.
extension ReplicatedText {
    /// Inserts `string` so that its first scalar ends up at `offset`.
    public mutating func insert(_ string: String, at offset: Int, by replica: ReplicaID) throws(TextEditError) {
        let scalars = string.unicodeScalars.map(\.value)
        try scalars.withUnsafeBufferPointer { buffer throws(TextEditError) in
            try insertScalars(buffer, at: offset, agent: agent(for: replica), recording: nil)
        }
    }

    /// Inserts `scalars` so that the first ends up at `offset`.
    public mutating func insert<Scalars: Collection>(
        contentsOf scalars: Scalars, at offset: Int, by replica: ReplicaID
    ) throws(TextEditError) where Scalars.Element == Unicode.Scalar {
        let values = scalars.map(\.value)
        try values.withUnsafeBufferPointer { buffer throws(TextEditError) in
            try insertScalars(buffer, at: offset, agent: agent(for: replica), recording: nil)
        }
    }

    /// Inserts scalar values that the caller guarantees are valid Unicode
    /// scalars (as `Unicode.Scalar.value` produces): the allocation-free entry
    /// point for replaying traces.
    public mutating func insert(
        scalarValues: UnsafeBufferPointer<UInt32>, at offset: Int, by replica: ReplicaID
    ) throws(TextEditError) {
        precondition(scalarValues.allSatisfy { Unicode.Scalar($0) != nil }, "invalid Unicode scalar value")
        try insertScalars(scalarValues, at: offset, agent: agent(for: replica), recording: nil)
    }

    /// `insert(scalarValues:at:by:)`, appending the insertion to `delta`.
    public mutating func insert(
        scalarValues: UnsafeBufferPointer<UInt32>, at offset: Int, by replica: ReplicaID,
        recordingInto delta: inout TextDelta
    ) throws(TextEditError) {
        precondition(scalarValues.allSatisfy { Unicode.Scalar($0) != nil }, "invalid Unicode scalar value")
        try insertScalars(scalarValues, at: offset, agent: agent(for: replica), recording: &delta)
    }

    /// Inserts `string` at `offset` and appends the insertion to `delta`, for
    /// sending to other replicas.
    public mutating func insert(
        _ string: String, at offset: Int, by replica: ReplicaID, recordingInto delta: inout TextDelta
    ) throws(TextEditError) {
        let scalars = string.unicodeScalars.map(\.value)
        let agent = try agent(for: replica)
        try withUnsafeMutablePointer(to: &delta) { recording throws(TextEditError) in
            try scalars.withUnsafeBufferPointer { buffer throws(TextEditError) in
                try insertScalars(buffer, at: offset, agent: agent, recording: recording)
            }
        }
    }

    /// Deletes the scalars in `range`.
    public mutating func delete(_ range: Range<Int>) throws(TextEditError) {
        try deleteRange(range, recording: nil)
    }

    /// Deletes the scalars in `range` and appends the deletion to `delta`.
    public mutating func delete(_ range: Range<Int>, recordingInto delta: inout TextDelta) throws(TextEditError) {
        try deleteRange(range, recording: &delta)
    }

    /// Replaces the scalars in `range` by `string`, as one edit of `replica`.
    public mutating func replace(_ range: Range<Int>, with string: String, by replica: ReplicaID) throws(TextEditError) {
        try delete(range)
        try insert(string, at: range.lowerBound, by: replica)
    }

    // MARK: Core

    mutating func insertScalars(
        _ scalars: UnsafeBufferPointer<UInt32>, at offset: Int, agent: UInt32, recording: UnsafeMutablePointer<TextDelta>?
    ) throws(TextEditError) {
        guard offset >= 0 && offset <= tree.liveCount else {
            throw TextEditError.offsetOutOfBounds(offset: offset, count: tree.liveCount)
        }
        if scalars.isEmpty { return }
        let sequence = knownCounts[Int(agent)]
        guard UInt64(sequence) + UInt64(scalars.count) <= UInt64(TextLimits.maximumItemsPerReplica) else {
            throw TextEditError.sequenceExhausted(replicas[Int(agent)])
        }
        let length = UInt32(scalars.count)
        // Insert right before the live item at `offset` (after any tombstones
        // before it), or at the very end.
        let cursor = offset == tree.liveCount ? tree.endCursor : tree.findLive(offset)
        let originLeft = tree.itemBefore(cursor)
        let originRight = tree.itemAt(cursor)
        let run = Run(
            agent: agent, sequence: sequence, length: length, isDeleted: false, originLeft: originLeft,
            originRight: originRight)
        place(run, at: cursor)
        knownCounts[Int(agent)] = sequence + length
        text.insert(scalars, at: offset)
        recording?.pointee.appendInsertion(
            TextDelta.Insertion(
                replica: replicas[Int(agent)], sequence: sequence, length: length, isDeleted: false,
                originLeft: publicID(originLeft), originRight: publicID(originRight)),
            content: scalars)
    }

    /// Puts a run of new items in front of the item at `cursor` (or at the
    /// end), extending the previous run when the new one continues it: the
    /// common case of typing, which then costs no new run at all.
    mutating func place(_ run: Run, at cursor: TreeCursor) {
        if cursor.offset == 0 {
            if let previous = tree.previousRun(leaf: cursor.leaf, run: cursor.run) {
                let before = tree.run(previous.leaf, previous.run)
                if before.isContinued(by: run, sameDeletion: true) {
                    tree.extendRun(previous.leaf, previous.run, by: Int(run.length))
                    tree.index.assign(
                        agent: run.agent, sequence: run.sequence, count: run.length, leaf: previous.leaf,
                        existingEnd: run.sequence)
                    return
                }
            }
            tree.insertRuns(run, nil, at: cursor.run, in: cursor.leaf, newItems: true)
        } else {
            let split = tree.run(cursor.leaf, cursor.run)
            tree.setRun(cursor.leaf, cursor.run, split.prefix(cursor.offset))
            // `insertRuns` counts both runs it inserts; the suffix's items were
            // just taken out of the prefix without adjusting, so uncount them.
            tree.adjustCounts(
                leaf: cursor.leaf, live: -split.suffix(from: cursor.offset).liveLength,
                total: -(Int(split.length) - cursor.offset))
            tree.insertRuns(run, split.suffix(from: cursor.offset), at: cursor.run + 1, in: cursor.leaf, newItems: true)
        }
    }

    mutating func deleteRange(_ range: Range<Int>, recording: UnsafeMutablePointer<TextDelta>?) throws(TextEditError) {
        guard range.lowerBound >= 0 && range.upperBound <= tree.liveCount else {
            throw TextEditError.rangeOutOfBounds(lower: range.lowerBound, upper: range.upperBound, count: tree.liveCount)
        }
        var remaining = range.count
        while remaining > 0 {
            // The items before `range.lowerBound` are untouched, so the next
            // live item to delete is always the one at that offset.
            let cursor = tree.findLive(range.lowerBound)
            let run = tree.run(cursor.leaf, cursor.run)
            let count = Swift.min(remaining, Int(run.length) - cursor.offset)
            recording?.pointee.appendDeletion(
                TextDelta.Deletion(
                    replica: replicas[Int(run.agent)], sequence: run.sequence + UInt32(cursor.offset),
                    count: UInt32(count)))
            markDeleted(at: cursor, count: count)
            remaining -= count
        }
        text.remove(range)
    }

    /// Marks `count` live items from `cursor` (all in one live run) deleted,
    /// splitting the run and merging the deleted part into a neighbouring
    /// tombstone run when it continues one (consecutive backspaces make one
    /// tombstone run, not one per keystroke).
    mutating func markDeleted(at cursor: TreeCursor, count: Int) {
        let run = tree.run(cursor.leaf, cursor.run)
        precondition(!run.isDeleted && cursor.offset + count <= Int(run.length), "deleting outside a live run")
        let leaf = cursor.leaf
        let position = cursor.run
        let length = Int(run.length)
        if cursor.offset == 0 && count == length {
            tree.setDeleted(true, leaf: leaf, run: position)
            tree.mergeWithPrevious(at: position + 1, in: leaf)
            tree.mergeWithPrevious(at: position, in: leaf)
            return
        }
        if cursor.offset == 0 {
            var deleted = run.prefix(count)
            deleted.isDeleted = true
            let rest = run.suffix(from: count)
            if position > 0, tree.run(leaf, position - 1).isContinued(by: deleted, sameDeletion: true) {
                var previous = tree.run(leaf, position - 1)
                previous.length += UInt32(count)
                tree.setRun(leaf, position - 1, previous)
                tree.setRun(leaf, position, rest)
                tree.adjustCounts(leaf: leaf, live: -count, total: 0)
            } else {
                tree.replaceRun(at: position, in: leaf, with: deleted, rest, nil, liveChange: -count)
            }
            return
        }
        let kept = run.prefix(cursor.offset)
        var deleted = run.suffix(from: cursor.offset)
        deleted.isDeleted = true
        if cursor.offset + count == length {
            if position + 1 < tree.runCount(leaf), deleted.isContinued(by: tree.run(leaf, position + 1), sameDeletion: true) {
                deleted.length += tree.run(leaf, position + 1).length
                tree.setRun(leaf, position, kept)
                tree.setRun(leaf, position + 1, deleted)
                tree.adjustCounts(leaf: leaf, live: -count, total: 0)
            } else {
                tree.replaceRun(at: position, in: leaf, with: kept, deleted, nil, liveChange: -count)
            }
            return
        }
        let rest = run.suffix(from: cursor.offset + count)
        deleted.length = UInt32(count)
        tree.replaceRun(at: position, in: leaf, with: kept, deleted, rest, liveChange: -count)
    }
}
