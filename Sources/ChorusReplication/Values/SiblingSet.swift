import ChorusClocks
import ChorusCore

/// One version of an opaque value: the bytes (nil for a deletion's
/// tombstone), the dotted version vector that says which write it is and what
/// that write had seen, and the hybrid time of the write, used only to pick
/// one of several concurrent siblings for a caller that wants one value.
public struct Sibling: Hashable, Sendable, CompactCodable {
    public var version: DottedVersionVector
    public var value: [UInt8]?
    public var timestamp: HybridTimestamp

    public init(version: DottedVersionVector, value: [UInt8]?, timestamp: HybridTimestamp) {
        self.version = version
        self.value = value
        self.timestamp = timestamp
    }

    public var dot: Dot { version.dot }
    public var isTombstone: Bool { value == nil }

    /// The sibling's whole causal history as a version vector: its context
    /// and its dot.
    var historyVector: VersionVector {
        var vector = version.context
        vector[dot.replica] = Swift.max(vector[dot.replica], dot.counter)
        return vector
    }

    public func encode(into writer: inout ByteWriter) {
        version.encode(into: &writer)
        writer.write(value != nil)
        if let value { writer.writeLengthPrefixed(value) }
        timestamp.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        version = try DottedVersionVector(decoding: &reader)
        value = try reader.readBool() ? Array(try reader.readLengthPrefixed(limit: ReplicationLimits.maximumValueBytes)) : nil
        timestamp = try HybridTimestamp(decoding: &reader)
    }
}

/// The versions of one opaque key: the siblings no other version has seen,
/// and a floor, the history of tombstones already collected.
///
/// This is Riak's dotted-version-vector design (Preguiça et al., "Dotted
/// Version Vectors", 2010; riak_kv#746, "Use a DVV like approach to stop
/// sibling explosion"): each stored version carries the dot of the write
/// that made it, so a write whose context (the version vector its client
/// read) contains that dot supersedes exactly that version, and nothing the
/// client had not seen. Two clients interleaving read-modify-write cycles
/// keep two siblings, not one per write (the riak_test `sibling_explosion`
/// scenario, reproduced in the tests).
///
/// Invariants: siblings are sorted by dot with no dot twice; no sibling's
/// history is inside another's, nor inside the floor. Synchronizing two sets
/// is a join (commutative, associative, idempotent), so replicas converge
/// whatever order they exchange in.
public struct SiblingSet: Hashable, Sendable, CompactCodable {
    public private(set) var siblings: [Sibling]
    /// The history of collected tombstones: a version inside it was deleted
    /// by a deletion every replica had, and must not come back if a delayed
    /// message still carries it.
    public private(set) var floor: VersionVector

    public init() {
        siblings = []
        floor = VersionVector()
    }

    init(siblings: [Sibling], floor: VersionVector) {
        self.siblings = []
        self.floor = floor
        self.siblings = Self.maximal(siblings, floor: floor)
    }

    /// The values of the live (non-tombstone) siblings, by dot.
    public var values: [[UInt8]] { siblings.compactMap(\.value) }
    public var isDeleted: Bool { siblings.allSatisfy(\.isTombstone) }

    /// The one value a last-writer-wins reader sees: the live sibling with the
    /// largest (timestamp, dot). Concurrent writes stay stored as siblings;
    /// this only chooses what to show (Redis Active-Active's rule for
    /// concurrent string writes, see README).
    public var lastWriterWinsValue: [UInt8]? {
        let live = siblings.filter { !$0.isTombstone }
        return live.max { ($0.timestamp, $0.dot) < ($1.timestamp, $1.dot) }?.value
    }

    /// The causal context a client sends back with its next write: every
    /// event this set has seen.
    public var context: VersionVector {
        var vector = floor
        for sibling in siblings { vector.merge(sibling.historyVector) }
        return vector
    }

