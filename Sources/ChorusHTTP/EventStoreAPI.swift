import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// The event store's HTTP routes (`openapi.yaml` is their full reference): a
/// thin adapter that parses HTTP into the service layer's typed requests and
/// renders its answers and `ServiceError`s, in files by concern:
///
/// | file | routes |
/// |---|---|
/// | `EventStreamHandlers.swift` | `POST /v1/streams`, `POST/GET/DELETE /v1/streams/{stream}`, `GET /v1/all`, `PUT/GET …/metadata` |
/// | `EventSubscriptionHandlers.swift` | `GET /v1/streams/{stream}/subscribe`, `GET /v1/all/subscribe` (server-sent events) |
/// | `PersistentGroupHandlers.swift` | `/v1/streams/{stream}/groups/{group}…`, `GET /v1/groups` |
///
/// Stream and group names are path segments, percent-decoded into UTF-8
/// (`%2F` for "/"); `$all` as the stream of a group route names the `$all`
/// group. Writes on a follower answer 307 with the leader's URL, as the
/// key-value routes do; every response carries `X-Chorus-Node` and, where a
/// replica's state was read or written, `X-Chorus-Index`.
struct EventStoreAPI: Sendable {
    let service: ChorusService
    let configuration: HTTPAPIConfiguration
    let nodeHeaderValue: String

    init(service: ChorusService, configuration: HTTPAPIConfiguration) {
        self.service = service
        self.configuration = configuration
        self.nodeHeaderValue = "\(service.nodeID.rawValue)"
    }

    var limits: EventStoreLimits { service.eventStore.options.limits }

    /// The caller of a request, as `AuthenticationMiddleware` verified it.
    func caller(_ request: Request) -> Caller { RequestCaller.current }

    // MARK: Parsing

    func stream(_ context: some RequestContext) throws(APIError) -> StreamName {
        StreamName(try pathSegment("stream", context, code: .invalidStreamName))
    }

    func groupKey(_ context: some RequestContext) throws(APIError) -> PersistentGroupKey {
        PersistentGroupKey(stream: try stream(context), group: try pathSegment("group", context, code: .invalidGroup))
    }

    private func pathSegment(_ name: String, _ context: some RequestContext, code: ErrorCode) throws(APIError) -> String {
        guard let raw = context.parameters.get(name) else { throw APIError(code, "the \(name) name is missing") }
        guard let decoded = PercentDecoding.decode(raw) else {
            throw APIError(code, "the \(name) name is not valid percent-encoded UTF-8")
        }
        return decoded
    }

    /// The request body, at most `maximumEventBodyBytes`.
    func body(_ request: Request) async throws -> [UInt8] {
        let limit = configuration.maximumEventBodyBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.appendTooLarge, "a request body may be at most \(limit) bytes")
        }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.appendTooLarge, "a request body may be at most \(limit) bytes")
        }
    }

    var jsonLimits: JSONLimits {
        JSONLimits(maximumByteCount: configuration.maximumEventBodyBytes, maximumDepth: 64, maximumNumberLiteralBytes: 128)
    }

    /// `X-Chorus-Expected-Revision`, if given.
    func expectedRevision(_ request: Request) throws(APIError) -> ExpectedState? {
        guard let text = request.headers[ChorusHeaders.expectedRevision] else { return nil }
        do { return try ExpectedState.parse(text.trimmingSpaces) } catch { throw APIError(error) }
    }

    // MARK: Answers

    var baseHeaders: HTTPFields {
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        return headers
    }

    func json(_ text: String, status: HTTPResponse.Status = .ok, appliedIndex: LogIndex?, headers extra: HTTPFields = [:])
        -> Response
    {
        var headers = baseHeaders
        headers[.contentType] = "application/json"
        if let appliedIndex { headers[ChorusHeaders.index] = String(appliedIndex.rawValue) }
        for field in extra { headers[field.name] = field.value }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    /// The service's error as an HTTP error (a redirect to the leader for `not_leader`).
    func failure(_ error: ServiceError, _ request: Request) -> APIError {
        APIError(error, requestURI: request.uri.description, headers: baseHeaders)
    }
}
