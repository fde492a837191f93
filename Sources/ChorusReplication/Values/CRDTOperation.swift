import ChorusCRDT
import ChorusClocks
import ChorusCore

/// An operation on a CRDT-typed key, applied once, at the replica that
/// mints its dots (the coordinating replica), whose delta then travels to
/// the other replicas. Each case maps onto one `ChorusCRDT` mutator, so the
/// semantics under concurrency are the library's (README lists them).
public enum CRDTOperation: Hashable, Sendable {
    case counterIncrement(Int64)
    /// Forgets the totals the coordinating replica has seen; increments
    /// concurrent with the reset survive (observed-remove).
    case counterReset
    case setInsert([[UInt8]])
    /// Removes the element instances the coordinating replica has seen: a
    /// concurrent insert wins.
    case setRemove([[UInt8]])
    case setClear
    case registerAssign(TimestampedBytes)
    case registerClear
    case flagEnable
    case flagDisable
    case map([MapOperation])
    case mapClear

    /// The kind of key the operation applies to.
    public var kind: ValueKind {
        switch self {
        case .counterIncrement, .counterReset: .counter
        case .setInsert, .setRemove, .setClear: .set
        case .registerAssign, .registerClear: .register
        case .flagEnable, .flagDisable: .flag
        case .map, .mapClear: .map
        }
    }

    /// The operation that removes everything a key of `kind` holds (a
    /// `DEL`), or nil for versioned keys, which delete with a tombstone.
    public static func removeAll(_ kind: ValueKind) -> CRDTOperation? {
        switch kind {
        case .versioned: nil
        case .counter: .counterReset
        case .set: .setClear
        case .map: .mapClear
        case .register: .registerClear
        case .flag: .flagDisable
        }
    }
}

/// One change to a `RiakMap` field.
public indirect enum MapOperation: Hashable, Sendable {
    case update(FieldKey, MapFieldOperation)
    case remove(FieldKey)
}

/// What a map field update does, by the field's kind.
public indirect enum MapFieldOperation: Hashable, Sendable {
    case increment(Int64)
    case assign(String)
    case enable
    case disable
    case insert(String)
    case remove(String)
    case map([MapOperation])

    var fieldKind: FieldKind {
        switch self {
        case .increment: .counter
        case .assign: .register
        case .enable, .disable: .flag
        case .insert, .remove: .set
        case .map: .map
        }
    }
}

/// Why a write was refused before anything was stored.
public enum OperationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The operation's kind is not the key's kind.
    case wrongKind(key: ValueKind, operation: ValueKind)
    /// A map field update names a field whose kind the operation does not fit.
    case wrongFieldKind(FieldKey)
    case counterOverflow
    /// The write would leave more siblings than the limit allows; the client
    /// must read and write back with the context it read.
    case tooManySiblings(count: Int, limit: Int)
    /// A map operation nests deeper than `CRDTLimits.maximumNestingDepth`.
    case nestingTooDeep
    /// A causal keyspace's coordinating replica has too many writes not yet
    /// stored everywhere (`maximumOriginLogCount`): back-pressure.
    case backlogFull

    public var description: String {
        switch self {
        case .wrongKind(let key, let operation): "a \(operation) operation on a \(key) key"
        case .wrongFieldKind(let field): "operation does not fit field \(field)"
        case .counterOverflow: "counter overflow"
        case .tooManySiblings(let count, let limit): "\(count) siblings exceed the limit of \(limit)"
        case .nestingTooDeep: "map operations nested too deep"
        case .backlogFull: "causal backlog full"
        }
    }
}

