import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusSagas
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// The saga routes (issue 12; `openapi.yaml` is their reference):
///
/// | route | what it does |
/// |---|---|
/// | `PUT /v1/sagas/definitions/{name}` | register a definition (body: its JSON; `name` must match) |
/// | `GET /v1/sagas/definitions` | every registered definition |
/// | `PUT /v1/sagas/participants/{name}` | register a participant's base URL (`{"url": "http://host:port"}`) |
/// | `GET /v1/sagas/participants` | every participant |
/// | `POST /v1/sagas` | start a saga: `{"definition", "version"?, "id", "input"}`; 201 created, 200 when it existed |
/// | `GET /v1/sagas?state=parked&definition=order&limit=N` | sagas this node knows, by stream name |
/// | `GET /v1/sagas/{definition}/{id}` | one saga: state, steps, errors, its events and timeline |
/// | `POST /v1/sagas/{definition}/{id}/cancel` | `{"reason"}`: compensate what completed, end cancelled |
/// | `POST /v1/sagas/{definition}/{id}/retry` | `{"note"}`: a parked saga's step or compensation gets a fresh budget |
/// | `POST /v1/sagas/{definition}/{id}/resolve` | `{"outcome": "succeeded", "result"?}` or `{"outcome": "failed", "code"}` |
///
/// Starts and operator commands go to the leader (307 elsewhere); reads answer on any node.
struct SagaAPI: Sendable {
    let service: ChorusService
    let nodeHeaderValue: String
    static let maximumBodyBytes = SagaLimits.maximumDefinitionBytes + 4_096

    init(service: ChorusService) {
        self.service = service
        self.nodeHeaderValue = "\(service.nodeID.rawValue)"
    }

    func caller(_ request: Request) -> Caller { RequestCaller.current }

