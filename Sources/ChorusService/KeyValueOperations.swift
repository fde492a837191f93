import ChorusAPI
import ChorusCore
import ChorusKeyValue

/// A client's idempotency session for a write (thesis §6.3): the same pair
/// retried is applied at most once.
public struct WriteSession: Sendable, Hashable {
    public var clientID: UInt64
    public var sequence: UInt64

    public init(clientID: UInt64, sequence: UInt64) {
        self.clientID = clientID
        self.sequence = sequence
    }
}

/// When a put may take effect.
public enum WriteCondition: Sendable, Hashable {
    case always
    /// Compare-and-set: only if the key's version is this one.
    case version(LogIndex)
    /// Create only: only if the key is absent.
    case absent
}

/// The key-value operations, as typed values every front end builds.
public enum KeyValueRequest: Sendable, Hashable {
    case put(key: String, value: [UInt8], condition: WriteCondition, session: WriteSession?)
    case delete(key: String, session: WriteSession?)
    case get(key: String, consistency: ConsistencyLevel, minimumIndex: LogIndex)

    public var key: String {
        switch self {
        case .put(let key, _, _, _), .delete(let key, _), .get(let key, _, _): key
        }
    }
}

/// A write's answer.
public struct KeyValueWriteResponse: Sendable, Hashable {
    /// The key's new version (puts), nil for deletes.
    public var version: LogIndex?
    /// Whether a delete found a value.
    public var deleted: Bool?
    /// The log index at which the write was applied.
    public var index: LogIndex
    /// The replica's applied index when it answered (≥ `index`).
    public var appliedIndex: LogIndex
}

/// A read's answer: the record, or nil for an absent key.
public struct KeyValueReadResponse: Sendable, Hashable {
    public var record: KeyValueStore.Record?
    public var appliedIndex: LogIndex
}
