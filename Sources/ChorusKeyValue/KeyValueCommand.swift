import ChorusCore

/// A write to the replicated key-value store, as it travels in a Raft log entry.
///
/// Every write carries its client session (thesis §6.3): `clientID` names the
/// client and `sequence` numbers its requests, so a command retried after a
/// lost acknowledgement is recognised and applied at most once. `clientID` 0
/// means "no session": such a command is applied every time it is committed.
/// A command names its keyspace; catalog commands create or delete one.
public struct KeyValueCommand: Sendable, Hashable {
    public var clientID: UInt64
    public var sequence: UInt64
    public var keyspace: String
    public var operation: KeyValueOperation

    public init(clientID: UInt64, sequence: UInt64, keyspace: String = KeyspaceName.defaultName, operation: KeyValueOperation) {
        self.clientID = clientID
        self.sequence = sequence
        self.keyspace = keyspace
        self.operation = operation
    }

    /// The compact binary form: an operation tag, varint session fields, the
    /// keyspace, then the operation's fields, every length prefixed.
    ///
    ///     tag(1) clientID(varint) sequence(varint) keyspace(len+utf8) operation fields
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 24 + keyspace.utf8.count + (operation.key?.utf8.count ?? 0) + (operation.value?.count ?? 0))
        writer.write(operation.tag)
        writer.writeVarint(clientID)
        writer.writeVarint(sequence)
        writer.writeString(keyspace)
        switch operation {
        case .put(let key, let value):
            writer.writeString(key)
            writer.writeLengthPrefixed(value)
        case .delete(let key):
            writer.writeString(key)
        case .compareAndSet(let key, let expectedVersion, let value):
            writer.writeString(key)
            writer.writeVarint(expectedVersion.rawValue)
            writer.writeLengthPrefixed(value)
        case .createKeyspace(let definition):
            definition.write(to: &writer)
        case .deleteKeyspace:
            break
        case .establishEpoch(let epoch):
            writer.writeFixed(epoch)
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8], limits: KeyValueLimits = .default) throws(BinaryDecodingError) {
        try self.init(decoding: bytes[...], limits: limits)
    }

    /// Decodes `encoded()`'s output from a slice (a log entry's bytes after the
    /// machine tag), bounding every length by `limits`.
    public init(decoding bytes: ArraySlice<UInt8>, limits: KeyValueLimits = .default) throws(BinaryDecodingError) {
        var reader = ByteReader(bytes)
        let tag = try reader.readByte()
        clientID = try reader.readVarint()
        sequence = try reader.readVarint()
        keyspace = try reader.readString(limit: KeyspaceName.maximumBytes)
        switch tag {
        case KeyValueOperation.tagPut:
            let key = try reader.readString(limit: limits.maximumKeyBytes)
            operation = .put(key: key, value: Array(try reader.readLengthPrefixed(limit: limits.maximumValueBytes)))
        case KeyValueOperation.tagDelete:
            operation = .delete(key: try reader.readString(limit: limits.maximumKeyBytes))
        case KeyValueOperation.tagCompareAndSet:
            let key = try reader.readString(limit: limits.maximumKeyBytes)
            let expected = LogIndex(try reader.readVarint())
            let value = Array(try reader.readLengthPrefixed(limit: limits.maximumValueBytes))
            operation = .compareAndSet(key: key, expectedVersion: expected, value: value)
        case KeyValueOperation.tagCreateKeyspace:
            operation = .createKeyspace(try KeyspaceDefinition.read(&reader))
        case KeyValueOperation.tagDeleteKeyspace:
            operation = .deleteKeyspace
        case KeyValueOperation.tagEstablishEpoch:
            operation = .establishEpoch(try reader.readFixedUInt64())
        default:
            throw BinaryDecodingError(.invalidValue("key-value command tag \(tag)"), at: 0)
        }
        try reader.expectEnd()
    }
}

