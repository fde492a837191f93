import ChorusAPI
import ChorusCore
import ChorusNode
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// An API error on the HTTP wire: a code (with its status, `ErrorCode.httpStatus`),
/// a sentence, and headers, rendered as `{"error":{"code":"...","message":"..."}}`.
///
/// Every failure of the API goes through this type (the error middleware
/// converts anything else), so a client can always branch on `error.code`.
struct APIError: Error, HTTPResponseError {
    var problem: APIProblem
    var headers: HTTPFields = [:]

    var status: HTTPResponse.Status { HTTPResponse.Status(code: problem.code.httpStatus) }

    init(_ code: ErrorCode, _ message: String, headers: HTTPFields = [:]) {
        self.problem = APIProblem(code, message)
        self.headers = headers
    }

    init(_ problem: APIProblem) { self.problem = problem }

    /// The service layer's error in HTTP: a redirect to the leader, the
    /// key's current version, the applied index, when to retry.
    init(_ error: ServiceError, requestURI: String, headers: HTTPFields = [:]) {
        self.problem = error.problem
        self.headers = headers
        if let url = error.leaderURL { self.headers[.location] = url + requestURI }
        if let leader = error.leader { self.headers[ChorusHeaders.leader] = "\(leader.rawValue)" }
        if let seconds = error.retryAfterSeconds { self.headers[.retryAfter] = "\(seconds)" }
        if let index = error.appliedIndex { self.headers[ChorusHeaders.index] = "\(index.rawValue)" }
        if error.conflicts.count == 1 { self.headers[ChorusHeaders.actualRevision] = error.conflicts[0].actualText }
        if let current = error.currentVersion {
            self.headers[ChorusHeaders.currentVersion] = String(current.rawValue)
            if current != .zero { self.headers[.eTag] = "\"\(current.rawValue)\"" }
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: problem.json)))
    }
}

/// Converts every error a handler or the router throws into the JSON error form.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as NIOTooManyBytesError {
            return APIError(.payloadTooLarge, "the body exceeds \(error.maxBytes.map(String.init) ?? "the") byte limit").response()
        } catch let error as HTTPError {
            let code: ErrorCode
            switch error.status {
            case .notFound: code = .notFound
            case .methodNotAllowed: code = .methodNotAllowed
            case .contentTooLarge: code = .payloadTooLarge
            default: code = error.status.code >= 500 ? .internal : .badRequest
            }
            let message = error.body ?? (error.status == .notFound ? "no such route: \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return APIError(code, message, headers: error.headers).response()
        } catch {
            return APIError(.internal, "\(error)").response()
        }
    }
}

/// The custom header names of the API (`ChorusAPI.ChorusHeader`), as HTTP field names.
enum ChorusHeaders {
    static let index = HTTPField.Name(ChorusHeader.index)!
    static let minimumIndex = HTTPField.Name(ChorusHeader.minimumIndex)!
    static let version = HTTPField.Name(ChorusHeader.version)!
    static let currentVersion = HTTPField.Name(ChorusHeader.currentVersion)!
    static let idempotency = HTTPField.Name(ChorusHeader.idempotency)!
    static let leader = HTTPField.Name(ChorusHeader.leader)!
    static let node = HTTPField.Name(ChorusHeader.node)!
    static let session = HTTPField.Name(ChorusHeader.session)!
    static let consistency = HTTPField.Name(ChorusHeader.consistency)!
    static let servedBy = HTTPField.Name(ChorusHeader.servedBy)!
    static let stalenessVersions = HTTPField.Name(ChorusHeader.stalenessVersions)!
    static let stalenessMilliseconds = HTTPField.Name(ChorusHeader.stalenessMilliseconds)!
    static let expectedRevision = HTTPField.Name(ChorusHeader.expectedRevision)!
    static let actualRevision = HTTPField.Name(ChorusHeader.actualRevision)!
    static let position = HTTPField.Name(ChorusHeader.position)!
    static let lastEventID = HTTPField.Name(ChorusHeader.lastEventID)!
}
