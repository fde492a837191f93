import ChorusAPI
import HTTPTypes
import Hummingbird

/// The event store's routes on the router, and 405 `method_not_allowed`
/// (with `Allow`) for every other method on the same paths.
extension EventStoreAPI {
    func register<Context: RequestContext>(on router: Router<Context>) {
        let api = self
        func route(_ path: RouterPath, _ handlers: [(HTTPRequest.Method, @Sendable (Request, Context) async throws -> Response)]) {
            router.on(path, methods: handlers)
        }
        route("/v1/streams", [(.post, { try await api.appendMultiple($0, context: $1) })])
        route(
            "/v1/streams/:stream",
            [
                (.get, { try await api.readStream($0, context: $1) }),
                (.post, { try await api.append($0, context: $1) }),
                (.delete, { try await api.deleteStream($0, context: $1) }),
            ])
        route(
            "/v1/streams/:stream/metadata",
            [
                (.get, { try await api.getMetadata($0, context: $1) }),
                (.put, { try await api.putMetadata($0, context: $1) }),
            ])
        route("/v1/streams/:stream/subscribe", [(.get, { try await api.subscribeStream($0, context: $1) })])
        route(
            "/v1/streams/:stream/groups/:group",
            [
                (.get, { try await api.getGroup($0, context: $1) }),
                (.post, { try await api.createGroup($0, context: $1) }),
                (.delete, { try await api.deleteGroup($0, context: $1) }),
            ])
        route("/v1/streams/:stream/groups/:group/consume", [(.get, { try await api.consume($0, context: $1) })])
        route("/v1/streams/:stream/groups/:group/ack", [(.post, { try await api.acknowledge($0, context: $1) })])
        route("/v1/streams/:stream/groups/:group/nack", [(.post, { try await api.negativelyAcknowledge($0, context: $1) })])
        route("/v1/streams/:stream/groups/:group/replay-parked", [(.post, { try await api.replayParked($0, context: $1) })])
        route("/v1/streams/:stream/groups/:group/parked", [(.get, { try await api.parked($0, context: $1) })])
        route("/v1/all", [(.get, { try await api.readAll($0, context: $1) })])
        route("/v1/all/subscribe", [(.get, { try await api.subscribeAll($0, context: $1) })])
        route("/v1/groups", [(.get, { try await api.listGroups($0, context: $1) })])
    }
}
