import ChorusAPI
import ChorusCore
import ChorusKeyValue
import ChorusReplica

/// A client's idempotency session for a write (thesis §6.3): the same pair
/// retried is applied at most once.
public struct WriteSession: Sendable, Hashable {
    public var clientID: UInt64
    public var sequence: UInt64

    public init(clientID: UInt64, sequence: UInt64) {
        self.clientID = clientID
        self.sequence = sequence
    }

    /// The most digits of a client id or sequence number in the header: 19
    /// digits are always within UInt64, so the grammar alone decides.
    public static let maximumDigits = 19

    /// `X-Chorus-Idempotency`'s `<client>.<sequence>`: two positive decimal
    /// integers without leading zeros, of at most `maximumDigits` digits
    /// (exactly openapi.yaml's pattern); nil otherwise.
    public init?(header text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let client = Self.positiveOrZero(parts[0]), client > 0,
            let sequence = Self.positiveOrZero(parts[1]), sequence > 0
        else { return nil }
        self.init(clientID: client, sequence: sequence)
    }

    /// The header text of this session.
    public var header: String { "\(clientID).\(sequence)" }

    /// Decimal digits without a leading zero (but `0` itself), at most `maximumDigits`.
    public static func positiveOrZero(_ text: Substring) -> UInt64? {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= maximumDigits, first != UInt8(ascii: "0") || bytes.count == 1,
            bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
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

/// The key-value writes, as typed values every front end builds.
public enum KeyValueRequest: Sendable, Hashable {
    case put(key: String, keyspace: String = KeyspaceName.defaultName, value: [UInt8], condition: WriteCondition, session: WriteSession?)
    case delete(key: String, keyspace: String = KeyspaceName.defaultName, session: WriteSession?)

    public var key: String {
        switch self {
        case .put(let key, _, _, _, _), .delete(let key, _, _): key
        }
    }

    public var keyspace: String {
        switch self {
        case .put(_, let keyspace, _, _, _), .delete(_, let keyspace, _): keyspace
        }
    }
}

/// A key-value read: one key or a range of one keyspace, at a level (nil:
/// the keyspace's default), after what a session has seen.
public struct KeyValueReadRequest: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case key(String)
        /// Up to `limit` keys starting with `prefix`, after the continuation `after`.
        case range(prefix: String, after: String?, limit: Int)
    }

    public var keyspace: String
    public var target: Target
    public var consistency: ReadConsistency?
    /// What the session has seen; `sequential` and `session` reads wait for it.
    public var session: SessionToken?
    /// A bare index to read at least as new as (`X-Chorus-Min-Index`), as an
    /// alternative to a token.
    public var minimumIndex: LogIndex

    public init(
        keyspace: String = KeyspaceName.defaultName, target: Target, consistency: ReadConsistency? = nil,
        session: SessionToken? = nil, minimumIndex: LogIndex = .zero
    ) {
        self.keyspace = keyspace
        self.target = target
        self.consistency = consistency
        self.session = session
        self.minimumIndex = minimumIndex
    }

    public static func get(_ key: String, consistency: ReadConsistency? = nil, minimumIndex: LogIndex = .zero) -> Self {
        KeyValueReadRequest(target: .key(key), consistency: consistency, minimumIndex: minimumIndex)
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
    /// The session's token after this write.
    public var session: SessionToken
}

/// A read's answer, with the level that served it and what is known of its staleness.
public struct KeyValueReadResponse: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        /// The key's record, or nil for an absent key.
        case record(KeyValueStore.Record?)
        case range(KeyValueRange)
    }

    public var value: Value
    public var appliedIndex: LogIndex
    public var served: ReadConsistency
    /// For bounded-staleness reads: at most this many log entries missing,
    /// and every write acknowledged this many milliseconds before is in.
    public var stalenessEntries: UInt64?
    public var stalenessMilliseconds: UInt64?
    /// The session's token after this read.
    public var session: SessionToken

    /// The record of a single-key read.
    public var record: KeyValueStore.Record? {
        if case .record(let record) = value { return record }
        return nil
    }
}
