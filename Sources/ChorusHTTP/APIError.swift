import ChorusCore
import ChorusNode
import HTTPTypes
import Hummingbird
import NIOCore

/// An API error: an HTTP status, a machine-readable code, a sentence, and
/// optional headers, rendered as `{"error":{"code":"...","message":"..."}}`.
///
/// Every failure of the API goes through this type (the error middleware
/// converts anything else), so a client can always branch on `error.code`.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = "{\"error\":{\"code\":\"\(code)\",\"message\":\(JSONString.quoted(message))}}\n"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    /// The status and code for a node's refusal.
    static func from(_ error: NodeError, requestURI: String) -> APIError {
        switch error {
        case .notLeader(let leader, let url):
            guard let url else {
                return APIError(
                    .serviceUnavailable, "no_leader", "the leader \(leader) has not announced its HTTP URL yet",
                    headers: [.retryAfter: "1"])
            }
            var headers: HTTPFields = [.location: url + requestURI]
            headers[ChorusHeaders.leader] = "\(leader.rawValue)"
            return APIError(.temporaryRedirect, "not_leader", "send writes to the leader \(leader) at \(url)", headers: headers)
        case .noLeader:
            return APIError(.serviceUnavailable, "no_leader", error.description, headers: [.retryAfter: "1"])
        case .overloaded:
            return APIError(.serviceUnavailable, "overloaded", error.description, headers: [.retryAfter: "1"])
        case .proposalLost:
            return APIError(.serviceUnavailable, "proposal_lost", error.description, headers: [.retryAfter: "0"])
        case .outcomeUnknown:
            return APIError(.gatewayTimeout, "outcome_unknown", error.description)
        case .readTimeout:
            return APIError(.serviceUnavailable, "read_timeout", error.description, headers: [.retryAfter: "0"])
        case .notCaughtUp(let applied, _):
            var headers: HTTPFields = [.retryAfter: "0"]
            headers[ChorusHeaders.index] = "\(applied.rawValue)"
            return APIError(.serviceUnavailable, "not_caught_up", error.description, headers: headers)
        case .stopped:
            return APIError(.serviceUnavailable, "stopped", error.description)
        }
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
            return APIError(.contentTooLarge, "payload_too_large", "the body exceeds \(error.maxBytes.map(String.init) ?? "the") byte limit").response()
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "not_found"
            case .methodNotAllowed: code = "method_not_allowed"
            case .contentTooLarge: code = "payload_too_large"
            case .badRequest: code = "bad_request"
            default: code = error.status.code >= 500 ? "internal" : "bad_request"
            }
            let message = error.body ?? (error.status == .notFound ? "no such route: \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return APIError(error.status, code, message, headers: error.headers).response()
        } catch {
            return APIError(.internalServerError, "internal", "\(error)").response()
        }
    }
}

/// The custom header names of the API.
enum ChorusHeaders {
    /// On every KV response: the replica's applied index (a session token for `sequential`).
    static let index = HTTPField.Name("X-Chorus-Index")!
    /// Sent by a client: serve a `sequential` read only from a state at least this new.
    static let minimumIndex = HTTPField.Name("X-Chorus-Min-Index")!
    /// The key's version (also in `ETag`).
    static let version = HTTPField.Name("X-Chorus-Version")!
    /// On a 412: the key's current version (0 if absent).
    static let currentVersion = HTTPField.Name("X-Chorus-Current-Version")!
    /// Idempotency: the client's session id and this request's sequence number.
    static let clientID = HTTPField.Name("X-Chorus-Client-ID")!
    static let sequence = HTTPField.Name("X-Chorus-Sequence")!
    /// On a redirect: the leader's node id.
    static let leader = HTTPField.Name("X-Chorus-Leader")!
    /// Which node answered.
    static let node = HTTPField.Name("X-Chorus-Node")!
}
