#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Runs CPU-bound seed batches on threads of their own instead of the
/// cooperative pool, at most one per core across the whole process. A campaign
/// that held the pool for minutes would starve every other task in the
/// process; so would several campaigns with a thread per core each (in
/// `swift test` seven campaigns at once ran fourteen busy threads on two
/// cores, and tests waiting on sockets timed out).
public enum DedicatedThread {
    /// How many bodies run at once in this process: the online cores.
    public static let width = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `body` on a new thread once one of the process's `width` slots is
    /// free, and resumes with its result.
    public static func run<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value {
        await slots.acquire()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
            let box = Unmanaged.passRetained(
                Work {
                    let value = body()
                    slots.release()
                    continuation.resume(returning: value)
                })
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

    static let slots = Slots(width: width)

    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// A counting semaphore for tasks: waiting suspends, never blocks a thread.
    final class Slots: Sendable {
        private struct State {
            var free: Int
            var waiting: [CheckedContinuation<Void, Never>] = []
            var head = 0
        }
        private let state: Mutex<State>

        init(width: Int) { state = Mutex(State(free: width)) }

        func acquire() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let granted = state.withLock { state -> Bool in
                    if state.free > 0 {
                        state.free -= 1
                        return true
                    }
                    state.waiting.append(continuation)
                    return false
                }
                if granted { continuation.resume() }
            }
        }

        func release() {
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard state.head < state.waiting.count else {
                    state.free += 1
                    return nil
                }
                let next = state.waiting[state.head]
                state.head += 1
                if state.head == state.waiting.count {
                    state.waiting.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                return next
            }
            next?.resume()
        }
    }
}
