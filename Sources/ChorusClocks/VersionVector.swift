import ChorusCore

/// How two causal histories relate (Mattern, "Virtual Time and Global States
/// of Distributed Systems", 1989; Fidge 1988).
public enum CausalOrder: Hashable, Sendable {
    /// The left history is a strict subset of the right: left happened before.
    case before
    /// The left history strictly contains the right: left happened after.
    case after
    /// Both name the same events.
    case equal
    /// Each has an event the other lacks.
    case concurrent
}

/// A version vector: for each replica, how many of its events are included
/// (Parker et al., "Detection of Mutual Inconsistency in Distributed Systems",
/// IEEE TSE 1983; Mattern 1989).
///
/// The vector `{a: 3, b: 1}` stands for the causal history
/// `{a1, a2, a3, b1}`: every replica's events are included as a prefix. That
/// is what makes the representation compact, and also what it cannot say: a
/// history with a gap (`{a1, a3}`) needs a `CausalContext`.
///
/// Invariants: entries are sorted by replica, replicas are unique, and no
/// counter is zero (an absent replica means zero). Sorted storage makes
/// equality, encoding and iteration deterministic without depending on
/// `Dictionary` order, and keeps the small vectors of real systems in one
/// cache line or two.
public struct VersionVector: Hashable, Sendable, CustomStringConvertible, CompactCodable {
    public struct Entry: Hashable, Sendable {
        public var replica: ReplicaID
        public var counter: UInt64
        public init(replica: ReplicaID, counter: UInt64) {
            self.replica = replica
            self.counter = counter
        }
    }

    /// Sorted by replica; every counter is at least 1.
    public private(set) var entries: [Entry]

    public init() { entries = [] }