/// What a write does. A key's version is the log index of the last write that
/// changed it; version 0 means "absent".
public enum KeyValueOperation: Sendable, Hashable {
    case put(key: String, value: [UInt8])
    case delete(key: String)
    /// Writes `value` only if the key's current version is `expectedVersion`
    /// (`LogIndex.zero`: only if the key is absent).
    case compareAndSet(key: String, expectedVersion: LogIndex, value: [UInt8])
    /// Catalog: creates the command's keyspace with this definition.
    case createKeyspace(KeyspaceDefinition)
    /// Catalog: deletes the command's keyspace and every key in it.
    case deleteKeyspace
    /// The cluster's epoch, proposed once by its first leader: a random
    /// number that session tokens carry, so a token of another cluster (one
    /// re-created on the same addresses) is refused. The first one applied wins.
    case establishEpoch(UInt64)

    /// The key a data operation writes; nil for catalog operations.
    public var key: String? {
        switch self {
        case .put(let key, _), .delete(let key), .compareAndSet(let key, _, _): key
        case .createKeyspace, .deleteKeyspace, .establishEpoch: nil
        }
    }

    var value: [UInt8]? {
        switch self {
        case .put(_, let value), .compareAndSet(_, _, let value): value
        case .delete, .createKeyspace, .deleteKeyspace, .establishEpoch: nil
        }
    }

    var tag: UInt8 {
        switch self {
        case .put: Self.tagPut
        case .delete: Self.tagDelete
        case .compareAndSet: Self.tagCompareAndSet
        case .createKeyspace: Self.tagCreateKeyspace
        case .deleteKeyspace: Self.tagDeleteKeyspace
        case .establishEpoch: Self.tagEstablishEpoch
        }
    }

    static let tagPut: UInt8 = 1
    static let tagDelete: UInt8 = 2
    static let tagCompareAndSet: UInt8 = 3
    static let tagCreateKeyspace: UInt8 = 10
    static let tagDeleteKeyspace: UInt8 = 11
    static let tagEstablishEpoch: UInt8 = 12
}

/// The outcome of an applied write.
public enum KeyValueResult: Sendable, Hashable {
    /// A put, or a compare-and-set that matched: the key's new version.
    case written(version: LogIndex)
    /// A delete; `existed` says whether there was a value to delete, and
    /// `index` is the log index the delete was applied at (a retry answered
    /// from its session names the original's).
    case deleted(existed: Bool, index: LogIndex)
    /// A compare-and-set whose expectation did not hold: the current version
    /// (`LogIndex.zero` if the key is absent).
    case compareAndSetMismatch(currentVersion: LogIndex)
    /// The client's session was evicted (too many sessions); the command was
    /// not applied and the client must start a new session.
    case sessionExpired
    /// A write that would add a key beyond `KeyValueLimits.maximumKeys`; nothing
    /// was applied. Writes to keys that exist, and deletes, still succeed.
    case storeFull(maximumKeys: Int)
    /// The command was malformed; nothing was applied.
    case rejected(String)
    /// The keyspace does not exist (or is not a Raft keyspace, for data).
    case keyspaceNotFound(String)
    /// Data operations on a leaderless keyspace do not go through the log.
    case wrongReplicationMode(keyspace: String, mode: ReplicationMode)
    /// A keyspace was created, or already existed with this definition (idempotent).
    case keyspaceCreated(String)
    /// A keyspace of this name exists with another definition.
    case keyspaceExists(String, KeyspaceDefinition)
    /// A keyspace was deleted with this many keys.
    case keyspaceDeleted(String, keys: Int)
    /// The epoch in force (the first one established).
    case epoch(UInt64)
}

/// The limits of the store, so that a hostile or corrupt command or snapshot
/// cannot make it allocate without bound.
public struct KeyValueLimits: Sendable, Hashable {
    public var maximumKeyBytes: Int
    public var maximumValueBytes: Int
    /// Live client sessions kept for de-duplication; the least recently active
    /// is evicted beyond this.
    public var maximumSessions: Int
    /// The most keys the store holds: a write that would add one more is
    /// refused (`KeyValueResult.storeFull`), and a snapshot with more is rejected.
    public var maximumKeys: Int

    public init(maximumKeyBytes: Int, maximumValueBytes: Int, maximumSessions: Int, maximumKeys: Int) {
        self.maximumKeyBytes = maximumKeyBytes
        self.maximumValueBytes = maximumValueBytes
        self.maximumSessions = maximumSessions
        self.maximumKeys = maximumKeys
    }

    public static let `default` = KeyValueLimits(
        maximumKeyBytes: 1_024, maximumValueBytes: 1 << 20, maximumSessions: 65_536, maximumKeys: 1 << 24)
}
