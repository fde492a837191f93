import ChorusCore

/// One committed write or delete of the key-value store, as its change feed
/// records it in the system stream `$kv-<keyspace>` (etcd's watch, Cosmos DB's
/// change feed): the key, the version the write gave it (the log index of the
/// write) and the new value, or a tombstone for a delete.
///
/// The feed event is built deterministically from the change: its id is
/// derived from the version and the change's ordinal within its log entry, its
/// type is `$kv-put` or `$kv-delete`, its data is the value (empty for a
/// delete) and its metadata is `{"key":"…","version":N}` in JSON.
public struct KeyValueChange: Hashable, Sendable {
    public var keyspace: String
    public var key: String
    public var version: LogIndex
    /// The new value, or nil when the key was deleted.
    public var value: [UInt8]?

    public init(keyspace: String = "default", key: String, version: LogIndex, value: [UInt8]?) {
        self.keyspace = keyspace
        self.key = key
        self.version = version
        self.value = value
    }

    public static let putEventType = "$kv-put"
    public static let deleteEventType = "$kv-delete"

    /// The feed stream of `keyspace`.
    public static func feedStream(keyspace: String) -> StreamName { StreamName("$kv-" + keyspace) }

    var eventType: String { value == nil ? Self.deleteEventType : Self.putEventType }

    /// `{"key":"…","version":N}`.
    var metadataJSON: [UInt8] {
        var text = "{\"key\":"
        JSONString.write(key, to: &text)
        text += ",\"version\":\(version.rawValue)}"
        return Array(text.utf8)
    }

    /// The feed event's id: the version in the high half, "kv" and the ordinal in the low half.
    func eventID(ordinal: Int) -> EventID {
        EventID(high: version.rawValue, low: 0x6B76_0000_0000_0000 | UInt64(truncatingIfNeeded: ordinal))
    }
}
