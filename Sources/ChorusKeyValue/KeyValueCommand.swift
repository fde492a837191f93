import ChorusCore

/// A write to the replicated key-value store, as it travels in a Raft log entry.
///
/// Every write carries its client session (thesis §6.3): `clientID` names the
/// client and `sequence` numbers its requests, so a command retried after a
/// lost acknowledgement is recognised and applied at most once. `clientID` 0
/// means "no session": such a command is applied every time it is committed.
public struct KeyValueCommand: Sendable, Hashable {
    public var clientID: UInt64
    public var sequence: UInt64
    public var operation: KeyValueOperation

    public init(clientID: UInt64, sequence: UInt64, operation: KeyValueOperation) {
        self.clientID = clientID
        self.sequence = sequence
        self.operation = operation
    }

    /// The compact binary form: a format tag, varint session fields, then the
    /// operation's length-prefixed key and value.
    ///
    ///     tag(1) clientID(varint) sequence(varint) key(len+utf8) [expected(varint)] [value(len+bytes)]
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + operation.key.utf8.count + (operation.value?.count ?? 0))
        switch operation {
        case .put: writer.write(Self.tagPut)
        case .delete: writer.write(Self.tagDelete)
        case .compareAndSet: writer.write(Self.tagCompareAndSet)
        }
        writer.writeVarint(clientID)
        writer.writeVarint(sequence)
        writer.writeString(operation.key)
        switch operation {
        case .put(_, let value):
            writer.writeLengthPrefixed(value)
        case .delete:
            break
        case .compareAndSet(_, let expectedVersion, let value):
            writer.writeVarint(expectedVersion.rawValue)
            writer.writeLengthPrefixed(value)
        }
        return writer.bytes
    }

    /// Decodes `encoded()`'s output, bounding every length by `limits`.
    public init(decoding bytes: [UInt8], limits: KeyValueLimits = .default) throws(BinaryDecodingError) {
        try self.init(decoding: bytes[...], limits: limits)
    }

    /// Decodes `encoded()`'s output from a slice (a log entry's bytes after the machine tag).
    public init(decoding bytes: ArraySlice<UInt8>, limits: KeyValueLimits = .default) throws(BinaryDecodingError) {
        var reader = ByteReader(bytes)
        let tag = try reader.readByte()
        clientID = try reader.readVarint()
        sequence = try reader.readVarint()
        let key = try reader.readString(limit: limits.maxKeyBytes)
        switch tag {
        case Self.tagPut:
            operation = .put(key: key, value: Array(try reader.readLengthPrefixed(limit: limits.maxValueBytes)))
        case Self.tagDelete:
            operation = .delete(key: key)
        case Self.tagCompareAndSet:
            let expected = LogIndex(try reader.readVarint())
            let value = Array(try reader.readLengthPrefixed(limit: limits.maxValueBytes))
            operation = .compareAndSet(key: key, expectedVersion: expected, value: value)
        default:
            throw BinaryDecodingError(.invalidValue("key-value command tag \(tag)"), at: 0)
        }
        try reader.expectEnd()
    }

    static let tagPut: UInt8 = 1
    static let tagDelete: UInt8 = 2
    static let tagCompareAndSet: UInt8 = 3
}

/// What a write does. A key's version is the log index of the last write that
/// changed it; version 0 means "absent".
public enum KeyValueOperation: Sendable, Hashable {
    case put(key: String, value: [UInt8])
    case delete(key: String)
    /// Writes `value` only if the key's current version is `expectedVersion`
    /// (`LogIndex.zero`: only if the key is absent).
    case compareAndSet(key: String, expectedVersion: LogIndex, value: [UInt8])

    public var key: String {
        switch self {
        case .put(let key, _), .delete(let key), .compareAndSet(let key, _, _): key
        }
    }

    var value: [UInt8]? {
        switch self {
        case .put(_, let value), .compareAndSet(_, _, let value): value
        case .delete: nil
        }
    }
}

/// The outcome of an applied write.
public enum KeyValueResult: Sendable, Hashable {
    /// A put, or a compare-and-set that matched: the key's new version.
    case written(version: LogIndex)
    /// A delete; `existed` says whether there was a value to delete.
    case deleted(existed: Bool)
    /// A compare-and-set whose expectation did not hold: the current version
    /// (`LogIndex.zero` if the key is absent).
    case compareAndSetMismatch(currentVersion: LogIndex)
    /// The client's session was evicted (too many sessions); the command was
    /// not applied and the client must start a new session.
    case sessionExpired
    /// A write that would add a key beyond `KeyValueLimits.maxKeys`; nothing
    /// was applied. Writes to keys that exist, and deletes, still succeed.
    case storeFull(maxKeys: Int)
    /// The command was malformed; nothing was applied.
    case rejected(String)
}

/// The limits of the store, so that a hostile or corrupt command or snapshot
/// cannot make it allocate without bound.
public struct KeyValueLimits: Sendable, Hashable {
    public var maxKeyBytes: Int
    public var maxValueBytes: Int
    /// Live client sessions kept for de-duplication; the least recently active
    /// is evicted beyond this.
    public var maxSessions: Int
    /// The most keys the store holds: a write that would add one more is
    /// refused (`KeyValueResult.storeFull`), and a snapshot with more is rejected.
    public var maxKeys: Int

    public init(maxKeyBytes: Int, maxValueBytes: Int, maxSessions: Int, maxKeys: Int) {
        self.maxKeyBytes = maxKeyBytes
        self.maxValueBytes = maxValueBytes
        self.maxSessions = maxSessions
        self.maxKeys = maxKeys
    }

    public static let `default` = KeyValueLimits(
        maxKeyBytes: 1_024, maxValueBytes: 1 << 20, maxSessions: 65_536, maxKeys: 1 << 24)
}
