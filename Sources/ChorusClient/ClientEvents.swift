import ChorusAPI
import ChorusCore

/// An event to append. Its id is the append's idempotency key: an event
/// without one gets a random UUID here, once, so every retry of the append
/// (after a lost answer) carries the same ids and the store answers
/// `already_written` with the original revisions instead of writing twice.
public struct EventToAppend: Sendable, Hashable {
    public var id: String
    public var type: String
    /// The event's bytes: JSON text for `application/json` (the default).
    public var data: [UInt8]
    public var metadata: [UInt8]
    public var isJSON: Bool
    /// The version of the event type's schema the data follows (1 and up);
    /// readers upcast older versions (`ChorusAggregates.Upcasters`).
    public var schemaVersion: UInt32

    public init(type: String, json: String, metadata: String? = nil, id: String? = nil, schemaVersion: UInt32 = 1) {
        self.init(
            type: type, data: Array(json.utf8), isJSON: true, metadata: metadata.map { Array($0.utf8) } ?? [], id: id,
            schemaVersion: schemaVersion)
    }

    public init(
        type: String, data: [UInt8], isJSON: Bool = false, metadata: [UInt8] = [], id: String? = nil, schemaVersion: UInt32 = 1
    ) {
        self.id = id ?? EventToAppend.randomUUID()
        self.type = type
        self.data = data
        self.isJSON = isJSON
        self.metadata = metadata
        self.schemaVersion = schemaVersion
    }

    /// A version 4 UUID (RFC 9562 §5.4) in the canonical lowercase form.
    static func randomUUID() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    /// The `NewEvent` JSON form (`openapi.yaml`): JSON data as JSON, other bytes as base64.
    var json: String {
        var text = "{\"id\":\"\(id)\",\"type\":" + JSONValue.string(type).text
        if isJSON {
            text += ",\"data\":" + String(decoding: data, as: UTF8.self)
            if !metadata.isEmpty { text += ",\"metadata\":" + String(decoding: metadata, as: UTF8.self) }
        } else {
            text += ",\"contentType\":\"application/octet-stream\",\"dataBase64\":\"\(Base64.encode(data))\""
            if !metadata.isEmpty { text += ",\"metadataBase64\":\"\(Base64.encode(metadata))\"" }
        }
        if schemaVersion != 1 { text += ",\"schemaVersion\":\(schemaVersion)" }
        return text + "}"
    }
}

/// What an append requires of its stream (optimistic concurrency).
public enum ExpectedRevision: Sendable, Hashable, CustomStringConvertible {
    case any
    case noStream
    case streamExists
    /// The stream's last revision is exactly this one.
    case exactly(UInt64)

    /// The `expectedRevision` JSON value.
    var json: String {
        switch self {
        case .any: "\"any\""
        case .noStream: "\"no_stream\""
        case .streamExists: "\"stream_exists\""
        case .exactly(let revision): "\(revision)"
        }
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no_stream"
        case .streamExists: "stream_exists"
        case .exactly(let revision): "\(revision)"
        }
    }
}

/// An append's answer.
public struct AppendResult: Sendable, Hashable {
    public var stream: String
    public var firstRevision: UInt64
    public var lastRevision: UInt64
    /// The global positions in `$all`: what a read model is waited on by.
    public var firstPosition: UInt64
    public var lastPosition: UInt64
    /// The same ids were already stored at this expected state: nothing was
    /// written again, and these are the original revisions and positions.
    public var alreadyWritten: Bool
}

/// An event as the store recorded it.
public struct ClientEvent: Sendable, Hashable {
    public var stream: String
    public var revision: UInt64
    public var position: UInt64
    public var id: String
    public var type: String
    public var contentType: String
    public var schemaVersion: UInt32
    /// Microseconds since the Unix epoch, stamped by the leader that proposed it.
    public var recordedTimeMicroseconds: Int64
    /// JSON text for JSON events, the raw bytes otherwise.
    public var data: [UInt8]
    public var metadata: [UInt8]

    /// An event as recorded (for tests of code that reads events, such as upcasters and aggregates).
    public init(
        stream: String, revision: UInt64, position: UInt64, id: String, type: String, contentType: String,
        schemaVersion: UInt32, recordedTimeMicroseconds: Int64, data: [UInt8], metadata: [UInt8]
    ) {
        self.stream = stream
        self.revision = revision
        self.position = position
        self.id = id
        self.type = type
        self.contentType = contentType
        self.schemaVersion = schemaVersion
        self.recordedTimeMicroseconds = recordedTimeMicroseconds
        self.data = data
        self.metadata = metadata
    }

    /// Parses the `RecordedEvent` JSON form; nil if `json` is not one.
    init?(json: JSONValue) {
        guard let stream = json["stream"]?.stringValue, let revision = json["revision"]?.int64Value, revision >= 0,
            let position = json["position"]?.int64Value, position >= 0, let id = json["id"]?.stringValue,
            let type = json["type"]?.stringValue, let contentType = json["contentType"]?.stringValue,
            let schemaVersion = json["schemaVersion"]?.int64Value, let schema = UInt32(exactly: schemaVersion),
            let recordedTime = json["recordedTime"]?.int64Value
        else { return nil }
        func bytes(_ name: String) -> [UInt8]? {
            if let value = json[name] { return Array(value.text.utf8) }
            if let encoded = json[name + "Base64"] { return encoded.stringValue.flatMap(Base64.decode) }
            return []
        }
        guard let data = bytes("data"), let metadata = bytes("metadata") else { return nil }
        self.stream = stream
        self.revision = UInt64(revision)
        self.position = UInt64(position)
        self.id = id
        self.type = type
        self.contentType = contentType
        self.schemaVersion = schema
        self.recordedTimeMicroseconds = recordedTime
        self.data = data
        self.metadata = metadata
    }
}

/// A page of one stream, as `GET /v1/streams/{stream}` answers it.
public struct StreamPage: Sendable, Hashable {
    public var events: [ClientEvent]
    /// Where the next page starts, nil at the end.
    public var nextRevision: UInt64?
    /// The stream's last revision, nil for a stream without events.
    public var lastRevision: UInt64?
}

/// What a catch-up subscription delivers, in order.
public enum ClientSubscriptionMessage: Sendable, Hashable {
    case event(ClientEvent)
    /// History is delivered; live events follow. The position of the last event before it, if any.
    case caughtUp(position: UInt64?)
    /// The subscription fell behind the head and is catching up again.
    case fellBehind(position: UInt64?)
    /// The cursor moved past events the filter skipped.
    case checkpoint(position: UInt64?)
}