extension ReplicatedValue {
    /// Applies `operation` as `replica`, mutating this value, and returns
    /// the delta to ship. Only the coordinating replica runs this: the dots
    /// it mints come from this value's context, which holds every dot the
    /// replica ever minted for the key (mints are durable before they leave).
    public mutating func apply(_ operation: CRDTOperation, by replica: ReplicaID) throws(OperationError) -> ReplicatedValue {
        switch (self, operation) {
        case (.counter(var counter), .counterIncrement(let amount)):
            let delta: CausalCounter
            do { delta = try counter.increment(by: amount, by: replica) } catch { throw .counterOverflow }
            self = .counter(counter)
            return .counter(delta)
        case (.counter(var counter), .counterReset):
            let delta = counter.reset()
            self = .counter(counter)
            return .counter(delta)
        case (.set(var set), .setInsert(let elements)):
            var delta = ORSet<[UInt8]>()
            for element in elements { delta.merge(set.insert(element, by: replica)) }
            self = .set(set)
            return .set(delta)
        case (.set(var set), .setRemove(let elements)):
            var delta = ORSet<[UInt8]>()
            for element in elements { delta.merge(set.remove(element)) }
            self = .set(set)
            return .set(delta)
        case (.set(var set), .setClear):
            let delta = set.removeAll()
            self = .set(set)
            return .set(delta)
        case (.register(var register), .registerAssign(let value)):
            let delta = register.assign(value, by: replica)
            self = .register(register)
            return .register(delta)
        case (.register(var register), .registerClear):
            let delta = register.clear()
            self = .register(register)
            return .register(delta)
        case (.flag(var flag), .flagEnable):
            let delta = flag.enable(by: replica)
            self = .flag(flag)
            return .flag(delta)
        case (.flag(var flag), .flagDisable):
            let delta = flag.disable()
            self = .flag(flag)
            return .flag(delta)
        case (.map(var map), .map(let operations)):
            var delta = RiakMap()
            for operation in operations { delta.merge(try Self.apply(operation, to: &map, by: replica, depth: 0)) }
            self = .map(map)
            return .map(delta)
        case (.map(var map), .mapClear):
            let delta = map.removeAll()
            self = .map(map)
            return .map(delta)
        default:
            throw .wrongKind(key: kind, operation: operation.kind)
        }
    }

    private static func apply(
        _ operation: MapOperation, to map: inout RiakMap, by replica: ReplicaID, depth: Int
    ) throws(OperationError) -> RiakMap {
        guard depth < CRDTLimits.maximumNestingDepth else { throw .nestingTooDeep }
        switch operation {
        case .remove(let field):
            return map.removeValue(forKey: field)
        case .update(let field, let fieldOperation):
            guard field.kind == fieldOperation.fieldKind else { throw .wrongFieldKind(field) }
            return try map.update(field) { (value: inout RiakField) throws(OperationError) -> RiakField in
                try Self.apply(fieldOperation, to: &value, by: replica, depth: depth)
            }
        }
    }

    private static func apply(
        _ operation: MapFieldOperation, to field: inout RiakField, by replica: ReplicaID, depth: Int
    ) throws(OperationError) -> RiakField {
        switch operation {
        case .increment(let amount):
            do { return try field.increment(by: amount, by: replica) } catch { throw .counterOverflow }
        case .assign(let text): return field.assign(text, by: replica)
        case .enable: return field.enable(by: replica)
        case .disable: return field.disable()
        case .insert(let element): return field.insert(element, by: replica)
        case .remove(let element): return field.remove(element)
        case .map(let operations):
            var delta: RiakField? = nil
            for nested in operations {
                let step: RiakField
                switch nested {
                case .remove(let key): step = field.removeValue(forKey: key)
                case .update(let key, let nestedOperation):
                    guard key.kind == nestedOperation.fieldKind else { throw .wrongFieldKind(key) }
                    guard depth + 1 < CRDTLimits.maximumNestingDepth else { throw .nestingTooDeep }
                    step = try field.update(key) { (value: inout RiakField) throws(OperationError) -> RiakField in
                        try Self.apply(nestedOperation, to: &value, by: replica, depth: depth + 1)
                    }
                }
                if delta == nil { delta = step } else { delta!.merge(step) }
            }
            return delta ?? RiakField()
        }
    }
}
