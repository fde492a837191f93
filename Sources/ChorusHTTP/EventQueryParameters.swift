import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusService
import Hummingbird

/// The query parameters of the event-store routes, parsed into the service
/// layer's types. A parameter that takes one value and is given twice is a
/// 400, as is any value outside its documented set.
struct EventQueryParameters {
    let parameters: [(key: Substring, value: Substring)]

    init(_ request: Request) { parameters = Array(request.uri.queryParameters) }

    func values(_ name: String) -> [String] {
        parameters.filter { $0.key == name }.map { String($0.value) }
    }

    func single(_ name: String) throws(APIError) -> String? {
        let values = values(name)
        guard values.count <= 1 else { throw APIError(.invalidParameter, "\(name) may be given once") }
        return values.first
    }

    func direction() throws(APIError) -> ReadDirection {
        switch try single("direction") {
        case nil, "forwards": return .forwards
        case "backwards": return .backwards
        case let other?: throw APIError(.invalidParameter, "direction must be forwards or backwards, not \(JSONString.quoted(other))")
        }
    }

    func limit(default value: Int = 100, maximum: Int) throws(APIError) -> Int {
        guard let text = try single("limit") else { return value }
        guard let limit = Self.unsigned(text), limit >= 1, limit <= UInt64(maximum) else {
            throw APIError(.invalidParameter, "limit must be an integer in 1...\(maximum), not \(JSONString.quoted(text))")
        }
        return Int(limit)
    }

    /// `from` of a stream read: `start`, `end` or a revision (inclusive).
    func streamStart(_ direction: ReadDirection) throws(APIError) -> StreamReadStart {
        switch try single("from") {
        case nil: return direction == .forwards ? .start : .end
        case "start": return .start
        case "end": return .end
        case let text?:
            guard let revision = Self.unsigned(text) else {
                throw APIError(.invalidRevision, "from must be start, end or a revision, not \(JSONString.quoted(text))")
            }
            return .revision(StreamRevision(revision))
        }
    }

    /// `from` of an `$all` read: `start`, `end` or a position (inclusive).
    func allStart(_ direction: ReadDirection) throws(APIError) -> AllReadStart {
        switch try single("from") {
        case nil: return direction == .forwards ? .start : .end
        case "start": return .start
        case "end": return .end
        case let text?:
            guard let position = Self.unsigned(text) else {
                throw APIError(.invalidPosition, "from must be start, end or a position, not \(JSONString.quoted(text))")
            }
            return .position(GlobalPosition(position))
        }
    }

    func position(_ name: String) throws(APIError) -> GlobalPosition? {
        guard let text = try single(name) else { return nil }
        guard let position = Self.unsigned(text) else {
            throw APIError(.invalidPosition, "\(name) must be a position (a non-negative integer), not \(JSONString.quoted(text))")
        }
        return GlobalPosition(position)
    }

    func revision(_ name: String) throws(APIError) -> StreamRevision? {
        guard let text = try single(name) else { return nil }
        guard let revision = Self.unsigned(text) else {
            throw APIError(.invalidRevision, "\(name) must be a revision (a non-negative integer), not \(JSONString.quoted(text))")
        }
        return StreamRevision(revision)
    }

    func boolean(_ name: String) throws(APIError) -> Bool? {
        switch try single(name) {
        case nil: return nil
        case "true": return true
        case "false": return false
        case let other?: throw APIError(.invalidParameter, "\(name) must be true or false, not \(JSONString.quoted(other))")
        }
    }

    /// `stream-prefix` and `type-prefix` (each repeatable) and `include-system`.
    func filter() throws(APIError) -> EventFilter {
        EventFilter(
            streamNamePrefixes: values("stream-prefix"), eventTypePrefixes: values("type-prefix"),
            includeSystemStreams: try boolean("include-system") ?? false)
    }

    /// `consistency` with `X-Chorus-Min-Index` (for `sequential`).
    func consistency(_ request: Request) throws(APIError) -> EventReadConsistency {
        var level = ConsistencyLevel.default
        if let text = try single("consistency") {
            do { level = try ConsistencyLevel.parse(text) } catch { throw APIError(error) }
            guard level != .boundedStaleness else {
                throw APIError(
                    .invalidConsistency, "event-store reads take every level but bounded-staleness (key-value reads only, for now)")
            }
        }
        var minimumIndex = LogIndex.zero
        if let text = request.headers[ChorusHeaders.minimumIndex] {
            guard let value = Self.unsigned(text.trimmingSpaces) else {
                throw APIError(.invalidHeader, "X-Chorus-Min-Index must be a non-negative integer")
            }
            minimumIndex = LogIndex(value)
        }
        return EventReadConsistency(level: level, minimumIndex: minimumIndex)
    }

    /// Decimal digits only (no sign, no spaces), within UInt64.
    static func unsigned(_ text: String) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20,
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(text)
    }
}
