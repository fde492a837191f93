/// The internal, dense form of an item identifier: the replica's index in the
/// document's replica table in the high 32 bits, the item's sequence number
/// in the low 32. `PackedItemID.none` stands for "no item": the start of the
/// document as a left origin, its end as a right origin.
typealias PackedItemID = UInt64

extension PackedItemID {
    static let none: PackedItemID = .max

    init(agent: UInt32, sequence: UInt32) {
        self = UInt64(agent) << 32 | UInt64(sequence)
    }

    var agent: UInt32 { UInt32(truncatingIfNeeded: self >> 32) }
    var sequence: UInt32 { UInt32(truncatingIfNeeded: self) }
}

/// A run: consecutive items, all inserted by one replica with consecutive
/// sequence numbers, placed next to each other in the document, each one's
/// left origin the item before it, all with the same right origin, and all
/// live or all deleted.
///
/// Typing produces exactly this shape: each keystroke's left origin is the
/// previous keystroke and its right origin is whatever the cursor was in
/// front of. Storing 32 bytes per run rather than per character is the
/// run-length encoding that keeps the tree small (the automerge-paper trace's
/// 182,315 inserted characters end up in 11,010 runs, 17 characters a run).
struct Run: Equatable, Sendable {
    /// The inserting replica's index in the document's replica table.
    var agent: UInt32
    /// The sequence number of the first item.
    var sequence: UInt32
    /// The number of items, at least 1.
    var length: UInt32
    /// Whether every item of the run is deleted (a tombstone run).
    var isDeleted: Bool
    /// The left origin of the first item; the others' is their predecessor.
    var originLeft: PackedItemID
    /// The right origin of every item.
    var originRight: PackedItemID

    init(
        agent: UInt32, sequence: UInt32, length: UInt32, isDeleted: Bool, originLeft: PackedItemID,
        originRight: PackedItemID
    ) {
        self.agent = agent
        self.sequence = sequence
        self.length = length
        self.isDeleted = isDeleted
        self.originLeft = originLeft
        self.originRight = originRight
    }

    static let empty = Run(
        agent: 0, sequence: 0, length: 0, isDeleted: false, originLeft: .none, originRight: .none)

    /// The number of live items: the run's length, or 0 for a tombstone run.
    var liveLength: Int { isDeleted ? 0 : Int(length) }

    func id(at offset: Int) -> PackedItemID {
        PackedItemID(agent: agent, sequence: sequence &+ UInt32(truncatingIfNeeded: offset))
    }

    var firstID: PackedItemID { PackedItemID(agent: agent, sequence: sequence) }
    var lastID: PackedItemID { id(at: Int(length) - 1) }

    /// Whether `sequence` of `agent` is one of this run's items.

    func contains(agent: UInt32, sequence: UInt32) -> Bool {
        self.agent == agent && sequence >= self.sequence && sequence - self.sequence < length
    }

    /// The left origin of the item at `offset`.

    func originLeft(at offset: Int) -> PackedItemID {
        offset == 0 ? originLeft : id(at: offset - 1)
    }

    /// Whether `next`, placed right after this run, continues it: same
    /// replica, the next sequence numbers, chained left origin, same right
    /// origin. `sameDeletion` also requires the same deletion state, as runs
    /// in the tree must; the encoder merges across deletion states.

    func isContinued(by next: Run, sameDeletion: Bool) -> Bool {
        next.agent == agent && next.sequence == sequence &+ length && next.originLeft == lastID
            && next.originRight == originRight && (!sameDeletion || next.isDeleted == isDeleted)
    }

    /// The items from `offset` on, as a run of their own.

    func suffix(from offset: Int) -> Run {
        Run(
            agent: agent, sequence: sequence &+ UInt32(offset), length: length - UInt32(offset),
            isDeleted: isDeleted, originLeft: id(at: offset - 1), originRight: originRight)
    }

    /// The first `count` items, as a run of their own.

    func prefix(_ count: Int) -> Run {
        var copy = self
        copy.length = UInt32(count)
        return copy
    }
}
