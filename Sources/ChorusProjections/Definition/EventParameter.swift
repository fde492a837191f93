import ChorusCore
import ChorusEventStore

/// What a handler statement's named parameter binds from the event being
/// projected. The names are SQL-style (snake case), since they are written
/// inside SQL:
///
/// | parameter | value |
/// |---|---|
/// | `:stream` | the stream name (text) |
/// | `:revision` | the event's revision in its stream (integer) |
/// | `:position` | the event's global position (integer) |
/// | `:type` | the event type (text) |
/// | `:recorded_time` | the leader's recorded time, µs since the Unix epoch (integer) |
/// | `:event_id` | the event id, canonical UUID text |
/// | `:schema_version` | the event's schema version (integer) |
/// | `:data`, `:metadata` | the whole JSON text (or a blob for `application/octet-stream` data) |
/// | `:data.a.b`, `:metadata.a.0` | the JSON value at that path: text, integer, real, 1/0 for booleans, NULL when absent or null, compact JSON text for objects and arrays; a numeric segment indexes an array |
public enum EventParameter: Sendable, Hashable {
    case stream, revision, position, type, recordedTime, eventID, schemaVersion
    case data(path: [String])
    case metadata(path: [String])

    static let fieldNames = ":stream, :revision, :position, :type, :recorded_time, :event_id, :schema_version, :data[.path], :metadata[.path]"

    /// The parameter a name refers to, or why none.
    public init(name: String) throws(ProjectionDefinitionError) {
        let segments = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch segments[0] {
        case "data": self = .data(path: Array(segments.dropFirst()))
        case "metadata": self = .metadata(path: Array(segments.dropFirst()))
        case _ where segments.count > 1:
            throw ProjectionDefinitionError("the parameter ':\(name)' has a path, but only :data and :metadata do (event parameters: \(Self.fieldNames))")
        case "stream": self = .stream
        case "revision": self = .revision
        case "position": self = .position
        case "type": self = .type
        case "recorded_time": self = .recordedTime
        case "event_id": self = .eventID
        case "schema_version": self = .schemaVersion
        default:
            throw ProjectionDefinitionError("unknown parameter ':\(name)' (event parameters: \(Self.fieldNames))")
        }
    }

    var readsJSON: Bool {
        switch self {
        case .data(let path), .metadata(let path): !path.isEmpty
        default: false
        }
    }
}

/// Why an event could not be bound to a statement (its data is not JSON
/// although a parameter reads a path in it). A handler failure like a
/// failing statement: retried, then parked.
public struct BindingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// An event's values for its handler's parameters. The JSON of data and
/// metadata is parsed at most once per event, however many statements and
/// paths read it.
public struct EventBinder {
    let event: RecordedEvent
    let limits: JSONLimits
    private var data: Result<JSONValue, BindingError>?
    private var metadata: Result<JSONValue, BindingError>?

    public init(event: RecordedEvent, limits: JSONLimits = .default) {
        self.event = event
        self.limits = limits
    }

    public mutating func value(of parameter: EventParameter) throws(BindingError) -> ProjectionValue {
        switch parameter {
        case .stream: return .text(event.stream.text)
        case .revision: return .integer(Int64(clamping: event.revision.rawValue))
        case .position: return .integer(Int64(clamping: event.position.rawValue))
        case .type: return .text(event.type)
        case .recordedTime: return .integer(event.recordedTime.microsecondsSinceEpoch)
        case .eventID: return .text(event.id.description)
        case .schemaVersion: return .integer(Int64(event.schemaVersion))
        case .data(let path):
            if path.isEmpty { return whole(event.data, isJSON: event.contentType == .json) }
            if data == nil { data = parse(event.data, what: "data") }
            return try Self.lookup(path, in: data!.get())
        case .metadata(let path):
            if path.isEmpty { return whole(event.metadata, isJSON: true) }
            if metadata == nil { metadata = parse(event.metadata, what: "metadata") }
            return try Self.lookup(path, in: metadata!.get())
        }
    }

    private func whole(_ bytes: [UInt8], isJSON: Bool) -> ProjectionValue {
        if bytes.isEmpty { return .null }
        return isJSON ? .text(String(decoding: bytes, as: UTF8.self)) : .blob(bytes)
    }

    private func parse(_ bytes: [UInt8], what: String) -> Result<JSONValue, BindingError> {
        if bytes.isEmpty { return .success(.null) }
        if what == "data" && event.contentType != .json {
            return .failure(BindingError(message: "the event's data is \(event.contentType), not JSON, but a parameter reads a path in it"))
        }
        do { return .success(try JSONValue(parsing: bytes, limits: limits)) } catch {
            return .failure(BindingError(message: "the event's \(what) is not valid JSON (\(error))"))
        }
    }

    static func lookup(_ path: [String], in root: JSONValue) throws(BindingError) -> ProjectionValue {
        var current = root
        for segment in path {
            switch current {
            case .object(let object):
                guard let next = object[segment] else { return .null }
                current = next
            case .array(let elements):
                guard let index = Int(segment), index >= 0, index < elements.count else { return .null }
                current = elements[index]
            default:
                return .null
            }
        }
        return Self.value(current)
    }

    static func value(_ json: JSONValue) -> ProjectionValue {
        switch json {
        case .null: return .null
        case .bool(let flag): return .integer(flag ? 1 : 0)
        case .number(let number):
            if let integer = number.int64Value { return .integer(integer) }
            return .real(number.doubleValue)
        case .string(let text): return .text(text)
        case .array, .object: return .text(json.serialized(.compact))
        }
    }
}
