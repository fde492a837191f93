import AsyncHTTPClient
import ChorusAPI
import ChorusCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value as read: bytes and version (the log index of the write that produced it).
public struct VersionedValue: Sendable, Hashable {
    public var value: [UInt8]
    public var version: UInt64

    public init(value: [UInt8], version: UInt64) {
        self.value = value
        self.version = version
    }
}

/// An async/await client for a Chorus cluster, on async-http-client (pooled
/// keep-alive connections, TLS, HTTP/2 where the server offers it).
///
/// - **Leaders.** It sends writes to the node it believes leads; a 307 from a
///   follower moves it to the node named in `Location`, and once that node
///   has answered it is remembered as the leader for later calls. Redirects
///   are the client's own (AHC's are off): a body is replayed only on a 307,
///   with its idempotency session, and never from `https` to `http`.
/// - **Safe retries.** Every write carries an idempotency session
///   (`X-Chorus-Idempotency: <client>.<sequence>`). A session is used by one call
///   at a time (a pool hands them out), so its sequence numbers reach the
///   cluster in order; a retried write repeats its pair and the state machine
///   applies it at most once (thesis §6.3). Connection failures, the
///   retryable codes (`ErrorCode.isRetryable`) and, for writes,
///   `outcome_unknown` are retried with exponential backoff and jitter until
///   the call's deadline.
/// - **Sessions.** It keeps the session token of every answer
///   (`X-Chorus-Session`, merged) and sends it on every request, so `session`
///   and `sequential` reads never go back in time and see the client's own
///   writes, from any node; `sessionToken` and `adopt(_:)` carry it to another
///   process. It also keeps the largest `X-Chorus-Index` it has seen.
public final class ChorusClient: Sendable {
    public let endpoints: [HTTPOrigin]
    public let configuration: Configuration
    let httpClient: HTTPClient
    let state: Mutex<State>

    struct State {
        var preferred: Int = 0
        var leader: HTTPOrigin?
        var highestIndex: UInt64 = 0
        var sessionToken: SessionToken?
        var idleSessions: [Session] = []
        var random: SeededGenerator
        var isShutDown = false
    }

    /// An idempotency session: an id and the next sequence number to use.
    struct Session {
        var clientID: UInt64
        var nextSequence: UInt64
    }

    /// - Parameters:
    ///   - endpoints: node URLs (`http://127.0.0.1:8001`, `https://…`); any subset of the cluster.
    ///   - seed: seeds session ids and backoff jitter (tests); by default the clock and process id.
    public init(
        endpoints: [String], configuration: Configuration = Configuration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, seed: UInt64? = nil
    ) throws(ChorusClientError) {
        var origins: [HTTPOrigin] = []
        for endpoint in endpoints {
            guard let (origin, path) = HTTPOrigin.parse(endpoint), path == "/" else { throw .invalidEndpoint(endpoint) }
            origins.append(origin)
        }
        guard !origins.isEmpty else { throw .invalidEndpoint("(none)") }
        try configuration.validate()
        self.endpoints = origins
        self.configuration = configuration
        self.httpClient = HTTPClient(eventLoopGroup: group, configuration: try configuration.httpClientConfiguration())
        // Session ids must differ between clients; the clock and the process
        // id seed the generator (the client is not part of any simulation).
        let start = seed ?? (UInt64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds) ^ UInt64(getpid()) << 32)
        self.state = Mutex(State(random: SeededGenerator(seed: start)))
    }

    deinit { shutdown() }

    /// Starts closing the pooled connections and returns at once (safe in a
    /// `defer`); calls made afterwards fail. Idempotent; `deinit` does it too.
    public func shutdown() {
        if markShutDown() { httpClient.shutdown { _ in } }
    }

    /// Closes the pooled connections and returns once they are closed (a
    /// server shutting down next finds no connection of this client open).
    public func shutdownAndWait() async {
        if markShutDown() { try? await httpClient.shutdown() }
    }

    /// True for the first caller only.
    private func markShutDown() -> Bool {
        state.withLock { state in
            defer { state.isShutDown = true }
            return !state.isShutDown
        }
    }

    /// The largest applied index this client has seen (its session token).
    public var sessionIndex: UInt64 { state.withLock { $0.highestIndex } }

    /// The session token (`X-Chorus-Session`) this client sends on every
    /// request: what it has written and read so far. Hand it to another
    /// process (`adopt(_:)`) to give that process this session's guarantees.
    public var sessionToken: SessionToken? { state.withLock { $0.sessionToken } }

    /// Merges another session's token into this client's, so its reads see
    /// at least what that session saw. Tokens of two cluster epochs do not
    /// merge (`foreign_session_token`).
    public func adopt(_ token: SessionToken) throws(ChorusClientError) {
        let result: Result<Void, APIProblem> = state.withLock { state in
            guard let held = state.sessionToken else {
                state.sessionToken = token
                return .success(())
            }
            do throws(APIProblem) {
                state.sessionToken = try held.merging(token)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let problem) = result { throw .api(problem, status: problem.code.httpStatus) }
    }

    /// The node this client sends writes to first, once one has answered a write.
    public var knownLeader: HTTPOrigin? { state.withLock { $0.leader } }

    // MARK: Raw exchanges

    /// One raw HTTP exchange (no retries, no redirects, the bearer token
    /// added): for tools and tests that look at statuses and headers themselves.
    /// `url` must be a valid URL: AHC rebuilds the path from a Foundation
    /// `URL`, so an invalid percent-encoding (`%FF`, `%4`) is not sent as written.
    public func send(
        _ method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws(ChorusClientError) -> ChorusResponse {
        guard let (origin, path) = HTTPOrigin.parse(url) else { throw .invalidEndpoint(url) }
        do {
            return try await exchange(
                method, origin: origin, path: path, headers: HTTPHeaders(headers), body: body,
                deadline: .now() + .milliseconds(Int64(configuration.operationTimeoutMilliseconds)))
        } catch {
            throw .unavailable(error.description)
        }
    }

    /// `GET /v1/cluster` from one node, as raw JSON text.
    public func clusterJSON(at origin: HTTPOrigin) async throws(ChorusClientError) -> String {
        let response: ChorusResponse
        do {
            response = try await exchange(
                .GET, origin: origin, path: "/v1/cluster", headers: HTTPHeaders(), body: nil,
                deadline: .now() + .milliseconds(Int64(configuration.requestTimeoutMilliseconds)))
        } catch {
            throw .unavailable(error.description)
        }
        guard response.status == 200 else { throw Self.refusal(response) }
        return response.bodyText
    }

    /// The error for an answer the client does not retry: the API's problem
    /// if the body names a known code, else an unexpected response.
    static func refusal(_ response: ChorusResponse) -> ChorusClientError {
        if let problem = response.problem { return .api(problem, status: response.status) }
        return .unexpectedResponse(status: response.status, body: response.bodyExcerpt)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    public static func encodePathSegment(_ key: String) -> String {
        var result = ""
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }
}
