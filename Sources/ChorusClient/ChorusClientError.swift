import ChorusAPI

/// The expected failures of a client call. A caller branches on the case;
/// the strings are for people.
public enum ChorusClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A compare-and-set's expected version did not hold; `current` is the key's version (0 if absent).
    case versionMismatch(current: UInt64)
    /// No node answered usefully before the deadline, and nothing happened:
    /// a read found nothing to read from, a write was refused or never sent.
    case unavailable(String)
    /// A write was sent but its outcome could not be learned before the
    /// deadline: it may or may not have been applied (at most once).
    case outcomeUnknown(String)
    /// The server refused the request with an API error the client does not
    /// retry (`invalid_key`, `payload_too_large`, `session_expired`, …).
    case api(APIProblem, status: Int)
    /// The server answered something this client cannot read: a status or
    /// an error code it does not know (a newer server), or a body that is not
    /// the API's. `body` is the start of what came back.
    case unexpectedResponse(status: Int, body: String)
    case invalidEndpoint(String)
    case invalidConfiguration(String)
    /// An argument the client refuses before sending anything.
    case invalidArgument(String)
    /// A wait for a state (a saga's) ended at its timeout; nothing failed.
    case timedOut(String)

    /// The API's error code, if the server named one this release knows.
    public var code: ErrorCode? {
        switch self {
        case .versionMismatch: .versionMismatch
        case .api(let problem, _): problem.code
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .versionMismatch(let current): "version mismatch: the key's version is \(current)"
        case .unavailable(let reason): "unavailable: \(reason)"
        case .outcomeUnknown(let reason): "outcome unknown: \(reason)"
        case .api(let problem, let status): "\(status) \(problem.code): \(problem.message)"
        case .unexpectedResponse(let status, let body): "unexpected response \(status): \(body)"
        case .invalidEndpoint(let endpoint): "invalid endpoint '\(endpoint)' (expected http://HOST:PORT or https://HOST:PORT)"
        case .invalidConfiguration(let reason): "invalid client configuration: \(reason)"
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        case .timedOut(let reason): "timed out: \(reason)"
        }
    }
}
