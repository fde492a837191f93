import ChorusAPI
import HTTPTypes
import Hummingbird

extension Router {
    /// Serves `handlers` on `path`, and answers every other method there with
    /// 405 `method_not_allowed` and an `Allow` header (RFC 9110 §15.5.6), so
    /// a wrong method is never a misleading 404.
    func on(_ path: RouterPath, methods handlers: [(HTTPRequest.Method, @Sendable (Request, Context) async throws -> Response)]) {
        for (method, handler) in handlers { on(path, method: method, use: handler) }
        let allowed = handlers.map(\.0)
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .put, .post, .delete, .patch] where !allowed.contains(method) {
            on(path, method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path); use \(allow)", headers: [.allow: allow])
            }
        }
    }
}
