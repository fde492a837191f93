import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusService

/// The JSON forms of events, as `openapi.yaml` documents them (schemas
/// `RecordedEvent` and `NewEvent`).
///
/// A recorded event's data is written as JSON (`data`) when its content type
/// is `application/json` and its bytes are JSON, otherwise as base64
/// (`dataBase64`); metadata likewise (`metadata` / `metadataBase64`, left out
/// when empty). A new event gives `data` (any JSON value, stored as its
/// compact text) or `dataBase64` (raw bytes), never both.
enum EventJSON {
    // MARK: Rendering

    static func render(_ event: RecordedEvent, into text: inout String) {
        text += "{\"stream\":"
        JSONString.write(event.stream.text, to: &text)
        text += ",\"revision\":\(event.revision.rawValue),\"position\":\(event.position.rawValue),\"id\":\"\(event.id)\",\"type\":"
        JSONString.write(event.type, to: &text)
        text += ",\"contentType\":\"\(event.contentType.mediaType)\",\"schemaVersion\":\(event.schemaVersion)"
        text += ",\"recordedTime\":\(event.recordedTime.microsecondsSinceEpoch)"
        if event.contentType == .json, let json = jsonText(event.data) {
            text += ",\"data\":" + json
        } else {
            text += ",\"dataBase64\":\"" + Base64.encode(event.data) + "\""
        }
        if !event.metadata.isEmpty {
            if let json = jsonText(event.metadata) {
                text += ",\"metadata\":" + json
            } else {
                text += ",\"metadataBase64\":\"" + Base64.encode(event.metadata) + "\""
            }
        }
        text += "}"
    }

    static func render(_ event: RecordedEvent) -> String {
        var text = ""
        render(event, into: &text)
        return text
    }

    static func render(_ events: [RecordedEvent], into text: inout String) {
        text += "["
        for (index, event) in events.enumerated() {
            if index > 0 { text += "," }
            render(event, into: &text)
        }
        text += "]"
    }

