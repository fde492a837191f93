import ChorusClocks

/// The one form a replica keeps its waiting changes in.
///
/// Changes that cannot be integrated yet wait in `ReplicatedText.pending`,
/// and the same change may arrive many times (a delta redelivered, a state
/// merged twice, a peer's pending changes forwarded). So that waiting changes
/// neither pile up nor make equal states compare unequal, they are kept
/// canonical:
/// - each item appears in at most one waiting insertion (the first copy
///   wins; a copy that says the item is deleted still counts as its deletion);
/// - a waiting deletion of a waiting item is folded into the insertion, which
///   then travels deleted and without content;
/// - insertions are ordered by replica, then sequence, and coalesced where one
///   continues another; deletions are sorted and merged.
/// Two replicas that hold the same waiting items in any arrival order and
/// multiplicity therefore encode them identically, and their size is bounded
/// by the number of distinct items waiting.
extension TextDelta {
    /// `waiting` must be grouped by replica in increasing order, each group
    /// sorted by sequence; `contentStart` locates a live insertion's scalars
    /// in `content`.
    static func canonicalPending(
        _ waiting: [(insertion: Insertion, contentStart: Int)], content: [UInt32], deletions: [Deletion]
    ) -> TextDelta {
        // 1. Drop copies: keep each item from its first insertion.
        var unique: [(insertion: Insertion, contentStart: Int)] = []
        var deleted = deletions
        var coveredReplica: ReplicaID?
        var coveredEnd: UInt32 = 0
        for (insertion, start) in waiting {
            let end = insertion.sequence &+ insertion.length
            if coveredReplica != insertion.replica {
                coveredReplica = insertion.replica
                coveredEnd = 0
            }
            guard end > coveredEnd else {
                if insertion.isDeleted { deleted.append(Deletion(replica: insertion.replica, sequence: insertion.sequence, count: insertion.length)) }
                continue
            }
            var piece = insertion
            var pieceStart = start
            if insertion.sequence < coveredEnd {
                let skip = coveredEnd - insertion.sequence
                if insertion.isDeleted { deleted.append(Deletion(replica: insertion.replica, sequence: insertion.sequence, count: skip)) }
                piece.sequence = coveredEnd
                piece.length -= skip
                piece.originLeft = TextItemID(replica: insertion.replica, sequence: coveredEnd - 1)
                if !insertion.isDeleted { pieceStart += Int(skip) }
            }
            unique.append((piece, pieceStart))
            coveredEnd = end
        }

        // 2. Fold deletions of waiting items into their insertions.
        let ranges = normalized(deleted)
        var result = TextDelta()
        var folded: [Deletion] = []  // the parts of `ranges` that fell on waiting items
        var cursor = 0  // the first range that does not end before the current insertion
        for (insertion, start) in unique {
            let end = insertion.sequence &+ insertion.length
            while cursor < ranges.count,
                (ranges[cursor].replica, UInt64(ranges[cursor].sequence) + UInt64(ranges[cursor].count))
                    <= (insertion.replica, UInt64(insertion.sequence))
            {
                cursor += 1
            }
            var overlaps: [(start: UInt32, end: UInt32)] = []
            var index = cursor
            while index < ranges.count, ranges[index].replica == insertion.replica, ranges[index].sequence < end {
                let overlapStart = Swift.max(ranges[index].sequence, insertion.sequence)
                let overlapEnd = Swift.min(ranges[index].sequence &+ ranges[index].count, end)
                if overlapEnd > overlapStart { overlaps.append((overlapStart, overlapEnd)) }
                index += 1
            }
            for overlap in overlaps {
                folded.append(Deletion(replica: insertion.replica, sequence: overlap.start, count: overlap.end - overlap.start))
            }
            func emit(_ from: UInt32, _ to: UInt32, deleted: Bool) {
                guard to > from else { return }
                var segment = insertion
                segment.sequence = from
                segment.length = to - from
                segment.isDeleted = deleted
                if from > insertion.sequence { segment.originLeft = TextItemID(replica: insertion.replica, sequence: from - 1) }
                if deleted {
                    result.appendInsertion(segment, content: nil)
                } else {
                    let offset = start + Int(from - insertion.sequence)
                    content.withUnsafeBufferPointer { scalars in
                        result.appendInsertion(segment, content: UnsafeBufferPointer(rebasing: scalars[offset..<(offset + Int(segment.length))]))
                    }
                }
            }
            if insertion.isDeleted {
                emit(insertion.sequence, end, deleted: true)
                continue
            }
            var sequence = insertion.sequence
            for overlap in overlaps {
                emit(sequence, overlap.start, deleted: false)
                emit(overlap.start, overlap.end, deleted: true)
                sequence = overlap.end
            }
            emit(sequence, end, deleted: false)
        }

        // 3. What remains of the deletions: the ranges minus what was folded.
        result.deletions = subtracting(normalized(folded), from: ranges)
        return result
    }

    /// `ranges` without the items in `removed`; both sorted and merged.
    private static func subtracting(_ removed: [Deletion], from ranges: [Deletion]) -> [Deletion] {
        var remaining: [Deletion] = []
        var index = 0
        for range in ranges {
            var sequence = range.sequence
            let end = range.sequence &+ range.count
            while index < removed.count,
                (removed[index].replica, UInt64(removed[index].sequence) + UInt64(removed[index].count))
                    <= (range.replica, UInt64(sequence))
            {
                index += 1
            }
            var probe = index
            while sequence < end {
                if probe < removed.count, removed[probe].replica == range.replica, removed[probe].sequence < end {
                    let cut = removed[probe]
                    if cut.sequence > sequence {
                        remaining.append(Deletion(replica: range.replica, sequence: sequence, count: cut.sequence - sequence))
                    }
                    sequence = Swift.max(sequence, cut.sequence &+ cut.count)
                    probe += 1
                } else {
                    remaining.append(Deletion(replica: range.replica, sequence: sequence, count: end - sequence))
                    sequence = end
                }
            }
        }
        return remaining
    }
}
