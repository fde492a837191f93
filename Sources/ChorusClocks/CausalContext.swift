import ChorusCore

/// A compact causal context: a set of dots stored as a version vector (the
/// contiguous prefix of each replica's events) plus a "dot cloud" of the dots
/// that arrived out of order (Almeida, Shoker and Baquero, "Delta State
/// Replicated Data Types", JPDC 2018; the `dotcontext` of their
/// reference implementation).
///
/// Delta-CRDTs need this: a delta carries only the dots it touched, so a
/// replica may hold `a1…a5` and then `a9` before `a6…a8` arrive. Inserting a
/// dot compacts: whenever the cloud holds the next dot after a replica's
/// prefix, it moves into the vector. In a system that delivers deltas in
/// causal order the cloud stays empty and the context is just a version
/// vector, which is what makes observed-remove sets need no tombstones.
///
/// Invariants: no cloud dot is covered by the vector, and no cloud dot is the
/// immediate successor of its replica's prefix (it would have been absorbed).
/// The cloud is sorted, so equality and encoding are deterministic.
public struct CausalContext: Hashable, Sendable, CustomStringConvertible, CompactCodable {
    /// The contiguous prefix of each replica's dots.
    public private(set) var compact: VersionVector
    /// The dots beyond each replica's prefix, sorted.
    public private(set) var cloud: [Dot]

    public init() {
        compact = VersionVector()
        cloud = []
    }

    public init(_ versionVector: VersionVector) {
        compact = versionVector
        cloud = []
    }

    public init<Dots: Sequence>(dots: Dots) where Dots.Element == Dot {
        self.init()
        for dot in dots { insert(dot) }
    }

    public var isEmpty: Bool { compact.isEmpty && cloud.isEmpty }

    public func contains(_ dot: Dot) -> Bool {
        if compact.contains(dot) { return true }
        return cloudIndex(of: dot).found
    }

    private func cloudIndex(of dot: Dot) -> (found: Bool, index: Int) {
        var low = 0
        var high = cloud.count
        while low < high {
            let middle = (low + high) / 2
            if cloud[middle] < dot { low = middle + 1 } else { high = middle }
        }
        return (low < cloud.count && cloud[low] == dot, low)
    }

    /// The next dot `replica` should use for a new event. A replica's own
    /// events always extend its prefix, so the compact vector is enough.
    public func nextDot(for replica: ReplicaID) -> Dot {
        Dot(replica: replica, counter: compact[replica] + 1)
    }

    /// Makes a fresh dot for `replica` and records it.
    public mutating func makeDot(for replica: ReplicaID) -> Dot {
        let dot = nextDot(for: replica)
        insert(dot)
        return dot
    }

    /// Adds one dot and compacts.
    public mutating func insert(_ dot: Dot) {
        let prefix = compact[dot.replica]
        if dot.counter <= prefix { return }
        if dot.counter == prefix + 1 {
            compact[dot.replica] = dot.counter
            absorbCloud(of: dot.replica)
            return
        }
        let (found, index) = cloudIndex(of: dot)
        if !found { cloud.insert(dot, at: index) }
    }

    /// Moves the cloud dots of `replica` that now extend its prefix into the
    /// vector, and drops those the prefix already covers.
    private mutating func absorbCloud(of replica: ReplicaID) {
        var (_, index) = cloudIndex(of: Dot(replica: replica, counter: 1))
        var prefix = compact[replica]
        let start = index
        while index < cloud.count && cloud[index].replica == replica && cloud[index].counter <= prefix + 1 {
            prefix = Swift.max(prefix, cloud[index].counter)
            index += 1
        }
        if index > start {
            cloud.removeSubrange(start..<index)
            compact[replica] = prefix
        }
    }

    /// The union of both contexts, compacted.
    public mutating func merge(_ other: CausalContext) {
        compact.merge(other.compact)
        if cloud.isEmpty && other.cloud.isEmpty { return }
        var all = cloud
        all.append(contentsOf: other.cloud)
        all.sort()
        cloud = []
        cloud.reserveCapacity(all.count)
        var touched: [ReplicaID] = []
        for dot in all where !compact.contains(dot) && cloud.last != dot {
            cloud.append(dot)
            if touched.last != dot.replica { touched.append(dot.replica) }
        }
        for replica in touched { absorbCloud(of: replica) }
    }

    public func merging(_ other: CausalContext) -> CausalContext {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// Whether every dot of `other` is in this context.
    public func includes(_ other: CausalContext) -> Bool {
        for entry in other.compact.entries where entry.counter > compact[entry.replica] {
            // The dot right after our prefix is never in our cloud (it would
            // have been absorbed), so `other` has an event we lack.
            return false
        }
        return other.cloud.allSatisfy(contains)
    }

    public var description: String {
        cloud.isEmpty ? compact.description : "\(compact) + {\(cloud.map(\.description).joined(separator: ", "))}"
    }

    public func encode(into writer: inout ByteWriter) {
        compact.encode(into: &writer)
        writer.writeVarint(cloud.count)
        for dot in cloud { dot.encode(into: &writer) }
    }

    /// Rejects clouds that are unsorted, repeated, covered by the vector or
    /// not compacted: a canonical encoding has exactly one form per context.
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        compact = try VersionVector(decoding: &reader)
        let count = try reader.readCount(limit: ClockLimits.maximumDotCloudCount, minimumElementBytes: 2)
        cloud = []
        cloud.reserveCapacity(count)
        for _ in 0..<count {
            let start = reader.offset
            let dot = try Dot(decoding: &reader)
            if let last = cloud.last, !(last < dot) {
                throw BinaryDecodingError(.invalidValue("causal context cloud not strictly sorted"), at: start)
            }
            // A prefix at UInt64.max covers every dot (and `+ 1` would overflow).
            let prefix = compact[dot.replica]
            if prefix == .max || dot.counter <= prefix + 1 {
                throw BinaryDecodingError(.invalidValue("causal context cloud dot \(dot) not compacted"), at: start)
            }
            cloud.append(dot)
        }
    }
}
