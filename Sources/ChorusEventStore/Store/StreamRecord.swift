/// Whether a stream takes appends.
enum StreamStatus: UInt8, Sendable, Hashable {
    case active = 0
    /// Soft-deleted: reads as absent until the next append recreates it.
    case softDeleted = 1
    /// Hard-deleted, forever.
    case tombstoned = 2
}

/// One stream's index and state. Streams are numbered in order of creation
/// (the same on every replica) and never removed: a tombstone must outlive its
/// events, and a soft-deleted stream remembers where its numbering continues.
///
/// Invariant: `entries[k]` is the slot of revision `retainedStart + k`, for
/// every revision from `retainedStart` to `nextRevision - 1` (a scavenge only
/// removes a prefix of a stream, because every retention rule hides a prefix:
/// recorded times are non-decreasing, so `maximumAge` hides a prefix too).
struct StreamRecord: Sendable, Hashable {
    var name: StreamName
    /// Revisions ever assigned: the next append gets this one.
    var nextRevision: UInt64 = 0
    /// The first revision still held in memory.
    var retainedStart: UInt64 = 0
    var entries: [UInt32] = []
    var status: StreamStatus = .active
    /// Revisions below this were soft-deleted (0: never).
    var softDeletedBefore: UInt64 = 0
    var metadata: StreamMetadata = .none
    /// The `$all` position the next event had when the stream's visibility rules
    /// last changed (a delete, a metadata change, a recreation): an "as of"
    /// read before it cannot use today's rules.
    var rulesChangedAt: UInt64 = 0
    /// This stream's share of `EventStore.reclaimableEvents`.
    var reclaimable: UInt64 = 0

    init(name: StreamName) { self.name = name }

    var lastRevision: StreamRevision? { nextRevision == 0 ? nil : StreamRevision(nextRevision - 1) }

    var actualState: ActualStreamState {
        switch status {
        case .tombstoned: return .tombstoned
        case .softDeleted: return .softDeleted(lastRevision: StreamRevision(nextRevision - 1))
        case .active: return nextRevision == 0 ? .absent : .revision(StreamRevision(nextRevision - 1))
        }
    }

    /// Whether reads see the stream (it exists and is neither deleted nor empty-and-new).
    var isReadable: Bool { status == .active && nextRevision > 0 }

    /// The first revision the count-based rules (deletes, `maximumCount`,
    /// `truncateBefore`) leave visible, at most `nextRevision`.
    func countCut(nextRevision: UInt64) -> UInt64 {
        if status == .tombstoned { return nextRevision }
        var cut = Swift.max(softDeletedBefore, metadata.truncateBefore?.rawValue ?? 0)
        if let maximumCount = metadata.maximumCount, nextRevision > maximumCount { cut = Swift.max(cut, nextRevision - maximumCount) }
        return Swift.min(cut, nextRevision)
    }

    /// Retained events the count-based rules hide.
    var countReclaimable: UInt64 {
        let cut = countCut(nextRevision: nextRevision)
        return cut > retainedStart ? cut - retainedStart : 0
    }

    func slot(ofRevision revision: UInt64) -> Int? {
        guard revision >= retainedStart, revision < nextRevision else { return nil }
        return Int(entries[Int(revision - retainedStart)])
    }
}
