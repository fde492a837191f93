import ChorusClocks
import ChorusCore

/// A state-based CRDT (Shapiro, Preguiça, Baquero and Zawirski, "Conflict-free
/// Replicated Data Types", SSS 2011): states form a join-semilattice,
/// `merge` is its join, and every mutation moves a state up. Replicas that
/// have merged the same updates, in any order, any number of times, are
/// equal: merge is commutative, associative and idempotent.
///
/// `init()` is the bottom element, the state of a replica that has seen
/// nothing. Every CRDT here is a value type with a compact, canonical binary
/// encoding: equal states encode to equal bytes.
public protocol StateCRDT: Sendable, Equatable, CompactCodable {
    /// The bottom state.
    init()
    /// The join: afterwards `self` includes every update either side had.
    mutating func merge(_ other: Self)
}

extension StateCRDT {
    /// The join of the two states.
    public func merging(_ other: Self) -> Self {
        var result = self
        result.merge(other)
        return result
    }
}

/// A delta-state CRDT (Almeida, Shoker and Baquero, "Delta State Replicated
/// Data Types", JPDC 2018): each mutator returns a delta, a small state
/// that carries only the effect of the mutation, and applying a delta joins
/// it in. Shipping deltas instead of whole states is what makes state-based
/// replication cheap; joining them in any order, duplicated, still converges.
///
/// For every type but the text CRDT a delta is a state of the same type, so
/// `apply` is `merge`.
public protocol DeltaCRDT: StateCRDT {
    associatedtype Delta: Sendable & Equatable & CompactCodable
    /// Joins a delta into this state.
    mutating func apply(_ delta: Delta)
}

extension DeltaCRDT where Delta == Self {
    public mutating func apply(_ delta: Self) { merge(delta) }
}

/// Bounds every CRDT decoder checks before it allocates.
public enum CRDTLimits {
    /// Elements of a set, entries of a map, dots of a store.
    public static let maximumElementCount = 1 << 24
    /// Replicas named by a counter.
    public static let maximumReplicaCount = ClockLimits.maximumReplicaCount
    /// How deep `RiakMap` fields may nest maps inside maps; a decoder refuses
    /// deeper input rather than recursing without bound.
    public static let maximumNestingDepth = 32
}

/// Why a CRDT mutation was refused.
public enum CRDTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A counter would pass its representable range.
    case counterOverflow
    /// A two-phase set can remove only an element it holds.
    case notAnElement
    /// A two-phase set never re-adds a removed element.
    case elementRemovedForever

    public var description: String {
        switch self {
        case .counterOverflow: "counter overflow"
        case .notAnElement: "not an element of the set"
        case .elementRemovedForever: "a two-phase set cannot re-add a removed element"
        }
    }
}

/// Canonical ordering for encodings of generic elements: by encoded bytes,
/// so that equal sets encode equally whatever the hash seed.
enum CanonicalOrder {
    static func sorted<Element: CompactCodable>(_ elements: some Sequence<Element>) -> [(bytes: [UInt8], element: Element)] {
        elements.map { ($0.encodedBytes, $0) }.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }

    /// Decodes one element and checks it sorts strictly after `previous`
    /// (whose bytes it then replaces): a canonical encoding has no
    /// duplicates and one order.
    static func decode<Element: CompactCodable>(
        _ reader: inout ByteReader, after previous: inout [UInt8]?
    ) throws(BinaryDecodingError) -> Element {
        let start = reader.offset
        let element = try Element(decoding: &reader)
        let bytes = Array(reader.bytes[start..<reader.offset])
        if let previous, !previous.lexicographicallyPrecedes(bytes) {
            throw BinaryDecodingError(.invalidValue("elements not in canonical order or repeated"), at: start)
        }
        previous = bytes
        return element
    }
}
