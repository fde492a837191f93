#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts a detached system thread running `body`.
///
/// The group-commit writer blocks in `pwrite` and `fdatasync` by design; on
/// its own thread that blocking never holds up an event loop or a thread of
/// Swift's cooperative pool, which must never block.
func startDetachedThread(name: String, _ body: @escaping @Sendable () -> Void) {
    final class Entry {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
    let entry = Unmanaged.passRetained(Entry(name: name, body: body)).toOpaque()
    #if canImport(Glibc)
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { argument in
            let entry = Unmanaged<Entry>.fromOpaque(argument!).takeRetainedValue()
            entry.body()
            return nil
        }, entry)
    #else
    var thread: pthread_t?
    let result = pthread_create(
        &thread, nil,
        { argument in
            let entry = Unmanaged<Entry>.fromOpaque(argument).takeRetainedValue()
            entry.body()
            return nil
        }, entry)
    #endif
    precondition(result == 0, "cannot start thread \(name): pthread_create returned \(result)")
    #if canImport(Glibc)
    pthread_detach(thread)
    #else
    if let thread { pthread_detach(thread) }
    #endif
}
