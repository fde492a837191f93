import ChorusClocks
import ChorusCore

/// A grow-only counter (Shapiro et al., "A comprehensive study of Convergent
/// and Commutative Replicated Data Types", INRIA RR-7506, 2011): one
/// count per replica, each incremented only by its replica; the value is the
/// sum, and merge takes the maximum per replica.
///
/// Invariant: no stored count is zero (absent means zero), so equal counters
/// have equal storage and encodings.
public struct GCounter: DeltaCRDT, CustomStringConvertible {
    public typealias Delta = GCounter

    /// Replica → its increments so far.
    public private(set) var counts: [ReplicaID: UInt64]

    public init() { counts = [:] }

    /// The sum of every replica's count, saturating at `UInt64.max`.
    public var value: UInt64 {
        var total: UInt64 = 0
        for count in counts.values {
            let (sum, overflow) = total.addingReportingOverflow(count)
            total = overflow ? .max : sum
        }
        return total
    }

    /// Adds `amount` for `replica`; returns the delta (that replica's new count).
    @discardableResult
    public mutating func increment(by amount: UInt64 = 1, by replica: ReplicaID) throws(CRDTError) -> GCounter {
        let current = counts[replica] ?? 0
        let (next, overflow) = current.addingReportingOverflow(amount)
        guard !overflow else { throw CRDTError.counterOverflow }
        var delta = GCounter()
        if next > 0 {
            counts[replica] = next
            delta.counts[replica] = next
        }
        return delta
    }

    public mutating func merge(_ other: GCounter) {
        for (replica, count) in other.counts where count > counts[replica] ?? 0 { counts[replica] = count }
    }

    public var description: String { "GCounter(\(value))" }

    public func encode(into writer: inout ByteWriter) {
        let sorted = counts.sorted { $0.key < $1.key }
        writer.writeVarint(sorted.count)
        for (replica, count) in sorted {
            replica.encode(into: &writer)
            writer.writeVarint(count)
        }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: CRDTLimits.maximumReplicaCount, minimumElementBytes: 2)
        counts = [:]
        var previous: ReplicaID? = nil
        for _ in 0..<count {
            let start = reader.offset
            let replica = try ReplicaID(decoding: &reader)
            let value = try reader.readVarint()
            guard previous.map({ $0 < replica }) ?? true, value > 0 else {
                throw BinaryDecodingError(.invalidValue("counter entries unsorted, repeated or zero"), at: start)
            }
            counts[replica] = value
            previous = replica
        }
    }
}

/// A positive-negative counter (Shapiro et al. 2011): two grow-only
/// counters, one of increments and one of decrements; the value is their
/// difference.
public struct PNCounter: DeltaCRDT, CustomStringConvertible {
    public typealias Delta = PNCounter

    public private(set) var increments: GCounter
    public private(set) var decrements: GCounter

    public init() {
        increments = GCounter()
        decrements = GCounter()
    }

    /// Increments minus decrements, clamped to `Int64`'s range.
    public var value: Int64 {
        let up = increments.value
        let down = decrements.value
        if up >= down { return up - down > UInt64(Int64.max) ? .max : Int64(up - down) }
        return down - up > UInt64(Int64.max) ? .min : -Int64(down - up)
    }

    @discardableResult
    public mutating func increment(by amount: UInt64 = 1, by replica: ReplicaID) throws(CRDTError) -> PNCounter {
        var delta = PNCounter()
        delta.increments = try increments.increment(by: amount, by: replica)
        return delta
    }

    @discardableResult
    public mutating func decrement(by amount: UInt64 = 1, by replica: ReplicaID) throws(CRDTError) -> PNCounter {
        var delta = PNCounter()
        delta.decrements = try decrements.increment(by: amount, by: replica)
        return delta
    }

    public mutating func merge(_ other: PNCounter) {
        increments.merge(other.increments)
        decrements.merge(other.decrements)
    }

    public var description: String { "PNCounter(\(value))" }

    public func encode(into writer: inout ByteWriter) {
        increments.encode(into: &writer)
        decrements.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        increments = try GCounter(decoding: &reader)
        decrements = try GCounter(decoding: &reader)
    }
}
