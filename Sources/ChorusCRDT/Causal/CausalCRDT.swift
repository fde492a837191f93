import ChorusClocks
import ChorusCore

/// A causal CRDT: a dot store and the causal context of everything its
/// replica has seen (Almeida, Shoker and Baquero, JPDC 2018). The join is
/// the store's join and the union of the contexts.
///
/// Each mutator builds its delta from the replica's own context (a new dot
/// for an addition, the dots it removes for a removal), joins it into the
/// state, and returns it. Because `ORMap` stores only the nested stores and
/// one shared context, every causal CRDT can be a value of a map: the map
/// rebuilds the nested value around the shared context, runs the nested
/// mutator, and wraps the nested delta (`ORMap.update`).
///
/// A join walks both stores, so joining even a one-dot delta into a large
/// set or map costs time linear in the state: deltas save bandwidth and
/// storage, not join time.
public protocol CausalCRDT: DeltaCRDT where Delta == Self {
    associatedtype Store: DotStore
    var store: Store { get }
    var context: CausalContext { get }
    init(store: Store, context: CausalContext)
}

extension CausalCRDT {
    public init() { self.init(store: Store(), context: CausalContext()) }

    public mutating func merge(_ other: Self) {
        self = Self(
            store: Store.join(store, context, other.store, other.context), context: context.merging(other.context))
    }

    public func encode(into writer: inout ByteWriter) {
        store.encode(into: &writer)
        context.encode(into: &writer)
    }

    /// Rejects a store holding dots its own context lacks: every dot in a
    /// causal CRDT was seen by it.
    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        let start = reader.offset
        let store = try Store(decoding: &reader)
        let context = try CausalContext(decoding: &reader)
        var consistent = true
        store.forEachDot { if !context.contains($0) { consistent = false } }
        guard consistent else {
            throw BinaryDecodingError(.invalidValue("a store dot is outside its causal context"), at: start)
        }
        self.init(store: store, context: context)
    }

    /// A delta that removes everything `store` holds: an empty store whose
    /// context is the removed dots.
    static func removal(of store: some DotStore) -> Self {
        Self(store: Store(), context: store.dotsAsContext)
    }
}

/// An enable-wins flag (Almeida, Shoker and Baquero, JPDC 2018): a flag
/// that concurrent enable and disable leave enabled. Enabling adds a dot;
/// disabling removes the dots it has seen, so an enable it has not seen
/// survives.
public struct EWFlag: CausalCRDT, CustomStringConvertible {
    public private(set) var store: DotSet
    public private(set) var context: CausalContext

    public init(store: DotSet, context: CausalContext) {
        self.store = store
        self.context = context
    }

    public var isEnabled: Bool { !store.isBottom }

    @discardableResult
    public mutating func enable(by replica: ReplicaID) -> EWFlag {
        let dot = context.nextDot(for: replica)
        var deltaContext = store.dotsAsContext
        deltaContext.insert(dot)
        let delta = EWFlag(store: DotSet([dot]), context: deltaContext)
        merge(delta)
        return delta
    }

    @discardableResult
    public mutating func disable() -> EWFlag {
        let delta = EWFlag.removal(of: store)
        merge(delta)
        return delta
    }

    public var description: String { "EWFlag(\(isEnabled))" }
}

/// A multi-value register (Almeida, Shoker and Baquero, JPDC 2018;
/// Dynamo's and Riak's siblings): a write replaces the values it has seen,
/// and concurrent writes are all kept, for the application to resolve with a
/// later write.
public struct MVRegister<Value: Sendable & Equatable & CompactCodable>: CausalCRDT {
    public private(set) var store: DotFunction<Value>
    public private(set) var context: CausalContext

    public init(store: DotFunction<Value>, context: CausalContext) {
        self.store = store
        self.context = context
    }

    /// The current values, one per concurrent write, ordered by dot.
    public var values: [Value] { store.sortedEntries.map(\.value) }

    /// Writes `value`, replacing every value this replica has seen.
    @discardableResult
    public mutating func assign(_ value: Value, by replica: ReplicaID) -> MVRegister {
        let dot = context.nextDot(for: replica)
        var deltaContext = store.dotsAsContext
        deltaContext.insert(dot)
        let delta = MVRegister(store: DotFunction([dot: value]), context: deltaContext)
        merge(delta)
        return delta
    }

