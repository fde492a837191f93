import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusProjections
import ChorusReadModels
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// The projections' routes (issue 11; `openapi.yaml` is their reference):
///
/// | route | what it does |
/// |---|---|
/// | `GET /v1/projections` | every projection's state, position, lag, parked event |
/// | `GET /v1/projections/{name}` | one of them |
/// | `GET /v1/projections/{name}/query/{query}?param=…&min-position=P&timeout-ms=T` | a named read-only query, after waiting until the projection passed P |
/// | `POST /v1/projections/{name}/retry`, `/skip`, `/rebuild` | the operator's commands |
///
/// Every query parameter other than `min-position` and `timeout-ms` is an
/// argument of the named query (projection parameter names are
/// `[a-z0-9_]`, so the two reserved, hyphenated names never collide).
/// Projections run on every node from its own applied log, so these routes
/// answer on any node, leader or follower.
struct ProjectionAPI: Sendable {
    let service: ChorusService
    let nodeHeaderValue: String

    init(service: ChorusService) {
        self.service = service
        self.nodeHeaderValue = "\(service.nodeID.rawValue)"
    }

    /// The caller of a request (anonymous until tokens exist; issue 15).
    /// The caller the authentication middleware established for this request.
    func caller(_ request: Request) -> Caller { RequestCaller.current }

