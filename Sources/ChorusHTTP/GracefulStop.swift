import ServiceLifecycle
import Synchronization

/// Ends a long-lived response (a subscription, a group consumer) when the
/// server shuts down gracefully: without it, `SIGTERM` to a node with a live
/// subscriber would wait for that subscriber forever, since its stream never
/// ends by itself. The loop checks `isStopped` after each batch; a live
/// subscription's wait returns at least once a second, so shutdown waits at
/// most about that long.
final class GracefulStop: Sendable {
    private let stopped = Atomic<Bool>(false)

    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Runs `operation`, setting `isStopped` when graceful shutdown begins.
    static func run<Value>(_ operation: (GracefulStop) async throws -> Value) async rethrows -> Value {
        let stop = GracefulStop()
        return try await withGracefulShutdownHandler {
            try await operation(stop)
        } onGracefulShutdown: {
            stop.stopped.store(true, ordering: .relaxed)
        }
    }
}
