#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs CPU-bound seed batches on threads of their own instead of the
/// cooperative pool (one thread per core: two on a small machine). A campaign
/// that held the pool for minutes would starve every other task in the
/// process, and with them any test that measures a deadline or waits on I/O.
enum DedicatedThread {
    /// Runs `body` on a new thread and resumes with its result.
    static func run<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let box = Unmanaged.passRetained(Work { continuation.resume(returning: body()) })
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { context in
                let work = Unmanaged<Work>.fromOpaque(context!).takeRetainedValue()
                work.body()
                return nil
            }, box.toOpaque())
            if created == 0 {
                pthread_detach(thread)
            } else {
                // No thread to be had: run here rather than not at all.
                box.takeRetainedValue().body()
            }
        }
    }

    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
