import ChorusCRDT
import ChorusClocks
import ChorusCore

/// The value of one object, of the kind its key names. Every case is a
/// join-semilattice: `merge` is commutative, associative and idempotent, so
/// replicas, read repair, hinted handoff and anti-entropy can all exchange
/// whole values or deltas in any order and converge.
public enum ReplicatedValue: Equatable, Sendable {
    case versioned(SiblingSet)
    case counter(CausalCounter)
    case set(ORSet<[UInt8]>)
    case map(RiakMap)
    case register(MVRegister<TimestampedBytes>)
    case flag(EWFlag)

    /// The bottom value of `kind`: what a replica that has seen nothing holds.
    public static func empty(_ kind: ValueKind) -> ReplicatedValue {
        switch kind {
        case .versioned: .versioned(SiblingSet())
        case .counter: .counter(CausalCounter())
        case .set: .set(ORSet())
        case .map: .map(RiakMap())
        case .register: .register(MVRegister())
        case .flag: .flag(EWFlag())
        }
    }

    public var kind: ValueKind {
        switch self {
        case .versioned: .versioned
        case .counter: .counter
        case .set: .set
        case .map: .map
        case .register: .register
        case .flag: .flag
        }
    }

    /// Joins `other` in. Precondition: the same kind (both come from one
    /// key, and every decoder derives the kind from the key).
    public mutating func merge(_ other: ReplicatedValue) {
        switch (self, other) {
        case (.versioned(var mine), .versioned(let theirs)):
            mine.synchronize(with: theirs)
            self = .versioned(mine)
        case (.counter(var mine), .counter(let theirs)):
            mine.merge(theirs)
            self = .counter(mine)
        case (.set(var mine), .set(let theirs)):
            mine.merge(theirs)
            self = .set(mine)
        case (.map(var mine), .map(let theirs)):
            mine.merge(theirs)
            self = .map(mine)
        case (.register(var mine), .register(let theirs)):
            mine.merge(theirs)
            self = .register(mine)
        case (.flag(var mine), .flag(let theirs)):
            mine.merge(theirs)
            self = .flag(mine)
        default:
            preconditionFailure("merging a \(other.kind) value into a \(kind) value")
        }
    }

    public func merging(_ other: ReplicatedValue) -> ReplicatedValue {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// Whether this value holds nothing a reader would see (no live sibling,
    /// an empty set, a zero counter with no totals, …).
    public var isEmptyForReaders: Bool {
        switch self {
        case .versioned(let set): set.isDeleted
        case .counter(let counter): counter.store.isBottom
        case .set(let set): set.count == 0
        case .map(let map): map.count == 0
        case .register(let register): register.values.isEmpty
        case .flag(let flag): !flag.isEnabled
        }
    }

    /// The stable 64-bit digest of the canonical encoding: what Merkle leaves
    /// and read repair compare.
    public var digest: UInt64 { StableHash.hash(encodedBytes, seed: 0x5645_5253_494F_4E53) }

    public var encodedBytes: [UInt8] {
        var writer = ByteWriter()
        encode(into: &writer)
        return writer.bytes
    }

    /// The kind's own canonical encoding (the kind itself travels in the key).
    public func encode(into writer: inout ByteWriter) {
        switch self {
        case .versioned(let value): value.encode(into: &writer)
        case .counter(let value): value.encode(into: &writer)
        case .set(let value): value.encode(into: &writer)
        case .map(let value): value.encode(into: &writer)
        case .register(let value): value.encode(into: &writer)
        case .flag(let value): value.encode(into: &writer)
        }
    }

    public init(decoding reader: inout ByteReader, kind: ValueKind) throws(BinaryDecodingError) {
        switch kind {
        case .versioned: self = .versioned(try SiblingSet(decoding: &reader))
        case .counter: self = .counter(try CausalCounter(decoding: &reader))
        case .set: self = .set(try ORSet(decoding: &reader))
        case .map: self = .map(try RiakMap(decoding: &reader))
        case .register: self = .register(try MVRegister(decoding: &reader))
        case .flag: self = .flag(try EWFlag(decoding: &reader))
        }
    }

    /// The causal context of a CRDT value (nil for versioned values).
    public var causalContext: CausalContext? {
        switch self {
        case .versioned: nil
        case .counter(let value): value.context
        case .set(let value): value.context
        case .map(let value): value.context
        case .register(let value): value.context
        case .flag(let value): value.context
        }
    }

    /// The causal context of a CRDT value, or the sibling context's events
    /// for a versioned one: what the no-lost-write checks compare against.
    public var versionedContext: VersionVector? {
        if case .versioned(let set) = self { return set.context }
        return nil
    }
}

extension MVRegister where Value == TimestampedBytes {
    /// The value a last-writer-wins reader sees: the concurrent value with
    /// the largest hybrid timestamp, ties broken by the larger dot.
    public var lastWriterWinsValue: [UInt8]? {
        store.sortedEntries.max { ($0.value.timestamp, $0.dot) < ($1.value.timestamp, $1.dot) }?.value.bytes
    }
}
