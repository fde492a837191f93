import ChorusClocks
import ChorusCore

/// A dot store: the payload of a causal CRDT, whose every piece of state is
/// tagged by the dot (event) that created it (Almeida, Shoker and Baquero,
/// "Delta State Replicated Data Types", JPDC 2018).
///
/// A causal CRDT is a pair (store, causal context). Its join keeps what both
/// sides have, plus what one side has and the other has not seen (its dot
/// is outside the other's context); what one side has and the other has
/// seen but no longer has was removed, and stays removed. That is how
/// observed-remove semantics work without tombstones: the context remembers
/// the removed dots as a version vector, not as a list of removed elements.
public protocol DotStore: Sendable, Equatable, CompactCodable {
    /// The empty store (bottom).
    init()
    var isBottom: Bool { get }
    /// Every dot in the store, in any order.
    func forEachDot(_ body: (Dot) -> Void)
    /// The store half of the join of `(lhs, lhsContext)` and `(rhs, rhsContext)`.
    static func join(_ lhs: Self, _ lhsContext: CausalContext, _ rhs: Self, _ rhsContext: CausalContext) -> Self
}

extension DotStore {
    /// The causal context holding exactly this store's dots.
    public var dotsAsContext: CausalContext {
        var context = CausalContext()
        forEachDot { context.insert($0) }
        return context
    }
}

/// A set of dots: the store of an enable-wins flag, and of each element of an
/// observed-remove set.
public struct DotSet: DotStore, CustomStringConvertible {
    public private(set) var dots: Set<Dot>

    public init() { dots = [] }
    public init<Dots: Sequence>(_ dots: Dots) where Dots.Element == Dot { self.dots = Set(dots) }

    public var isBottom: Bool { dots.isEmpty }
    public func forEachDot(_ body: (Dot) -> Void) { dots.forEach(body) }

    public static func join(_ lhs: DotSet, _ lhsContext: CausalContext, _ rhs: DotSet, _ rhsContext: CausalContext) -> DotSet {
        var result = Set<Dot>()
        for dot in lhs.dots where rhs.dots.contains(dot) || !rhsContext.contains(dot) { result.insert(dot) }
        for dot in rhs.dots where !lhsContext.contains(dot) { result.insert(dot) }
        return DotSet(result)
    }

    public var description: String { "{" + dots.sorted().map(\.description).joined(separator: ", ") + "}" }

    public func encode(into writer: inout ByteWriter) {
        let sorted = dots.sorted()
        writer.writeVarint(sorted.count)
        for dot in sorted { dot.encode(into: &writer) }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: CRDTLimits.maximumElementCount, minimumElementBytes: 2)
        dots = []
        dots.reserveCapacity(count)
        var previous: Dot? = nil
        for _ in 0..<count {
            let start = reader.offset
            let dot = try Dot(decoding: &reader)
            guard previous.map({ $0 < dot }) ?? true else {
                throw BinaryDecodingError(.invalidValue("dot set not strictly sorted"), at: start)
            }
            dots.insert(dot)
            previous = dot
        }
    }
}

/// A map from dots to values that never change once written: the store of a
/// multi-value register (each concurrent write is one dot) and of a causal
/// counter (each replica's latest total is one dot).
public struct DotFunction<Value: Sendable & Equatable & CompactCodable>: DotStore {
    public private(set) var entries: [Dot: Value]

    public init() { entries = [:] }
    public init(_ entries: [Dot: Value]) { self.entries = entries }

    public var isBottom: Bool { entries.isEmpty }
    public func forEachDot(_ body: (Dot) -> Void) { entries.keys.forEach(body) }

    public static func join(
        _ lhs: DotFunction, _ lhsContext: CausalContext, _ rhs: DotFunction, _ rhsContext: CausalContext
    ) -> DotFunction {
        var result: [Dot: Value] = [:]
        for (dot, value) in lhs.entries {
            if let other = rhs.entries[dot] {
                // One dot, one write: the values agree. If a misbehaving
                // replica reused a dot, pick by encoding to stay commutative.
                result[dot] = value == other || value.encodedBytes.lexicographicallyPrecedes(other.encodedBytes) ? other : value
            } else if !rhsContext.contains(dot) {
                result[dot] = value
            }
        }
        for (dot, value) in rhs.entries where lhs.entries[dot] == nil && !lhsContext.contains(dot) { result[dot] = value }
        return DotFunction(result)
    }

    /// The entries sorted by dot.
    public var sortedEntries: [(dot: Dot, value: Value)] {
        entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    public func encode(into writer: inout ByteWriter) {
        let sorted = sortedEntries
        writer.writeVarint(sorted.count)
        for (dot, value) in sorted {
            dot.encode(into: &writer)
            value.encode(into: &writer)
        }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: CRDTLimits.maximumElementCount, minimumElementBytes: 2)
        entries = [:]
        entries.reserveCapacity(count)
        var previous: Dot? = nil
        for _ in 0..<count {
            let start = reader.offset
            let dot = try Dot(decoding: &reader)
            guard previous.map({ $0 < dot }) ?? true else {
                throw BinaryDecodingError(.invalidValue("dot function not strictly sorted"), at: start)
            }
            entries[dot] = try Value(decoding: &reader)
            previous = dot
        }
    }
}

/// A map from keys to dot stores, all sharing one causal context: the store
/// of an observed-remove set (key → `DotSet`) and of an observed-remove map
/// (key → the nested CRDT's store). A key whose store joins to bottom
/// disappears.
public struct DotMap<Key: Hashable & Sendable & CompactCodable, Store: DotStore>: DotStore {
    public private(set) var entries: [Key: Store]

    public init() { entries = [:] }
    public init(_ entries: [Key: Store]) { self.entries = entries.filter { !$0.value.isBottom } }

    public var isBottom: Bool { entries.isEmpty }
    public func forEachDot(_ body: (Dot) -> Void) {
        for store in entries.values { store.forEachDot(body) }
    }

    public subscript(key: Key) -> Store? { entries[key] }

    public static func join(_ lhs: DotMap, _ lhsContext: CausalContext, _ rhs: DotMap, _ rhsContext: CausalContext) -> DotMap {
        var result: [Key: Store] = [:]
        for (key, store) in lhs.entries {
            let joined = Store.join(store, lhsContext, rhs.entries[key] ?? Store(), rhsContext)
            if !joined.isBottom { result[key] = joined }
        }
        for (key, store) in rhs.entries where lhs.entries[key] == nil {
            let joined = Store.join(Store(), lhsContext, store, rhsContext)
            if !joined.isBottom { result[key] = joined }
        }
        return DotMap(result)
    }

    public func encode(into writer: inout ByteWriter) {
        let sorted = CanonicalOrder.sorted(entries.keys)
        writer.writeVarint(sorted.count)
        for (bytes, key) in sorted {
            writer.writeRaw(bytes)
            entries[key]!.encode(into: &writer)
        }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let count = try reader.readCount(limit: CRDTLimits.maximumElementCount, minimumElementBytes: 2)
        entries = [:]
        entries.reserveCapacity(count)
        var previous: [UInt8]? = nil
        for _ in 0..<count {
            let key: Key = try CanonicalOrder.decode(&reader, after: &previous)
            let start = reader.offset
            let store = try Store(decoding: &reader)
            guard !store.isBottom else {
                throw BinaryDecodingError(.invalidValue("dot map entry with an empty store"), at: start)
            }
            entries[key] = store
        }
    }
}