    func register<Context: RequestContext>(on router: Router<Context>) {
        let api = self
        func route(_ path: RouterPath, _ method: HTTPRequest.Method, _ handler: @escaping @Sendable (Request, Context) async throws -> Response) {
            router.on(path, methods: [(method, handler)])
        }
        route("/v1/projections", .get) { request, _ in try await api.list(request) }
        route("/v1/projections/:name", .get) { request, context in try await api.show(request, context: context) }
        route("/v1/projections/:name/query/:query", .get) { request, context in try await api.query(request, context: context) }
        route("/v1/projections/:name/retry", .post) { request, context in
            try await api.command(request, context: context) { (name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport in
                try await api.service.retryProjection(named: name, caller: caller)
            }
        }
        route("/v1/projections/:name/skip", .post) { request, context in
            try await api.command(request, context: context) { (name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport in
                try await api.service.skipProjectionEvent(named: name, caller: caller)
            }
        }
        route("/v1/projections/:name/rebuild", .post) { request, context in
            try await api.command(request, context: context) { (name: String, caller: Caller) async throws(ServiceError) -> ProjectionReport in
                try await api.service.rebuildProjection(named: name, caller: caller)
            }
        }
    }

    // MARK: Handlers

    func list(_ request: Request) async throws -> Response {
        let reports: [ProjectionReport]
        do { reports = try await service.listProjections(caller: caller(request)) } catch { throw failure(error, request) }
        return json(["projections": .array(reports.map(Self.reportJSON))])
    }

    func show(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try segment("name", context)
        let report: ProjectionReport
        do { report = try await service.projection(named: name, caller: caller(request)) } catch { throw failure(error, request) }
        return json(Self.reportJSON(report))
    }

    func command(
        _ request: Request, context: some RequestContext,
        _ perform: @Sendable (String, Caller) async throws(ServiceError) -> ProjectionReport
    ) async throws -> Response {
        let name = try segment("name", context)
        let report: ProjectionReport
        do { report = try await perform(name, caller(request)) } catch { throw failure(error, request) }
        return json(Self.reportJSON(report))
    }

    func query(_ request: Request, context: some RequestContext) async throws -> Response {
        let name = try segment("name", context)
        let queryName = try segment("query", context)
        let parameters = EventQueryParameters(request)
        var minimumPosition: GlobalPosition?
        if let text = try parameters.single("min-position") {
            guard let value = UInt64(text) else {
                throw APIError(.invalidPosition, "min-position must be a global position (an integer), not \(JSONString.quoted(text))")
            }
            minimumPosition = GlobalPosition(value)
        }
        var timeout: Int?
        if let text = try parameters.single("timeout-ms") {
            guard let value = Int(text), value >= 0 else {
                throw APIError(.invalidParameter, "timeout-ms must be a non-negative integer, not \(JSONString.quoted(text))")
            }
            timeout = value
        }
        let arguments = parameters.parameters
            .filter { $0.key != "min-position" && $0.key != "timeout-ms" }
            .map { ProjectionQueryRequest.QueryArgument(name: String($0.key), value: String($0.value)) }
        let queryRequest = ProjectionQueryRequest(
            projection: name, query: queryName, arguments: arguments, minimumPosition: minimumPosition, timeoutMilliseconds: timeout)
        let answer: ProjectionQueryResponse
        do { answer = try await service.queryProjection(queryRequest, caller: caller(request)) } catch { throw failure(error, request) }
        let body: JSONValue = .object(JSONObject([
            ("projection", .string(name)), ("query", .string(queryName)),
            ("passedThrough", Self.cursorJSON(answer.passedThrough)),
            ("wait", answer.waited ? .string("reached") : .null),
            ("columns", .array(answer.result.columns.map { .string($0) })),
            ("rows", .array(answer.result.rows.map { .array($0.map(Self.valueJSON)) })),
        ]))
        return json(body)
    }

    // MARK: Rendering

    static func reportJSON(_ report: ProjectionReport) -> JSONValue {
        let status = report.status
        var members: [(String, JSONValue)] = [
            ("name", .string(status.name)), ("version", .integer(Int64(status.version))), ("source", .string(report.source)),
            ("state", .string(status.phase.rawValue)), ("passedThrough", cursorJSON(status.passedThrough)),
            ("checkpoint", cursorJSON(status.durableCheckpoint)), ("headPosition", .integer(Int64(clamping: report.headPosition.rawValue))),
            ("lag", .object(JSONObject([
                ("events", .integer(Int64(clamping: report.lag.eventsBehind))),
                ("seconds", JSONNumber(report.lag.secondsBehind).map(JSONValue.number) ?? .null),
            ]))),
            ("generation", .integer(Int64(status.generation))), ("file", .string(status.file)),
            ("eventsFolded", .integer(Int64(clamping: status.eventsFolded))), ("waiting", .integer(Int64(status.waiting))),
        ]
        members.append(("parked", status.parked.map(parkedJSON) ?? .null))
        if let position = status.retryingPosition {
            members.append(("retrying", .object(JSONObject([
                ("position", .integer(Int64(clamping: position.rawValue))), ("attempts", .integer(Int64(status.retryingAttempts))),
                ("error", .string(status.retryingError ?? "")),
            ]))))
        } else {
            members.append(("retrying", .null))
        }
        if let generation = status.buildingGeneration {
            members.append(("rebuilding", .object(JSONObject([
                ("generation", .integer(Int64(generation))), ("passedThrough", cursorJSON(status.buildingPassedThrough ?? .start)),
            ]))))
        } else {
            members.append(("rebuilding", .null))
        }
        members.append(("readError", status.lastReadError.map(JSONValue.string) ?? .null))
        return .object(JSONObject(members))
    }

    static func parkedJSON(_ parked: ParkedEvent) -> JSONValue {
        .object(JSONObject([
            ("stream", .string(parked.stream.text)), ("revision", .integer(Int64(clamping: parked.revision.rawValue))),
            ("position", .integer(Int64(clamping: parked.position.rawValue))), ("type", .string(parked.type)),
            ("error", .string(parked.error)), ("attempts", .integer(Int64(parked.attempts))),
        ]))
    }

    /// The last position passed, or null when none is.
    static func cursorJSON(_ cursor: SubscriptionCursor) -> JSONValue {
        switch cursor {
        case .start: .null
        case .after(let position): .integer(Int64(clamping: position.rawValue))
        }
    }

    static func valueJSON(_ value: ProjectionValue) -> JSONValue {
        switch value {
        case .null: .null
        case .integer(let integer): .integer(integer)
        case .real(let real): JSONNumber(real).map(JSONValue.number) ?? .null
        case .text(let text): .string(text)
        case .blob(let bytes): .object(JSONObject([("base64", .string(Base64.encode(bytes)))]))
        }
    }

    // MARK: Plumbing

    func segment(_ name: String, _ context: some RequestContext) throws(APIError) -> String {
        guard let raw = context.parameters.get(name), let decoded = PercentDecoding.decode(raw) else {
            throw APIError(.badRequest, "the \(name) name is missing or not valid percent-encoded UTF-8")
        }
        return decoded
    }

    func json(_ value: JSONValue) -> Response {
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized(.compact) + "\n")))
    }

    func failure(_ error: ServiceError, _ request: Request) -> APIError {
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        return APIError(error, requestURI: request.uri.description, headers: headers)
    }
}
