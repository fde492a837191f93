import ChorusAPI
import HTTPTypes
import Hummingbird

/// The methods a path that exists answers for itself when it does not serve
/// them: every method of RFC 9110 §9.3 but `HEAD` (which belongs with `GET`),
/// `PATCH` (RFC 5789) and `QUERY` (the safe method with a body, draft
/// "httpbis-safe-method-w-body"). A method outside this list on a path
/// that exists is unknown to the router and answered 404.
enum RouteMethods {
    static let answered: [HTTPRequest.Method] = [.get, .put, .post, .delete, .patch, .options, .trace, .connect, .query]
}

extension Router {
    /// Serves `handlers` on `path`, answers `OPTIONS` with 204 and `Allow`,
    /// and every other method of `RouteMethods.answered` with 405
    /// `method_not_allowed` and the same `Allow` (RFC 9110 §15.5.6: the
    /// target resource exists, the method is not one it supports), so a wrong
    /// method is never a misleading 404. Every route of the API registers
    /// through here, so `Allow` always lists exactly the methods
    /// `openapi.yaml` declares for the path.
    func on(_ path: RouterPath, methods handlers: [(HTTPRequest.Method, @Sendable (Request, Context) async throws -> Response)]) {
        for (method, handler) in handlers { on(path, method: method, use: handler) }
        let allowed = handlers.map(\.0)
        precondition(!allowed.contains(.options), "OPTIONS is answered by Router.on(_:methods:) itself (\(path))")
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        on(path, method: .options) { _, _ -> Response in
            Response(status: .noContent, headers: [.allow: allow])
        }
        for method in RouteMethods.answered where !allowed.contains(method) && method != .options {
            on(path, method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allow)", headers: [.allow: allow])
            }
        }
    }
}