    /// The bytes as JSON text, if they are one JSON value (checked, so that
    /// what is embedded is always valid JSON whoever wrote the event).
    static func jsonText(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty, (try? JSONValue(parsing: bytes)) != nil else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func number(_ value: UInt64?) -> String { value.map { "\($0)" } ?? "null" }

    // MARK: Parsing

    /// The body of an append: an array of events, or an object with `events`
    /// and optionally `expectedRevision`.
    static func parseAppendBody(_ bytes: [UInt8], limits: JSONLimits) throws(APIError) -> (events: [EventDraft], expected: ExpectedState?) {
        let value = try parse(bytes, limits: limits)
        if let array = value.arrayValue { return (try parseEvents(array), nil) }
        guard let object = value.objectValue else {
            throw APIError(.invalidJSON, "the body must be a JSON array of events, or an object with \"events\"")
        }
        try requireOnly(["events", "expectedRevision"], in: object, what: "an append body")
        guard let events = object["events"]?.arrayValue else {
            throw APIError(.invalidJSON, "\"events\" must be an array of events")
        }
        return (try parseEvents(events), try object["expectedRevision"].map(parseExpected))
    }

    /// `{"streams":[{"stream":…,"expectedRevision":…,"events":[…]}],"checks":[{"stream":…,"expectedRevision":…}]}`.
    static func parseMultiStreamBody(_ bytes: [UInt8], limits: JSONLimits) throws(APIError) -> MultiStreamAppendRequest {
        let value = try parse(bytes, limits: limits)
        guard let object = value.objectValue else { throw APIError(.invalidJSON, "the body must be a JSON object") }
        try requireOnly(["streams", "checks"], in: object, what: "a multi-stream append")
        guard let streams = object["streams"]?.arrayValue else {
            throw APIError(.invalidJSON, "\"streams\" must be an array")
        }
        var writes: [AppendRequest] = []
        for entry in streams {
            guard let write = entry.objectValue else { throw APIError(.invalidJSON, "each of \"streams\" must be an object") }
            try requireOnly(["stream", "expectedRevision", "events"], in: write, what: "a stream of a multi-stream append")
            let stream = try streamName(write["stream"])
            guard let events = write["events"]?.arrayValue else {
                throw APIError(.invalidJSON, "\"events\" of \(stream.text) must be an array of events")
            }
            writes.append(
                AppendRequest(
                    stream: stream, expected: try write["expectedRevision"].map(parseExpected) ?? .any,
                    events: try parseEvents(events)))
        }
        var checks: [StreamCondition] = []
        for entry in object["checks"]?.arrayValue ?? [] {
            guard let check = entry.objectValue else { throw APIError(.invalidJSON, "each of \"checks\" must be an object") }
            try requireOnly(["stream", "expectedRevision"], in: check, what: "a check")
            guard let expected = check["expectedRevision"] else {
                throw APIError(.invalidJSON, "a check needs \"expectedRevision\"")
            }
            checks.append(StreamCondition(stream: try streamName(check["stream"]), expected: try parseExpected(expected)))
        }
        if object["checks"] != nil && object["checks"]?.arrayValue == nil {
            throw APIError(.invalidJSON, "\"checks\" must be an array")
        }
        return MultiStreamAppendRequest(writes: writes, checks: checks)
    }

    static func parseEvents(_ array: [JSONValue]) throws(APIError) -> [EventDraft] {
        var events: [EventDraft] = []
        events.reserveCapacity(array.count)
        for (index, value) in array.enumerated() { events.append(try parseEvent(value, index: index)) }
        return events
    }

    static func parseEvent(_ value: JSONValue, index: Int) throws(APIError) -> EventDraft {
        func invalid(_ message: String) -> APIError {
            var error = APIError(.invalidEvent, "event \(index): \(message)")
            error.problem.details = ["eventIndex": .number(JSONNumber(index))]
            return error
        }
        guard let object = value.objectValue else { throw invalid("an event must be a JSON object") }
        let known = ["id", "type", "data", "dataBase64", "metadata", "metadataBase64", "contentType", "schemaVersion"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw invalid("unknown member \(JSONString.quoted(unknown)) (an event has \(known.joined(separator: ", ")))")
        }
        guard let type = object["type"]?.stringValue else { throw invalid("\"type\" must be a string") }
        var id: EventID?
        if let text = object["id"] {
            guard let string = text.stringValue, let parsed = EventID(parsing: string) else {
                throw invalid("\"id\" must be a UUID in the 8-4-4-4-12 hexadecimal form")
            }
            id = parsed
        }
        var contentType: ContentType?
        if let media = object["contentType"] {
            guard let string = media.stringValue, let parsed = ContentType(mediaType: string) else {
                throw invalid("\"contentType\" must be application/json or application/octet-stream")
            }
            contentType = parsed
        }
        let data: [UInt8]
        switch (object["data"], object["dataBase64"]) {
        case (let json?, nil):
            guard contentType != .octetStream else {
                throw invalid("\"data\" is JSON; give application/octet-stream content as \"dataBase64\"")
            }
            contentType = .json
            data = json.utf8Bytes
        case (nil, let encoded?):
            guard let string = encoded.stringValue, let decoded = Base64.decode(string) else {
                throw invalid("\"dataBase64\" must be base64 (RFC 4648, with padding)")
            }
            if contentType == .json && (try? JSONValue(parsing: decoded)) == nil {
                throw invalid("the content type is application/json but the data is not JSON")
            }
            contentType = contentType ?? .octetStream
            data = decoded
        case (nil, nil):
            throw invalid("give the event's \"data\" (JSON) or \"dataBase64\" (bytes)")
        case (.some, .some):
            throw invalid("give \"data\" or \"dataBase64\", not both")
        }
        let metadata: [UInt8]
        switch (object["metadata"], object["metadataBase64"]) {
        case (let json?, nil): metadata = json.utf8Bytes
        case (nil, let encoded?):
            guard let string = encoded.stringValue, let decoded = Base64.decode(string) else {
                throw invalid("\"metadataBase64\" must be base64 (RFC 4648, with padding)")
            }
            metadata = decoded
        case (nil, nil): metadata = []
        case (.some, .some): throw invalid("give \"metadata\" or \"metadataBase64\", not both")
        }
        var schemaVersion: UInt32 = 1
        if let version = object["schemaVersion"] {
            guard let number = version.int64Value, number >= 1, number <= Int64(UInt32.max) else {
                throw invalid("\"schemaVersion\" must be an integer in 1...\(UInt32.max)")
            }
            schemaVersion = UInt32(number)
        }
        return EventDraft(
            id: id, type: type, data: data, metadata: metadata, contentType: contentType ?? .json, schemaVersion: schemaVersion)
    }

    /// An expected revision in a body: a string (`any`, `no_stream`,
    /// `stream_exists`, or digits) or a non-negative integer.
    static func parseExpected(_ value: JSONValue) throws(APIError) -> ExpectedState {
        if let number = value.numberValue, let revision = number.int64Value, revision >= 0 {
            return .revision(StreamRevision(UInt64(revision)))
        }
        guard let text = value.stringValue else {
            throw APIError(.invalidExpectedVersion, "an expected revision is any, no_stream, stream_exists or a revision")
        }
        do { return try ExpectedState.parse(text) } catch { throw APIError(error) }
    }

    static func streamName(_ value: JSONValue?) throws(APIError) -> StreamName {
        guard let text = value?.stringValue else { throw APIError(.invalidJSON, "\"stream\" must be a string") }
        return StreamName(text)
    }

    static func parse(_ bytes: [UInt8], limits: JSONLimits) throws(APIError) -> JSONValue {
        do {
            return try JSONValue(parsing: bytes, limits: limits)
        } catch {
            throw APIError(.invalidJSON, "the body is not acceptable JSON: \(error)")
        }
    }

    static func requireOnly(_ members: [String], in object: JSONObject, what: String) throws(APIError) {
        if let unknown = object.keys.first(where: { !members.contains($0) }) {
            throw APIError(
                .invalidJSON, "unknown member \(JSONString.quoted(unknown)) in \(what) (it has \(members.joined(separator: ", ")))")
        }
    }
}
