import ChorusAPI
import ChorusService
import HTTPTypes
import Hummingbird

/// The caller of the request being handled, set by `AuthenticationMiddleware`
/// for the handler's task (a task-local, so every handler reads it without
/// a custom request context; it does not outlive the request's handling).
enum RequestCaller {
    @TaskLocal static var current: Caller = .anonymous
}

/// Turns `Authorization: Bearer <token>` into the request's `Caller`
/// (RFC 6750 §2.1), before any route parses anything:
///
/// - the open routes (`GET /` (the dashboard page), `GET /healthz`, `GET /openapi.yaml`) pass without a token;
/// - while authorization is enforced, a request without a token, with a
///   header that is not `Bearer <token>`, or with a token that does not
///   verify is answered 401 `unauthenticated`, with `WWW-Authenticate`
///   (RFC 6750 §3), whatever route it names — so nothing about routes,
///   parameters or data is told to a client that has not authenticated;
/// - otherwise the handler runs with the verified caller, and the service
///   decides its permission (403 `permission_denied`) once per operation.
///
/// A follower's 307 to the leader carries no credentials: the client sends
/// its `Authorization` header again, and the leader verifies and checks it
/// again, as every node does for every request.
struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let service: ChorusService

    /// Paths served to anyone (liveness probes, the API's own description).
    static var openPaths: Set<String> { ["/", "/healthz", "/openapi.yaml"] }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard service.authorization.isEnforced, !Self.openPaths.contains(request.uri.path) else {
            return try await next(request, context)
        }
        let values = request.headers[values: .authorization]
        guard !values.isEmpty else {
            throw Self.unauthenticated("this request needs a bearer token (Authorization: Bearer <token>)", invalid: false)
        }
        guard values.count == 1, let token = Self.bearerToken(values[0]) else {
            throw Self.unauthenticated("the Authorization header must be one 'Bearer <token>'", invalid: true)
        }
        let caller: Caller
        do {
            caller = try service.authenticate(bearer: token)
        } catch {
            throw Self.unauthenticated(error.message, invalid: true)
        }
        return try await RequestCaller.$current.withValue(caller) { try await next(request, context) }
    }

    /// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
    static func bearerToken(_ value: String) -> String? {
        let parts = value.trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1])
    }

    static func unauthenticated(_ message: String, invalid: Bool) -> APIError {
        let challenge = invalid ? "Bearer realm=\"chorus\", error=\"invalid_token\"" : "Bearer realm=\"chorus\""
        return APIError(.unauthenticated, message, headers: [.wwwAuthenticate: challenge])
    }
}
