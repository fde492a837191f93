import NIOCore
import NIOPosix

/// A task executor on threads of its own, for the in-process servers and
/// the client calls of these tests.
///
/// Why: the whole package's tests share the cooperative pool (one thread per
/// core, two here), and CPU-bound suites (simulations, checkers) can hold it
/// for minutes. A test that measures deadlines, or whose scripted server
/// must answer within one, would then fail by starvation, not by a bug.
/// Work started under `withTaskExecutorPreference` (child tasks included:
/// the server's connection handlers) runs here instead.
final class DedicatedExecutor: TaskExecutor {
    static let shared = DedicatedExecutor()

    /// Four threads: servers and clients of tests running side by side (and a
    /// thread held by one of them) do not wait for each other.
    private let threads = MultiThreadedEventLoopGroup(numberOfThreads: 4)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        threads.next().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs `body` (and every child task it starts) on the dedicated executor.
func onDedicatedThreads<Value>(_ body: () async throws -> Value) async throws -> Value {
    try await withTaskExecutorPreference(DedicatedExecutor.shared, operation: body)
}
