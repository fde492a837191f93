import ChorusClocks
import ChorusCore

/// An observed-remove map whose values are causal CRDTs, nested to any depth
/// (Almeida, Shoker and Baquero, JPDC 2018; the design of Riak's maps,
/// Brown et al., "Riak DT Map: a Composable, Convergent Replicated
/// Dictionary", PaPEC 2014): a field can hold a `CausalCounter`, an
/// `MVRegister`, an `EWFlag`, an `ORSet` or another `ORMap`.
///
/// Every field of one `ORMap` has the same CRDT type; `RiakMap` is the map
/// whose fields may each be of any kind.
///
/// All fields share the map's one causal context, so a field is present
/// exactly while its nested store holds a dot, and removing a field is
/// removing the dots the remover has seen.
///
/// ## Concurrent remove and update
///
/// A remove concurrent with an update of the same field: **the update
/// wins, and only the update survives.** The remover's delta carries the
/// dots it saw, so the field's state it observed is gone on every replica;
/// the concurrent update made fresh dots the remover had not seen, so they
/// stay, and the field reappears holding only their effect:
/// - an `ORSet` field keeps only the elements added concurrently;
/// - an `MVRegister` field keeps only the values written concurrently;
/// - an `EWFlag` field stays enabled if it was enabled concurrently;
/// - a `CausalCounter` field keeps only the running totals of replicas that
///   changed it concurrently (a replica's new dot carries its whole total,
///   including what the remover saw of it: the causal counter's known
///   approximation of reset);
/// - a nested `ORMap` field applies these rules to its own fields.
///
/// A remove that has seen every update makes the field disappear for good,
/// and leaves no tombstone: the dots it removed are just part of the
/// context, which compacts into a version vector.
public struct ORMap<Key: Hashable & Sendable & CompactCodable, Value: CausalCRDT>: CausalCRDT {
    public private(set) var store: DotMap<Key, Value.Store>
    public private(set) var context: CausalContext

    public init(store: DotMap<Key, Value.Store>, context: CausalContext) {
        self.store = store
        self.context = context
    }

    /// The value of a field, seen through the map's shared context; nil when
    /// the field is absent.
    public subscript(key: Key) -> Value? {
        store[key].map { Value(store: $0, context: context) }
    }

    public var keys: Set<Key> { Set(store.entries.keys) }
    public var count: Int { store.entries.count }

    /// Mutates field `key` (created if absent) through `mutation`, which
    /// gets the field's value and must return the delta its own mutator
    /// returned. Returns the map's delta.
    ///
    /// ```swift
    /// map.update("likes") { counter in try! counter.increment(by: 1, by: replica) }
    /// ```
    @discardableResult
    public mutating func update<Failure: Error>(
        _ key: Key, _ mutation: (inout Value) throws(Failure) -> Value
    ) throws(Failure) -> ORMap {
        var value = Value(store: store[key] ?? Value.Store(), context: context)
        let nested = try mutation(&value)
        let delta = ORMap(store: DotMap([key: nested.store]), context: nested.context)
        merge(delta)
        return delta
    }

    /// Removes field `key`: the dots this replica has seen in it.
    @discardableResult
    public mutating func removeValue(forKey key: Key) -> ORMap {
        let removed = store[key] ?? Value.Store()
        let delta = ORMap(store: DotMap(), context: removed.dotsAsContext)
        merge(delta)
        return delta
    }

    /// Removes every field seen.
    @discardableResult
    public mutating func removeAll() -> ORMap {
        let delta = ORMap.removal(of: store)
        merge(delta)
        return delta
    }
}
