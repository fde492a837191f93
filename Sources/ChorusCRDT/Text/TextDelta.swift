import ChorusClocks
import ChorusCore

/// The identity of one character ever inserted into a `ReplicatedText`: the
/// replica that typed it and its sequence number among that replica's
/// insertions (0, 1, 2, …). It never changes, whatever is inserted or deleted
/// around it, which is what lets a remote replica find "the character after
/// which I inserted".
public struct TextItemID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var replica: ReplicaID
    public var sequence: UInt32

    public init(replica: ReplicaID, sequence: UInt32) {
        self.replica = replica
        self.sequence = sequence
    }

    public static func < (lhs: TextItemID, rhs: TextItemID) -> Bool {
        (lhs.replica, lhs.sequence) < (rhs.replica, rhs.sequence)
    }

    public var description: String { "\(replica).\(sequence)" }
}

/// The bounds of the text CRDT, checked on every edit and every decode.
public enum TextLimits {
    /// Items one replica may insert over the document's life: sequence
    /// numbers are 32-bit, so counts fit in 32 bits too.
    public static let maximumItemsPerReplica = Int(UInt32.max)
    /// Replicas one document may have seen.
    public static let maximumReplicaCount = 1 << 20
    /// Runs (insertions or deletion ranges) one encoding may hold.
    public static let maximumRunCount = 1 << 26
    /// Unicode scalars one encoding may carry.
    public static let maximumScalarCount = 1 << 28
}

/// A set of changes to a `ReplicatedText`: inserted runs with their origins
/// and content, and deleted item ranges. What `ReplicatedText.delta(since:)`
/// and the recording mutators produce and `ReplicatedText.apply(_:)` consumes.
///
/// Deletions are ranges of item identifiers. A deletion has no identifier of
/// its own (the delete-set design of Yjs: Nicolaescu, Jahns, Derntl and
/// Klamma, "Near Real-Time Peer-to-Peer Shared Editing on Extensible Data
/// Types", GROUP 2016), so `delta(since:)` carries every deleted range the
/// sender knows, compactly run-length encoded; a recorded delta carries just
/// the deletions it recorded.
public struct TextDelta: Equatable, Sendable, CompactCodable {
    /// Consecutive items inserted by one replica, as in `Run`: each item's
    /// left origin is its predecessor, except the first's, which is
    /// `originLeft`; all share `originRight`.
    public struct Insertion: Equatable, Sendable {
        public var replica: ReplicaID
        public var sequence: UInt32
        public var length: UInt32
        /// Deleted items travel without content.
        public var isDeleted: Bool
        /// `nil`: the document start.
        public var originLeft: TextItemID?
        /// `nil`: the document end.
        public var originRight: TextItemID?

        public init(
            replica: ReplicaID, sequence: UInt32, length: UInt32, isDeleted: Bool, originLeft: TextItemID?,
            originRight: TextItemID?
        ) {
            self.replica = replica
            self.sequence = sequence
            self.length = length
            self.isDeleted = isDeleted
            self.originLeft = originLeft
            self.originRight = originRight
        }

        var lastID: TextItemID { TextItemID(replica: replica, sequence: sequence + length - 1) }

        /// Whether `next` continues this insertion structurally (ignoring deletion).
        func isContinued(by next: Insertion) -> Bool {
            next.replica == replica && next.sequence == sequence &+ length && next.originLeft == lastID
                && next.originRight == originRight
        }
    }

    /// A range of deleted items of one replica.
    public struct Deletion: Equatable, Sendable {
        public var replica: ReplicaID
        public var sequence: UInt32
        public var count: UInt32

        public init(replica: ReplicaID, sequence: UInt32, count: UInt32) {
            self.replica = replica
            self.sequence = sequence
            self.count = count
        }
    }

    public internal(set) var insertions: [Insertion]
    /// The content of the live insertions, in order, as Unicode scalar values.
    public internal(set) var content: [UInt32]
    public internal(set) var deletions: [Deletion]

    public init() {
        insertions = []
        content = []
        deletions = []
    }

    public var isEmpty: Bool { insertions.isEmpty && deletions.isEmpty }

    /// Appends an insertion, merging it into the last one when it continues it.
    mutating func appendInsertion(_ insertion: Insertion, content scalars: UnsafeBufferPointer<UInt32>?) {
        if var last = insertions.last, last.isDeleted == insertion.isDeleted, last.isContinued(by: insertion) {
            last.length += insertion.length
            insertions[insertions.count - 1] = last
        } else {
            insertions.append(insertion)
        }
        if !insertion.isDeleted, let scalars { content.append(contentsOf: scalars) }
    }

    /// Appends a deletion, merging it into the last one when contiguous.
    mutating func appendDeletion(_ deletion: Deletion) {
        if var last = deletions.last, last.replica == deletion.replica {
            if last.sequence &+ last.count == deletion.sequence {
                last.count += deletion.count
                deletions[deletions.count - 1] = last
                return
            }
            if deletion.sequence &+ deletion.count == last.sequence {
                last.sequence = deletion.sequence
                last.count += deletion.count
                deletions[deletions.count - 1] = last
                return
            }
        }
        deletions.append(deletion)
    }

    /// Everything in `self` and in `other`; `other`'s insertions follow.
    public mutating func append(_ other: TextDelta) {
        insertions.append(contentsOf: other.insertions)
        content.append(contentsOf: other.content)
        deletions.append(contentsOf: other.deletions)
    }

    /// The replicas named anywhere, sorted: the encoding's replica table.
    var replicaTable: [ReplicaID] {
        var all: [ReplicaID] = []
        for insertion in insertions {
            all.append(insertion.replica)
            if let left = insertion.originLeft { all.append(left.replica) }
            if let right = insertion.originRight { all.append(right.replica) }
        }
        for deletion in deletions { all.append(deletion.replica) }
        all.sort()
        var unique: [ReplicaID] = []
        for replica in all where unique.last != replica { unique.append(replica) }
        return unique
    }
}