    /// The history of a sibling lies inside `vector`.
    static func isCovered(_ sibling: Sibling, by vector: VersionVector) -> Bool {
        vector.contains(sibling.dot) && vector.dominates(sibling.version.context)
    }

    /// Sorts by dot, keeps one sibling per dot, and drops every sibling
    /// another one (or the floor) has seen.
    private static func maximal(_ candidates: [Sibling], floor: VersionVector) -> [Sibling] {
        var sorted = candidates.sorted { lhs, rhs in
            if lhs.dot != rhs.dot { return lhs.dot < rhs.dot }
            // One dot is one write; if a misbehaving peer sent two payloads
            // for it, keep a deterministic one so the join stays commutative.
            return lhs.encodedBytes.lexicographicallyPrecedes(rhs.encodedBytes)
        }
        var unique: [Sibling] = []
        unique.reserveCapacity(sorted.count)
        for sibling in sorted where unique.last?.dot != sibling.dot { unique.append(sibling) }
        sorted = unique
        return sorted.filter { candidate in
            if isCovered(candidate, by: floor) { return false }
            return !sorted.contains { other in other.dot != candidate.dot && candidate.version.isIncluded(in: other.version) }
        }
    }

    /// The join: every version either side has that neither side has seen
    /// superseded.
    public mutating func synchronize(with other: SiblingSet) {
        if other.siblings.isEmpty && floor.dominates(other.floor) { return }
        floor.merge(other.floor)
        siblings = Self.maximal(siblings + other.siblings, floor: floor)
    }

    public func synchronizing(with other: SiblingSet) -> SiblingSet {
        var copy = self
        copy.synchronize(with: other)
        return copy
    }

    /// The coordinating replica's update (the paper's `update`): a new
    /// version by `replica` with the next `counter` of that replica, written by
    /// a client that had seen `clientContext`. It supersedes exactly the
    /// siblings inside `clientContext` and is concurrent with the rest.
    /// `counter` must exceed every counter `replica` ever used (the node keeps
    /// one counter across keys, so a dot is never reused even for a key
    /// whose history was collected).
    public mutating func update(
        value: [UInt8]?, timestamp: HybridTimestamp, clientContext: VersionVector, replica: ReplicaID, counter: UInt64
    ) -> Sibling {
        precondition(counter > clientContext[replica], "a new dot must lie outside the client's context")
        let sibling = Sibling(
            version: DottedVersionVector(dot: Dot(replica: replica, counter: counter), context: clientContext),
            value: value, timestamp: timestamp)
        siblings = Self.maximal(siblings + [sibling], floor: floor)
        return sibling
    }

    /// Collects a tombstone that every replica holds and nothing is
    /// concurrent with: the set becomes empty with the tombstone's history
    /// as its floor. Returns whether it collected.
    @discardableResult
    public mutating func collectTombstone(_ tombstone: Dot) -> Bool {
        guard siblings.count == 1, siblings[0].isTombstone, siblings[0].dot == tombstone else { return false }
        floor.merge(siblings[0].historyVector)
        siblings = []
        return true
    }

    /// Siblings, then the floor. Decoding refuses what `encode` cannot
    /// produce: unsorted or repeated dots, a sibling another one covers.
    public func encode(into writer: inout ByteWriter) {
        writer.writeVarint(siblings.count)
        for sibling in siblings { sibling.encode(into: &writer) }
        floor.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let start = reader.offset
        let count = try reader.readCount(limit: ReplicationLimits.maximumDecodedSiblingCount, minimumElementBytes: 5)
        var decoded: [Sibling] = []
        decoded.reserveCapacity(count)
        for _ in 0..<count { decoded.append(try Sibling(decoding: &reader)) }
        let floor = try VersionVector(decoding: &reader)
        let canonical = Self.maximal(decoded, floor: floor)
        guard canonical == decoded else {
            throw BinaryDecodingError(.invalidValue("sibling set not canonical (order, duplicates or superseded siblings)"), at: start)
        }
        self.siblings = decoded
        self.floor = floor
    }
}
