import Synchronization

/// Whether a connection has authenticated, shared between its decoder (on
/// the event loop, which applies the pre-authentication bounds) and its
/// session (which sets it when `AUTH` succeeds). An atomic, because the two
/// run on different executors.
///
/// The decoder parses ahead of execution: a command pipelined right behind
/// an `AUTH`, before its reply, is still held to the pre-authentication
/// bounds (10 arguments, 16 KiB bulks). Clients wait for `AUTH`'s reply in
/// practice; the README lists this.
final class RESPAuthenticationGate: Sendable {
    private let authenticated: Atomic<Bool>

    init(authenticated: Bool) {
        self.authenticated = Atomic(authenticated)
    }

    var isAuthenticated: Bool { authenticated.load(ordering: .acquiring) }

    func set(_ value: Bool) { authenticated.store(value, ordering: .releasing) }
}
