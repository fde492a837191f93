import ChorusCore

/// A read of the key-value store, answered from its applied state.
public enum KeyValueQuery: Sendable, Hashable {
    /// The value and version of one key.
    case get(key: String, keyspace: String = KeyspaceName.defaultName)
    /// Up to `limit` keys of `keyspace` that start with `prefix`, in byte
    /// order, after `after` (a continuation: the last key of the previous page).
    case range(keyspace: String, prefix: String, after: String?, limit: Int)
    /// One keyspace's definition.
    case keyspace(String)
    /// Every keyspace.
    case keyspaces
    /// The cluster's epoch, once established.
    case epoch
}

/// The answer to a `KeyValueQuery`, case for case.
public enum KeyValueAnswer: Sendable, Hashable {
    /// The key's record, or nil if it is absent.
    case record(KeyValueStore.Record?)
    /// A page of a range read: the entries, and the continuation if more may follow.
    /// Nil when the keyspace does not exist or is not a Raft keyspace.
    case range(KeyValueRange?)
    case keyspace(KeyspaceDefinition?)
    case keyspaces([KeyspaceEntry])
    case epoch(UInt64?)
}

/// A page of a range read.
public struct KeyValueRange: Sendable, Hashable {
    public var entries: [KeyValueEntry]
    /// The last key returned, to pass as `after` for the next page; nil at the end.
    public var continuation: String?
}

public struct KeyValueEntry: Sendable, Hashable {
    public var key: String
    public var record: KeyValueStore.Record
}

public struct KeyspaceEntry: Sendable, Hashable {
    public var name: String
    public var definition: KeyspaceDefinition

    public init(name: String, definition: KeyspaceDefinition) {
        self.name = name
        self.definition = definition
    }
}

extension KeyValueStore {
    /// The most entries one range page returns.
    public static let maximumRangeLimit = 10_000
}

/// The key-value store behind the `ReplicatedStateMachine` seam: commands
/// are `KeyValueCommand`s, reads are `KeyValueQuery`s, the snapshot is
/// `snapshot()`'s encoding.
extension KeyValueStore: ReplicatedStateMachine {
    public func read(_ query: KeyValueQuery) -> KeyValueAnswer {
        switch query {
        case .get(let key, let keyspace):
            return .record(get(key, keyspace: keyspace))
        case .range(let keyspace, let prefix, let after, let limit):
            guard definition(of: keyspace)?.mode == .raft else { return .range(nil) }
            let bounded = max(0, min(limit, Self.maximumRangeLimit))
            let page = range(keyspace: keyspace, prefix: prefix, after: after, limit: bounded + 1)
            let entries = page.prefix(bounded).map { KeyValueEntry(key: $0.key, record: $0.record) }
            return .range(KeyValueRange(entries: Array(entries), continuation: page.count > bounded ? entries.last?.key : nil))
        case .keyspace(let name):
            return .keyspace(definition(of: name))
        case .keyspaces:
            return .keyspaces(keyspaceDefinitions.map { KeyspaceEntry(name: $0.name, definition: $0.definition) })
        case .epoch:
            return .epoch(epoch)
        }
    }

    public mutating func restore(from snapshot: [UInt8], at index: LogIndex) throws(BinaryDecodingError) {
        if snapshot.isEmpty {
            self = KeyValueStore(limits: limits)
            appliedIndex = index
            return
        }
        let restored = try KeyValueStore(restoring: snapshot, limits: limits)
        guard restored.appliedIndex == index else {
            throw BinaryDecodingError(
                .invalidValue("key-value snapshot at \(restored.appliedIndex.rawValue), expected \(index.rawValue)"), at: 0)
        }
        self = restored
    }
}
