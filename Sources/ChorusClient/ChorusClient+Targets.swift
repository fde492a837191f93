import Synchronization
import NIOHTTP1
import ChorusAPI
import ChorusCore
import NIOCore

/// Where the next request goes, the sessions, the session index and the backoff.
extension ChorusClient {
    // MARK: Sessions

    /// An idle session, or a fresh one: a random id in 1..<2^63, sequences from 1.
    func takeSession() -> Session {
        state.withLock { state in
            if let session = state.idleSessions.popLast() { return session }
            return Session(clientID: 1 + state.random.next() % (UInt64(1) << 63 - 1), nextSequence: 1)
        }
    }

    /// Back to the pool for the next call (its next sequence number is higher).
    func returnSession(_ session: Session) {
        state.withLock { state in
            guard state.idleSessions.count < configuration.maximumIdleSessions else { return }
            state.idleSessions.append(session)
        }
    }

    // MARK: Targets

    func startingOrigin(forWrite: Bool) -> HTTPOrigin {
        state.withLock { state in
            if forWrite, let leader = state.leader { return leader }
            return endpoints[state.preferred % endpoints.count]
        }
    }

    /// The endpoint after `origin` (a leader not among the endpoints: the preferred one's successor).
    func rotate(after origin: HTTPOrigin) -> HTTPOrigin {
        state.withLock { state in
            let position = endpoints.firstIndex(of: origin) ?? state.preferred
            state.preferred = (position + 1) % endpoints.count
            return endpoints[state.preferred]
        }
    }

    func rememberLeader(_ origin: HTTPOrigin) { state.withLock { $0.leader = origin } }

    func forgetLeader(_ origin: HTTPOrigin) {
        state.withLock { if $0.leader == origin { $0.leader = nil } }
    }

    /// The origin a 307 names in `Location`, or nil if there is none, it does
    /// not parse, or it would move from `https` to `http` (the bearer token
    /// and the body must not leave TLS).
    func redirectTarget(_ response: ChorusResponse, from current: HTTPOrigin) -> HTTPOrigin? {
        guard let location = response.headers.first(name: StandardHeader.location),
            let (origin, _) = HTTPOrigin.parse(location)
        else { return nil }
        if current.scheme == .https && origin.scheme != .https { return nil }
        return origin
    }

    /// Remembers what the answer says the session has seen: its index and
    /// its session token (merged with the one held; a token of another
    /// epoch replaces it, since the server has accepted the request).
    func noteIndex(_ response: ChorusResponse) {
        if let index = response.unsignedInteger(ChorusHeader.index) {
            state.withLock { $0.highestIndex = max($0.highestIndex, index) }
        }
        guard let text = response.headers.first(name: ChorusHeader.session),
            let token = try? SessionToken(parsing: text)
        else { return }
        state.withLock { state in
            state.sessionToken = state.sessionToken.flatMap { try? $0.merging(token) } ?? token
        }
    }

    // MARK: Backoff

    /// Sleeps `initial·2^(attempt-1)` capped at the maximum, half of it
    /// jittered, and never past the deadline (if no attempt could follow the
    /// sleep, it returns at once and the call ends).
    func backoff(_ attempt: Int, deadline: NIODeadline) async {
        let exponent = min(max(attempt - 1, 0), 16)
        let step = min(
            configuration.retryBackoffInitialMilliseconds << exponent, configuration.retryBackoffMaximumMilliseconds)
        let jitter = state.withLock { Int($0.random.next() % UInt64(step / 2 + 1)) }
        let milliseconds = step / 2 + jitter
        let remaining = Int((deadline - .now()).nanoseconds / 1_000_000)
        guard remaining - milliseconds >= configuration.minimumAttemptMilliseconds else { return }
        try? await Task.sleep(for: .milliseconds(milliseconds))
    }
}