    /// A vector from (replica, counter) pairs in any order; duplicates keep
    /// their maximum and zero counters are dropped.
    public init<Pairs: Sequence>(_ pairs: Pairs) where Pairs.Element == (ReplicaID, UInt64) {
        entries = []
        for (replica, counter) in pairs { self[replica] = Swift.max(self[replica], counter) }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The sum of all counters: the number of events in the history.
    public var eventCount: UInt64 { entries.reduce(0) { $0 + $1.counter } }

    func position(of replica: ReplicaID) -> (found: Bool, index: Int) {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].replica < replica { low = middle + 1 } else { high = middle }
        }
        return (low < entries.count && entries[low].replica == replica, low)
    }

    /// The number of `replica`'s events included; 0 for an unknown replica.
    /// Setting 0 removes the replica.
    public subscript(replica: ReplicaID) -> UInt64 {
        get {
            let (found, index) = position(of: replica)
            return found ? entries[index].counter : 0
        }
        set {
            let (found, index) = position(of: replica)
            switch (found, newValue) {
            case (true, 0): entries.remove(at: index)
            case (true, _): entries[index].counter = newValue
            case (false, 0): break
            case (false, _): entries.insert(Entry(replica: replica, counter: newValue), at: index)
            }
        }
    }

    /// Records one more event of `replica` and returns its counter (its dot).
    @discardableResult
    public mutating func increment(_ replica: ReplicaID) -> UInt64 {
        let next = self[replica] + 1
        self[replica] = next
        return next
    }

    /// Whether the event `dot` is in this history.
    public func contains(_ dot: Dot) -> Bool { dot.counter <= self[dot.replica] }

    /// The pointwise maximum: the union of the two histories (the join of the
    /// version-vector lattice).
    public mutating func merge(_ other: VersionVector) {
        if other.entries.isEmpty { return }
        if entries.isEmpty {
            entries = other.entries
            return
        }
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count + other.entries.count)
        var left = 0
        var right = 0
        while left < entries.count || right < other.entries.count {
            if right == other.entries.count
                || (left < entries.count && entries[left].replica < other.entries[right].replica)
            {
                merged.append(entries[left])
                left += 1
            } else if left == entries.count || other.entries[right].replica < entries[left].replica {
                merged.append(other.entries[right])
                right += 1
            } else {
                merged.append(
                    Entry(
                        replica: entries[left].replica,
                        counter: Swift.max(entries[left].counter, other.entries[right].counter)))
                left += 1
                right += 1
            }
        }
        entries = merged
    }

    public func merging(_ other: VersionVector) -> VersionVector {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// The partial order of the two histories, in one merge-like pass.
    public func compare(_ other: VersionVector) -> CausalOrder {
        var someGreater = false
        var someLess = false
        var left = 0
        var right = 0
        while left < entries.count || right < other.entries.count {
            if right == other.entries.count
                || (left < entries.count && entries[left].replica < other.entries[right].replica)
            {
                someGreater = true
                left += 1
            } else if left == entries.count || other.entries[right].replica < entries[left].replica {
                someLess = true
                right += 1
            } else {
                if entries[left].counter > other.entries[right].counter { someGreater = true }
                if entries[left].counter < other.entries[right].counter { someLess = true }
                left += 1
                right += 1
            }
            if someGreater && someLess { return .concurrent }
        }
        switch (someGreater, someLess) {
        case (false, false): return .equal
        case (true, false): return .after
        case (false, true): return .before
        case (true, true): return .concurrent
        }
    }

    /// Whether every event of `other` is in this history (after or equal).
    public func dominates(_ other: VersionVector) -> Bool {
        let order = compare(other)
        return order == .after || order == .equal
    }

    public var description: String {
        "[" + entries.map { "\($0.replica):\($0.counter)" }.joined(separator: ", ") + "]"
    }

    /// A count, then (replica gap from the previous replica, counter) pairs.
    /// Gap coding keeps dense replica numbering to one byte per replica.
    public func encode(into writer: inout ByteWriter) {
        writer.writeVarint(entries.count)
        var previous: UInt64 = 0
        for (index, entry) in entries.enumerated() {
            writer.writeVarint(index == 0 ? entry.replica.rawValue : entry.replica.rawValue - previous)
            writer.writeVarint(entry.counter)
            previous = entry.replica.rawValue
        }
    }

    /// Rejects anything `encode` cannot produce: replicas out of order or
    /// repeated, zero counters, more than `ClockLimits.maximumReplicaCount`.
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: ClockLimits.maximumReplicaCount, minimumElementBytes: 2)
        entries = []
        entries.reserveCapacity(count)
        var previous: UInt64 = 0
        for index in 0..<count {
            let start = reader.offset
            let gap = try reader.readVarint()
            if index > 0 && gap == 0 {
                throw BinaryDecodingError(.invalidValue("version vector replicas not strictly increasing"), at: start)
            }
            let (replica, overflow) = index == 0 ? (gap, false) : previous.addingReportingOverflow(gap)
            if overflow { throw BinaryDecodingError(.invalidValue("replica identifier overflows"), at: start) }
            let counterStart = reader.offset
            let counter = try reader.readVarint()
            if counter == 0 { throw BinaryDecodingError(.invalidValue("zero counter in version vector"), at: counterStart) }
            entries.append(Entry(replica: ReplicaID(replica), counter: counter))
            previous = replica
        }
    }
}

/// One event: the `counter`-th event of `replica` (counters start at 1).
/// Almeida, Shoker and Baquero call it a dot ("Delta State Replicated Data
/// Types", JPDC 2018).
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible, CompactCodable {
    public var replica: ReplicaID
    public var counter: UInt64

    public init(replica: ReplicaID, counter: UInt64) {
        precondition(counter >= 1, "dot counters start at 1")
        self.replica = replica
        self.counter = counter
    }

    public static func < (lhs: Dot, rhs: Dot) -> Bool { (lhs.replica, lhs.counter) < (rhs.replica, rhs.counter) }
    public var description: String { "\(replica).\(counter)" }

    public func encode(into writer: inout ByteWriter) {
        replica.encode(into: &writer)
        writer.writeVarint(counter)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        replica = try ReplicaID(decoding: &reader)
        let start = reader.offset
        counter = try reader.readVarint()
        if counter == 0 { throw BinaryDecodingError(.invalidValue("dot counter 0"), at: start) }
    }
}