    /// Removes every value seen (a concurrent write survives).
    @discardableResult
    public mutating func clear() -> MVRegister {
        let delta = MVRegister.removal(of: store)
        merge(delta)
        return delta
    }
}

/// An observed-remove set, add-wins (Shapiro et al., INRIA RR-7506, 2011; in
/// its optimized delta form from Almeida, Shoker and Baquero, JPDC
/// 2018, after Bieniusa et al., "An Optimized Conflict-free Replicated
/// Set", 2012).
///
/// Each add tags the element with a fresh dot; a remove drops the dots it has
/// seen. An add concurrent with a remove keeps its unseen dot, so the element
/// stays: add wins. A removed element leaves nothing behind but the dots in
/// the causal context, which compacts into a version vector: no tombstone
/// per element, ever (tested: a set that adds and removes a million distinct
/// elements keeps a context of one entry per replica).
public struct ORSet<Element: Hashable & Sendable & CompactCodable>: CausalCRDT {
    public private(set) var store: DotMap<Element, DotSet>
    public private(set) var context: CausalContext

    public init(store: DotMap<Element, DotSet>, context: CausalContext) {
        self.store = store
        self.context = context
    }

    public func contains(_ element: Element) -> Bool { store[element] != nil }
    public var elements: Set<Element> { Set(store.entries.keys) }
    public var count: Int { store.entries.count }

    @discardableResult
    public mutating func insert(_ element: Element, by replica: ReplicaID) -> ORSet {
        let dot = context.nextDot(for: replica)
        var deltaContext = (store[element] ?? DotSet()).dotsAsContext
        deltaContext.insert(dot)
        let delta = ORSet(store: DotMap([element: DotSet([dot])]), context: deltaContext)
        merge(delta)
        return delta
    }

    @discardableResult
    public mutating func remove(_ element: Element) -> ORSet {
        let delta = ORSet(store: DotMap(), context: (store[element] ?? DotSet()).dotsAsContext)
        merge(delta)
        return delta
    }

    @discardableResult
    public mutating func removeAll() -> ORSet {
        let delta = ORSet.removal(of: store)
        merge(delta)
        return delta
    }
}

/// A counter that can live inside an `ORMap` (Almeida, Shoker and Baquero,
/// JPDC 2018, "causal counter"): each replica keeps one dot holding its
/// running total, replaced on every change. Unlike `PNCounter` it is a
/// causal CRDT, so a map can remove it: a removal forgets the totals it saw,
/// and only increments concurrent with the removal survive.
public struct CausalCounter: CausalCRDT, CustomStringConvertible {
    public private(set) var store: DotFunction<Int64>
    public private(set) var context: CausalContext

    public init(store: DotFunction<Int64>, context: CausalContext) {
        self.store = store
        self.context = context
    }

    /// The sum of the replicas' totals, saturating at `Int64`'s bounds.
    public var value: Int64 {
        var total: Int64 = 0
        for (_, amount) in store.sortedEntries {
            let (sum, overflow) = total.addingReportingOverflow(amount)
            total = overflow ? (amount > 0 ? .max : .min) : sum
        }
        return total
    }

    /// Adds `amount` (negative to decrement) to `replica`'s total.
    @discardableResult
    public mutating func increment(by amount: Int64 = 1, by replica: ReplicaID) throws(CRDTError) -> CausalCounter {
        var current: Int64 = 0
        var seen = CausalContext()
        for (dot, total) in store.sortedEntries where dot.replica == replica {
            current = total
            seen.insert(dot)
        }
        let (next, overflow) = current.addingReportingOverflow(amount)
        guard !overflow else { throw CRDTError.counterOverflow }
        let dot = context.nextDot(for: replica)
        seen.insert(dot)
        let delta = CausalCounter(store: DotFunction([dot: next]), context: seen)
        merge(delta)
        return delta
    }

    /// Forgets every total seen (a concurrent increment survives).
    @discardableResult
    public mutating func reset() -> CausalCounter {
        let delta = CausalCounter.removal(of: store)
        merge(delta)
        return delta
    }

    public var description: String { "CausalCounter(\(value))" }
}