    func register<Context: RequestContext>(on router: Router<Context>) {
        let api = self
        typealias Handler = @Sendable (Request, Context) async throws -> Response
        func route(_ path: RouterPath, _ methods: [HTTPRequest.Method: Handler]) {
            router.on(path, methods: methods.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key, $0.value) })
        }
        route("/v1/sagas/definitions", [.get: { request, _ in try await api.definitions(request) }])
        route("/v1/sagas/definitions/:name", [.put: { request, context in try await api.define(request, context: context) }])
        route("/v1/sagas/participants", [.get: { request, _ in try await api.participants(request) }])
        route("/v1/sagas/participants/:name", [.put: { request, context in try await api.participant(request, context: context) }])
        route("/v1/sagas", [
            .get: { request, _ in try await api.list(request) },
            .post: { request, _ in try await api.start(request) },
        ])
        route("/v1/sagas/:definition/:id", [.get: { request, context in try await api.show(request, context: context) }])
        for command in ["cancel", "retry", "resolve"] {
            route(RouterPath("/v1/sagas/:definition/:id/\(command)"), [.post: { request, context in
                try await api.operate(command, request, context: context)
            }])
        }
    }

    // MARK: Registry

    func define(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try segment("name", context)
        let body = try await self.body(request)
        let response: SagaRegistrationResponse
        if let named = (try? JSONValue(parsing: body, limits: SagaLimits.json))?["name"]?.stringValue, named != name {
            throw APIError(.invalidSagaDefinition, "the path names \(JSONString.quoted(name)) but the definition is \(JSONString.quoted(named))")
        }
        do { response = try await service.registerSagaDefinition(body, caller: caller(request)) } catch { throw failure(error, request) }
        return json(
            ["created": .bool(response.created), "name": .string(response.definition.name),
             "version": .integer(Int64(response.definition.version))],
            status: response.created ? .created : .ok)
    }

    func definitions(_ request: Request) async throws -> Response {
        let definitions: [SagaDefinition]
        do { definitions = try await service.sagaDefinitions(caller: caller(request)) } catch { throw failure(error, request) }
        return json(["definitions": .array(definitions.map(\.json))])
    }

    func participant(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try segment("name", context)
        let object = try await jsonObject(request)
        guard let url = object["url"]?.stringValue else { throw APIError(.badRequest, "the body is {\"url\": \"http://host:port\"}") }
        try only(["url"], in: object)
        let created: Bool
        do { created = try await service.registerSagaParticipant(name: name, url: url, caller: caller(request)) } catch {
            throw failure(error, request)
        }
        return json(["created": .bool(created), "name": .string(name), "url": .string(url)], status: created ? .created : .ok)
    }

    func participants(_ request: Request) async throws -> Response {
        let participants: [(name: String, url: String)]
        do { participants = try await service.sagaParticipants(caller: caller(request)) } catch { throw failure(error, request) }
        return json(["participants": .array(participants.map { ["name": .string($0.name), "url": .string($0.url)] })])
    }

    // MARK: Instances

    func start(_ request: Request) async throws -> Response {
        let object = try await jsonObject(request)
        try only(["definition", "version", "id", "input"], in: object)
        guard let definition = object["definition"]?.stringValue, let id = object["id"]?.stringValue else {
            throw APIError(.badRequest, "a start names a definition and an id: {\"definition\": \"order\", \"id\": \"42\", \"input\": {…}}")
        }
        var version: Int?
        if let value = object["version"], !value.isNull {
            guard let number = value.int64Value, number >= 1, number <= Int64(Int32.max) else {
                throw APIError(.badRequest, "version must be a positive integer")
            }
            version = Int(number)
        }
        let start = SagaStartRequest(definition: definition, version: version, id: SagaID(id), input: object["input"] ?? .object(JSONObject()))
        let response: SagaStartResponse
        do { response = try await service.startSaga(start, caller: caller(request)) } catch { throw failure(error, request) }
        return json(
            ["stream": .string(response.stream), "created": .bool(response.created),
             "revision": response.revision.map { .integer(Int64(clamping: $0)) } ?? .null],
            status: response.created ? .created : .ok)
    }

    func list(_ request: Request) async throws -> Response {
        let parameters = EventQueryParameters(request)
        let state = try parameters.single("state")
        let definition = try parameters.single("definition")
        var limit = 100
        if let text = try parameters.single("limit") {
            guard let value = Int(text) else { throw APIError(.invalidParameter, "limit must be an integer, not \(JSONString.quoted(text))") }
            limit = value
        }
        let summaries: [SagaSummary]
        do { summaries = try await service.listSagas(state: state, definition: definition, limit: limit, caller: caller(request)) } catch {
            throw failure(error, request)
        }
        return json(["sagas": .array(summaries.map(Self.summaryJSON))])
    }

    func show(_ request: Request, context: some RequestContext) async throws -> Response {
        let definition = try segment("definition", context)
        let id = try segment("id", context)
        let detail: SagaDetail
        do { detail = try await service.saga(definition: definition, id: SagaID(id), caller: caller(request)) } catch {
            throw failure(error, request)
        }
        return json(Self.detailJSON(detail))
    }

    func operate(_ command: String, _ request: Request, context: some RequestContext) async throws -> Response {
        let definition = try segment("definition", context)
        let id = SagaID(try segment("id", context))
        let object = try await jsonObject(request, emptyAllowed: true)
        let caller = caller(request)
        let response: SagaOperationResponse
        do {
            switch command {
            case "cancel":
                try only(["reason"], in: object)
                response = try await service.cancelSaga(
                    definition: definition, id: id, reason: try text("reason", in: object) ?? "cancelled by a client", caller: caller)
            case "retry":
                try only(["note"], in: object)
                response = try await service.retrySaga(definition: definition, id: id, note: try text("note", in: object) ?? "", caller: caller)
            default:
                let resolution: SagaResolution
                switch object["outcome"]?.stringValue {
                case "succeeded":
                    try only(["outcome", "result", "note"], in: object)
                    resolution = .succeeded(result: object["result"] ?? .null)
                case "failed":
                    try only(["outcome", "code", "note"], in: object)
                    guard let code = try text("code", in: object), !code.isEmpty else {
                        throw APIError(.badRequest, "a failed resolution names the error code: {\"outcome\": \"failed\", \"code\": \"…\"}")
                    }
                    resolution = .failed(code: code)
                default:
                    throw APIError(.badRequest, "outcome must be \"succeeded\" or \"failed\"")
                }
                response = try await service.resolveSaga(
                    definition: definition, id: id, resolution: resolution, note: try text("note", in: object) ?? "", caller: caller)
            }
        } catch let error as ServiceError {
            throw failure(error, request)
        }
        return json([
            "stream": .string(response.stream), "revision": response.revision.map { .integer(Int64(clamping: $0)) } ?? .null,
            "note": response.note.map(JSONValue.string) ?? .null,
        ])
    }

    // MARK: Rendering

    static func summaryJSON(_ summary: SagaSummary) -> JSONValue {
        .object(JSONObject([
            ("stream", .string(summary.stream)), ("definition", .string(summary.definition)),
            ("version", .integer(Int64(summary.definitionVersion))), ("id", .string(summary.sagaID.rawValue)),
            ("state", .string(summary.status.name)), ("status", .string(summary.status.description)),
            ("startedAt", .integer(Int64(clamping: summary.startedAt))),
            ("finishedAt", summary.finishedAt.map { .integer(Int64(clamping: $0)) } ?? .null),
            ("revision", .integer(Int64(clamping: summary.revision))),
        ]))
    }

    static func detailJSON(_ detail: SagaDetail) -> JSONValue {
        let state = detail.state
        let steps: [JSONValue] = state.steps.map { step in
            func progress(_ call: SagaCallProgress) -> JSONValue {
                .object(JSONObject([
                    ("phase", .string("\(call.phase)")), ("attempts", .integer(Int64(call.attempts))),
                    ("idempotencyKey", call.request.map { .string($0.idempotencyKey) } ?? .null),
                    ("lastError", call.lastFailure.map { ["code": .string($0.code), "message": .string($0.message)] } ?? .null),
                ]))
            }
            var members: [(String, JSONValue)] = [
                ("id", .string(step.id.rawValue)), ("kind", .string(step.definition.kind.rawValue)), ("action", progress(step.action)),
            ]
            if step.definition.compensation != nil { members.append(("compensation", progress(step.compensation))) }
            members.append(("result", step.result ?? .null))
            return .object(JSONObject(members))
        }
        let errors: [JSONValue] = state.errorHistory.map { record in
            .object(JSONObject([
                ("step", .string(record.step.rawValue)), ("phase", .string(record.phase.rawValue)),
                ("attempt", .integer(Int64(record.attempt))), ("code", .string(record.failure.code)),
                ("message", .string(record.failure.message)), ("at", .integer(Int64(clamping: record.at))),
            ]))
        }
        let events: [JSONValue] = zip(detail.events.indices, zip(detail.events, detail.positions)).map { revision, pair in
            let encoded = pair.0.encoded()
            return .object(JSONObject([
                ("revision", .integer(Int64(revision))), ("position", .integer(Int64(clamping: pair.1.rawValue))),
                ("type", .string(encoded.type)), ("summary", .string(pair.0.summary)),
                ("data", (try? JSONValue(parsing: encoded.data, limits: SagaLimits.json)) ?? .null),
            ]))
        }
        return .object(JSONObject([
            ("stream", .string(state.stream ?? "")), ("definition", .string(state.definition?.name ?? "")),
            ("version", .integer(Int64(state.definition?.version ?? 0))), ("id", .string(state.sagaID?.rawValue ?? "")),
            ("state", .string(state.status.name)), ("status", .string(state.status.description)),
            ("input", state.input), ("startedAt", .integer(Int64(clamping: state.startedAt))),
            ("finishedAt", state.finishedAt.map { .integer(Int64(clamping: $0)) } ?? .null),
            ("parkedFailure", state.parkedFailure.map { ["code": .string($0.code), "message": .string($0.message)] } ?? .null),
            ("steps", .array(steps)), ("errors", .array(errors)),
            ("timeline", .array(SagaTimeline.lines(detail.events).map(JSONValue.string))),
            ("events", .array(events)),
        ]))
    }

    // MARK: Plumbing

    func body(_ request: Request) async throws -> [UInt8] {
        let limit = Self.maximumBodyBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.payloadTooLarge, "a saga request body may be at most \(limit) bytes")
        }
        var request = request
        do {
            return Array(try await request.collectBody(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, "a saga request body may be at most \(limit) bytes")
        }
    }

    func jsonObject(_ request: Request, emptyAllowed: Bool = false) async throws -> JSONObject {
        let bytes = try await body(request)
        if bytes.isEmpty && emptyAllowed { return JSONObject() }
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes, limits: SagaLimits.json) } catch {
            throw APIError(.invalidJSON, "the body is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else { throw APIError(.invalidJSON, "the body must be a JSON object") }
        return object
    }

    /// A member that must be a string when present (nil when absent).
    func text(_ field: String, in object: JSONObject) throws(APIError) -> String? {
        guard let value = object[field] else { return nil }
        guard let string = value.stringValue else { throw APIError(.badRequest, "\(field) must be a string") }
        return string
    }

    func only(_ fields: [String], in object: JSONObject) throws(APIError) {
        if let unknown = object.keys.first(where: { !fields.contains($0) }) {
            throw APIError(.badRequest, "unknown field \(JSONString.quoted(unknown)); expected \(fields.joined(separator: ", "))")
        }
    }

    func segment(_ name: String, _ context: some RequestContext) throws(APIError) -> String {
        guard let raw = context.parameters.get(name), let decoded = PercentDecoding.decode(raw), !decoded.isEmpty else {
            throw APIError(.badRequest, "the \(name) is missing or not valid percent-encoded UTF-8")
        }
        return decoded
    }

    func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized(.compact) + "\n")))
    }

    func failure(_ error: ServiceError, _ request: Request) -> APIError {
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        return APIError(error, requestURI: request.uri.description, headers: headers)
    }
}
