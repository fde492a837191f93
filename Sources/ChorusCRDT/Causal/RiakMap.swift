import ChorusClocks
import ChorusCore

/// The kind of CRDT a `RiakMap` field holds.
public enum FieldKind: UInt8, Sendable, CaseIterable, Comparable {
    case counter = 0, register = 1, flag = 2, set = 3, map = 4

    public static func < (lhs: FieldKind, rhs: FieldKind) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A `RiakMap` field's key: its name and its kind. As in Riak, "likes" the
/// counter and "likes" the set are two fields, so replicas that concurrently
/// create a field of the same name with different kinds never conflict.
public struct FieldKey: Hashable, Comparable, Sendable, CompactCodable, CustomStringConvertible {
    public var name: String
    public var kind: FieldKind

    public init(_ name: String, _ kind: FieldKind) {
        self.name = name
        self.kind = kind
    }

    public static func < (lhs: FieldKey, rhs: FieldKey) -> Bool { (lhs.name, lhs.kind) < (rhs.name, rhs.kind) }
    public var description: String { "\(name):\(kind)" }

    public func encode(into writer: inout ByteWriter) {
        writer.writeString(name)
        writer.write(kind.rawValue)
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        name = try reader.readString(limit: CompactCodableLimits.maximumByteCount)
        let start = reader.offset
        let raw = try reader.readByte()
        guard let kind = FieldKind(rawValue: raw) else {
            throw BinaryDecodingError(.invalidValue("field kind \(raw)"), at: start)
        }
        self.kind = kind
    }
}

/// The store of one `RiakMap` field: one component per kind. Only the
/// component its key's kind names is ever written, but a product is what
/// lets one Swift type hold any kind, and its join is componentwise.
public struct FieldStore: DotStore {
    public internal(set) var counter: DotFunction<Int64>
    public internal(set) var register: DotFunction<String>
    public internal(set) var flag: DotSet
    public internal(set) var set: DotMap<String, DotSet>
    public internal(set) var map: DotMap<FieldKey, FieldStore>

    public init() {
        counter = DotFunction()
        register = DotFunction()
        flag = DotSet()
        set = DotMap()
        map = DotMap()
    }

    public var isBottom: Bool {
        counter.isBottom && register.isBottom && flag.isBottom && set.isBottom && map.isBottom
    }

    public func forEachDot(_ body: (Dot) -> Void) {
        counter.forEachDot(body)
        register.forEachDot(body)
        flag.forEachDot(body)
        set.forEachDot(body)
        map.forEachDot(body)
    }

    public static func join(_ lhs: FieldStore, _ lhsContext: CausalContext, _ rhs: FieldStore, _ rhsContext: CausalContext) -> FieldStore {
        var result = FieldStore()
        result.counter = .join(lhs.counter, lhsContext, rhs.counter, rhsContext)
        result.register = .join(lhs.register, lhsContext, rhs.register, rhsContext)
        result.flag = .join(lhs.flag, lhsContext, rhs.flag, rhsContext)
        result.set = .join(lhs.set, lhsContext, rhs.set, rhsContext)
        result.map = .join(lhs.map, lhsContext, rhs.map, rhsContext)
        return result
    }

    /// A bit per non-empty component, then those components.
    public func encode(into writer: inout ByteWriter) {
        var present: UInt8 = 0
        if !counter.isBottom { present |= 1 }
        if !register.isBottom { present |= 2 }
        if !flag.isBottom { present |= 4 }
        if !set.isBottom { present |= 8 }
        if !map.isBottom { present |= 16 }
        writer.write(present)
        if !counter.isBottom { counter.encode(into: &writer) }
        if !register.isBottom { register.encode(into: &writer) }
        if !flag.isBottom { flag.encode(into: &writer) }
        if !set.isBottom { set.encode(into: &writer) }
        if !map.isBottom { map.encode(into: &writer) }
    }

    public init(decoding reader: inout ByteReader) throws(BinaryDecodingError) {
        try self.init(decoding: &reader, depth: 0)
    }

