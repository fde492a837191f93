import ChorusClocks
import ChorusCore

/// A last-writer-wins register (Shapiro et al., INRIA RR-7506, 2011):
/// every write carries a timestamp, and merge keeps the write with the
/// largest one.
///
/// Timestamps are hybrid logical clock readings (`HybridLogicalClock`), so
/// "last" respects causality (a write that saw another is later) while
/// staying close to wall-clock time; ties between concurrent writes with the
/// same reading are broken by replica identifier, and a write by a replica
/// always uses a fresh reading of its own clock, so (timestamp, replica) is
/// unique per write. Concurrent writes lose silently; use `MVRegister` to
/// keep them.
///
/// The bottom state holds no value, at timestamp zero.
public struct LWWRegister<Value: Sendable & Equatable & CompactCodable>: DeltaCRDT {
    public typealias Delta = LWWRegister

    public private(set) var value: Value?
    public private(set) var timestamp: HybridTimestamp
    /// The replica that made the winning write.
    public private(set) var replica: ReplicaID

    public init() {
        value = nil
        timestamp = .zero
        replica = ReplicaID(0)
    }

    /// Writes `value` at `timestamp` (a fresh reading of `replica`'s hybrid
    /// logical clock); returns the delta, the write itself.
    @discardableResult
    public mutating func assign(_ value: Value, at timestamp: HybridTimestamp, by replica: ReplicaID) -> LWWRegister {
        var delta = LWWRegister()
        delta.value = value
        delta.timestamp = timestamp
        delta.replica = replica
        merge(delta)
        return delta
    }

    public mutating func merge(_ other: LWWRegister) {
        if (other.timestamp, other.replica) > (timestamp, replica) {
            self = other
        } else if other.timestamp == timestamp && other.replica == replica && other.value != value {
            // Two writes with one (timestamp, replica): a clock misused. Pick
            // by encoded value so merge stays commutative anyway.
            let mine = value.map(\.encodedBytes) ?? []
            let theirs = other.value.map(\.encodedBytes) ?? []
            if other.value != nil && (value == nil || mine.lexicographicallyPrecedes(theirs)) { self = other }
        }
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(value != nil)
        value?.encode(into: &writer)
        timestamp.encode(into: &writer)
        replica.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        value = try reader.readBool() ? try Value(decoding: &reader) : nil
        timestamp = try HybridTimestamp(decoding: &reader)
        replica = try ReplicaID(decoding: &reader)
    }
}