    /// Decodes nested maps itself, counting depth, so hostile input cannot
    /// recurse past `CRDTLimits.maximumNestingDepth`.
    init(decoding reader: inout ByteReader, depth: Int) throws(BinaryDecodingError) {
        let start = reader.offset
        guard depth < CRDTLimits.maximumNestingDepth else {
            throw BinaryDecodingError(.invalidValue("maps nested deeper than \(CRDTLimits.maximumNestingDepth)"), at: start)
        }
        let present = try reader.readByte()
        guard present != 0, present < 32 else {
            throw BinaryDecodingError(.invalidValue("field component mask \(present)"), at: start)
        }
        self.init()
        if present & 1 != 0 { counter = try DotFunction(decoding: &reader) }
        if present & 2 != 0 { register = try DotFunction(decoding: &reader) }
        if present & 4 != 0 { flag = try DotSet(decoding: &reader) }
        if present & 8 != 0 { set = try DotMap(decoding: &reader) }
        if present & 16 != 0 {
            let count = try reader.readCount(limit: CRDTLimits.maximumElementCount, minimumElementBytes: 3)
            var entries: [FieldKey: FieldStore] = [:]
            var previous: [UInt8]? = nil
            for _ in 0..<count {
                let key: FieldKey = try CanonicalOrder.decode(&reader, after: &previous)
                entries[key] = try FieldStore(decoding: &reader, depth: depth + 1)
            }
            map = DotMap(entries)
        }
        let componentsPresent =
            (counter.isBottom ? 0 : 1) | (register.isBottom ? 0 : 2) | (flag.isBottom ? 0 : 4) | (set.isBottom ? 0 : 8)
            | (map.isBottom ? 0 : 16)
        guard componentsPresent == present else {
            throw BinaryDecodingError(.invalidValue("a present field component is empty"), at: start)
        }
    }
}

/// One field of a `RiakMap`: a counter, a multi-value register of strings,
/// an enable-wins flag, an observed-remove set of strings, or a nested map,
/// as its key's kind says. Its mutators are those of `CausalCounter`,
/// `MVRegister`, `EWFlag`, `ORSet` and `ORMap`, run on the matching
/// component, so it keeps their semantics exactly.
public struct RiakField: CausalCRDT {
    public private(set) var store: FieldStore
    public private(set) var context: CausalContext

    public init(store: FieldStore, context: CausalContext) {
        self.store = store
        self.context = context
    }

    // MARK: Reading

    public var counter: CausalCounter { CausalCounter(store: store.counter, context: context) }
    public var register: MVRegister<String> { MVRegister(store: store.register, context: context) }
    public var flag: EWFlag { EWFlag(store: store.flag, context: context) }
    public var set: ORSet<String> { ORSet(store: store.set, context: context) }
    public var map: RiakMap { RiakMap(store: store.map, context: context) }

    // MARK: Mutating

    /// Runs `mutation` on one component, viewed as its own CRDT, and turns
    /// its delta into this field's delta.
    private mutating func mutate<Component: CausalCRDT, Failure: Error>(
        _ component: WritableKeyPath<FieldStore, Component.Store>, as type: Component.Type,
        _ mutation: (inout Component) throws(Failure) -> Component
    ) throws(Failure) -> RiakField {
        var value = Component(store: store[keyPath: component], context: context)
        let nested = try mutation(&value)
        var deltaStore = FieldStore()
        deltaStore[keyPath: component] = nested.store
        let delta = RiakField(store: deltaStore, context: nested.context)
        merge(delta)
        return delta
    }

    @discardableResult
    public mutating func increment(by amount: Int64 = 1, by replica: ReplicaID) throws(CRDTError) -> RiakField {
        try mutate(\.counter, as: CausalCounter.self) { counter throws(CRDTError) in try counter.increment(by: amount, by: replica) }
    }

    @discardableResult
    public mutating func assign(_ value: String, by replica: ReplicaID) -> RiakField {
        mutate(\.register, as: MVRegister<String>.self) { $0.assign(value, by: replica) }
    }

    @discardableResult
    public mutating func enable(by replica: ReplicaID) -> RiakField {
        mutate(\.flag, as: EWFlag.self) { $0.enable(by: replica) }
    }

    @discardableResult
    public mutating func disable() -> RiakField {
        mutate(\.flag, as: EWFlag.self) { $0.disable() }
    }

    @discardableResult
    public mutating func insert(_ element: String, by replica: ReplicaID) -> RiakField {
        mutate(\.set, as: ORSet<String>.self) { $0.insert(element, by: replica) }
    }

    @discardableResult
    public mutating func remove(_ element: String) -> RiakField {
        mutate(\.set, as: ORSet<String>.self) { $0.remove(element) }
    }

    /// Updates a field of the nested map.
    @discardableResult
    public mutating func update<Failure: Error>(
        _ key: FieldKey, _ mutation: (inout RiakField) throws(Failure) -> RiakField
    ) throws(Failure) -> RiakField {
        try mutate(\.map, as: RiakMap.self) { map throws(Failure) in try map.update(key, mutation) }
    }

    /// Removes a field of the nested map.
    @discardableResult
    public mutating func removeValue(forKey key: FieldKey) -> RiakField {
        mutate(\.map, as: RiakMap.self) { $0.removeValue(forKey: key) }
    }
}

/// A Riak-style map (Brown, Cribbs, Meiklejohn and Elliott, "Riak DT Map: a
/// Composable, Convergent Replicated Dictionary", PaPEC 2014): fields keyed
/// by name and kind, each a counter, register, flag, set or nested map. It is
/// an `ORMap` of `RiakField`s, so concurrent remove and update behave as
/// `ORMap` documents: the update wins and only its effect survives.
///
/// ```swift
/// var profile = RiakMap()
/// profile.update(FieldKey("visits", .counter)) { try! $0.increment(by: replica) }
/// profile.update(FieldKey("tags", .set)) { $0.insert("swift", by: replica) }
/// profile.update(FieldKey("address", .map)) { address in
///     address.update(FieldKey("city", .register)) { $0.assign("Lisbon", by: replica) }
/// }
/// ```
public typealias RiakMap = ORMap<FieldKey, RiakField>
