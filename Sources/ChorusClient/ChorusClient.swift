import ChorusCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The consistency a read asks for (see the HTTP API).
public enum ClientReadConsistency: String, Sendable, Hashable, CaseIterable {
    case linearizable
    case sequential
}

/// A value as read: bytes and version (the log index of the write that produced it).
public struct VersionedValue: Sendable, Hashable {
    public var value: [UInt8]
    public var version: UInt64
}

/// The expected failures of a client call.
public enum ChorusClientError: Error, Sendable, CustomStringConvertible {
    /// A compare-and-set's expected version did not hold; `current` is the key's version (0 if absent).
    case versionMismatch(current: UInt64)
    /// No node answered usefully before the deadline. For a read or a refused
    /// write nothing happened; see `outcomeUnknown` for writes.
    case unavailable(String)
    /// A write was sent but its outcome could not be learned before the deadline.
    case outcomeUnknown(String)
    /// The server refused the request as malformed (4xx other than the above).
    case rejected(status: Int, code: String, message: String)
    case invalidEndpoint(String)

    public var description: String {
        switch self {
        case .versionMismatch(let current): "version mismatch: the key's version is \(current)"
        case .unavailable(let reason): "unavailable: \(reason)"
        case .outcomeUnknown(let reason): "outcome unknown: \(reason)"
        case .rejected(let status, let code, let message): "\(status) \(code): \(message)"
        case .invalidEndpoint(let endpoint): "invalid endpoint '\(endpoint)' (expected http://HOST:PORT)"
        }
    }
}

/// An async/await client for a Chorus cluster.
///
/// - **Leaders.** It sends writes to the node it believes leads; a 307 from a
///   follower moves it to the leader named in `Location`, and it remembers
///   that leader for later calls.
/// - **Safe retries.** Every write carries an idempotency session
///   (`X-Chorus-Client-ID`, `X-Chorus-Sequence`). A session is used by one call
///   at a time (a pool hands them out), so its sequence numbers reach the
///   cluster in order; a retried write repeats its pair and the state machine
///   applies it at most once (thesis §6.3). Unavailable nodes, connection
///   errors, `proposal_lost` and `outcome_unknown` are retried with backoff
///   until the call's deadline.
/// - **Sessions for `sequential` reads.** It keeps the largest `X-Chorus-Index`
///   it has seen and sends it as `X-Chorus-Min-Index`, so sequential reads never
///   go back in time and see the client's own writes.
public final class ChorusClient: Sendable {
    public struct Configuration: Sendable {
        /// Per HTTP exchange.
        public var requestTimeoutMilliseconds: Int = 2_000
        /// Per call, retries included.
        public var operationTimeoutMilliseconds: Int = 10_000
        public var retryBackoffInitialMilliseconds: Int = 20
        public var retryBackoffMaximumMilliseconds: Int = 500
        public var maximumRedirects: Int = 8

        public init() {}
    }

    public let endpoints: [HTTPOrigin]
    public let configuration: Configuration
    let transport: HTTPTransport
    let state: Mutex<State>

    struct State {
        var preferred: Int = 0
        var leader: HTTPOrigin?
        var highestIndex: UInt64 = 0
        var idleSessions: [Session] = []
        var random: SeededGenerator
    }

    struct Session {
        var clientID: UInt64
        var nextSequence: UInt64
    }

    /// - Parameter endpoints: node URLs (`http://127.0.0.1:8001`); any subset of the cluster.
    public init(
        endpoints: [String], configuration: Configuration = Configuration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, seed: UInt64? = nil
    ) throws(ChorusClientError) {
        var origins: [HTTPOrigin] = []
        for endpoint in endpoints {
            guard let (origin, _) = HTTPOrigin.parse(endpoint) else { throw .invalidEndpoint(endpoint) }
            origins.append(origin)
        }
        guard !origins.isEmpty else { throw .invalidEndpoint("(none)") }
        self.endpoints = origins
        self.configuration = configuration
        self.transport = HTTPTransport(group: group)
        // Session ids must differ between clients; the clock and the process
        // id seed the generator (the client is not part of any simulation).
        let start = seed ?? (UInt64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds) ^ UInt64(getpid()) << 32)
        self.state = Mutex(State(random: SeededGenerator(seed: start)))
    }

    /// Closes pooled connections.
    public func shutdown() { transport.shutdown() }

    /// The largest applied index this client has seen (its session token).
    public var sessionIndex: UInt64 { state.withLock { $0.highestIndex } }

    // MARK: Key-value calls

    /// Writes `value`; with `expectedVersion` only if the key's version is that
    /// (0: only if absent). Returns the new version.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], expectedVersion: UInt64? = nil) async throws(ChorusClientError) -> UInt64 {
        var headers = HTTPHeaders()
        if let expectedVersion {
            if expectedVersion == 0 { headers.add(name: "If-None-Match", value: "*") } else {
                headers.add(name: "If-Match", value: "\"\(expectedVersion)\"")
            }
        }
        let response = try await write(.PUT, key: key, headers: headers, body: value)
        guard let version = response.headers.first(name: "X-Chorus-Version").flatMap(UInt64.init) else {
            throw .unavailable("a write answer without a version")
        }
        return version
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ key: String) async throws(ChorusClientError) -> Bool {
        let response = try await write(.DELETE, key: key, headers: HTTPHeaders(), body: nil)
        return response.bodyText.contains("\"deleted\":true")
    }

    /// Reads `key`, or nil if absent.
    ///
    /// A `sequential` read sends the session's index (or `minimumIndexOverride`,
    /// to carry another session's token) as `X-Chorus-Min-Index`.
    public func get(
        _ key: String, consistency: ClientReadConsistency = .linearizable, minimumIndexOverride: UInt64? = nil
    ) async throws(ChorusClientError) -> VersionedValue? {
        var headers = HTTPHeaders()
        if consistency == .sequential {
            headers.add(name: "X-Chorus-Min-Index", value: String(minimumIndexOverride ?? sessionIndex))
        }
        let path = "/v1/kv/\(Self.encodePathSegment(key))?consistency=\(consistency.rawValue)"
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.operationTimeoutMilliseconds))
        var attempt = 0
        var lastProblem = "no attempt"
        var target = startingOrigin(forWrite: false)
        while NIODeadline.now() < deadline {
            attempt += 1
            let response: HTTPClientResponse
            do {
                response = try await transport.execute(
                    method: .GET, origin: target, path: path, headers: headers, body: nil, timeout: exchangeTimeout(deadline))
            } catch {
                lastProblem = "\(error)"
                target = rotate(after: target)
                await backoff(attempt)
                continue
            }
            noteIndex(response)
            switch response.status {
            case 200:
                let version = response.headers.first(name: "X-Chorus-Version").flatMap(UInt64.init) ?? 0
                return VersionedValue(value: response.body, version: version)
            case 404:
                if Self.errorCode(response) == "key_not_found" { return nil }
                throw Self.rejection(response)
            case 307:
                if let next = redirectTarget(response) { target = next } else { target = rotate(after: target) }
            case 503:
                lastProblem = "\(Self.errorCode(response)): \(Self.errorMessage(response))"
                if Self.errorCode(response) != "read_timeout" { target = rotate(after: target) }
                await backoff(attempt)
            default:
                throw Self.rejection(response)
            }
        }
        throw .unavailable(lastProblem)
    }

    // MARK: Cluster

    /// `GET /v1/cluster` from one endpoint, as raw JSON text.
    public func clusterJSON(at origin: HTTPOrigin) async throws(ChorusClientError) -> String {
        do {
            let response = try await transport.execute(
                method: .GET, origin: origin, path: "/v1/cluster", headers: HTTPHeaders(), body: nil,
                timeout: .milliseconds(Int64(configuration.requestTimeoutMilliseconds)))
            guard response.status == 200 else { throw Self.rejection(response) }
            return response.bodyText
        } catch let error as ChorusClientError {
            throw error
        } catch {
            throw .unavailable("\(error)")
        }
    }

    /// One raw HTTP exchange (no retries, no redirects): for tools and tests
    /// that look at statuses and headers themselves.
    public func send(
        _ method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws(ChorusClientError) -> HTTPClientResponse {
        guard let (origin, path) = HTTPOrigin.parse(url) else { throw .invalidEndpoint(url) }
        do {
            return try await transport.execute(
                method: method, origin: origin, path: path, headers: HTTPHeaders(headers), body: body,
                timeout: .milliseconds(Int64(configuration.operationTimeoutMilliseconds)))
        } catch {
            throw .unavailable("\(error)")
        }
    }

    // MARK: Writes with sessions

    private func write(
        _ method: HTTPMethod, key: String, headers baseHeaders: HTTPHeaders, body: [UInt8]?
    ) async throws(ChorusClientError) -> HTTPClientResponse {
        var session = takeSession()
        let sequence = session.nextSequence
        session.nextSequence += 1
        defer { returnSession(session) }
        var headers = baseHeaders
        headers.add(name: "X-Chorus-Client-ID", value: String(session.clientID))
        headers.add(name: "X-Chorus-Sequence", value: String(sequence))
        let path = "/v1/kv/\(Self.encodePathSegment(key))"
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.operationTimeoutMilliseconds))
        var target = startingOrigin(forWrite: true)
        var attempt = 0
        var redirects = 0
        var mayHaveApplied = false
        var lastProblem = "no attempt"
        while NIODeadline.now() < deadline {
            attempt += 1
            let response: HTTPClientResponse
            do {
                response = try await transport.execute(
                    method: method, origin: target, path: path, headers: headers, body: body,
                    timeout: exchangeTimeout(deadline))
            } catch {
                // The request may have reached the node: only the session makes a retry safe.
                if case HTTPTransportError.connectFailed = error {} else { mayHaveApplied = true }
                lastProblem = "\(error)"
                forgetLeader(target)
                target = rotate(after: target)
                await backoff(attempt)
                continue
            }
            noteIndex(response)
            switch response.status {
            case 200:
                rememberLeader(target)
                return response
            case 307:
                redirects += 1
                guard redirects <= configuration.maximumRedirects, let next = redirectTarget(response) else {
                    lastProblem = "too many redirects"
                    target = rotate(after: target)
                    await backoff(attempt)
                    continue
                }
                target = next
            case 412:
                let current = response.headers.first(name: "X-Chorus-Current-Version").flatMap(UInt64.init) ?? 0
                throw .versionMismatch(current: current)
            case 503:
                let code = Self.errorCode(response)
                lastProblem = "\(code): \(Self.errorMessage(response))"
                if code == "no_leader" || code == "stopped" {
                    forgetLeader(target)
                    target = rotate(after: target)
                }
                await backoff(attempt)
            case 504:
                mayHaveApplied = true
                lastProblem = "outcome_unknown: \(Self.errorMessage(response))"
                await backoff(attempt)
            default:
                throw Self.rejection(response)
            }
        }
        throw mayHaveApplied ? .outcomeUnknown(lastProblem) : .unavailable(lastProblem)
    }

    private func takeSession() -> Session {
        state.withLock { state in
            if let session = state.idleSessions.popLast() { return session }
            // A fresh session: a random id in 1..<2^63 and sequences from 1.
            return Session(clientID: 1 + state.random.next() % (UInt64(1) << 63 - 1), nextSequence: 1)
        }
    }

    private func returnSession(_ session: Session) {
        state.withLock { $0.idleSessions.append(session) }
    }

    // MARK: Targets

    private func startingOrigin(forWrite: Bool) -> HTTPOrigin {
        state.withLock { state in
            if forWrite, let leader = state.leader { return leader }
            return endpoints[state.preferred % endpoints.count]
        }
    }

    private func rotate(after origin: HTTPOrigin) -> HTTPOrigin {
        state.withLock { state in
            let position = endpoints.firstIndex(of: origin) ?? state.preferred
            state.preferred = (position + 1) % endpoints.count
            return endpoints[state.preferred]
        }
    }

    private func rememberLeader(_ origin: HTTPOrigin) { state.withLock { $0.leader = origin } }

    private func forgetLeader(_ origin: HTTPOrigin) {
        state.withLock { if $0.leader == origin { $0.leader = nil } }
    }

    private func redirectTarget(_ response: HTTPClientResponse) -> HTTPOrigin? {
        guard let location = response.headers.first(name: "Location"), let (origin, _) = HTTPOrigin.parse(location) else {
            return nil
        }
        return origin
    }

    private func noteIndex(_ response: HTTPClientResponse) {
        guard let index = response.headers.first(name: "X-Chorus-Index").flatMap(UInt64.init) else { return }
        state.withLock { $0.highestIndex = max($0.highestIndex, index) }
    }

    private func exchangeTimeout(_ deadline: NIODeadline) -> TimeAmount {
        let remaining = deadline - .now()
        return max(.milliseconds(1), min(remaining, .milliseconds(Int64(configuration.requestTimeoutMilliseconds))))
    }

    private func backoff(_ attempt: Int) async {
        let exponent = min(attempt - 1, 10)
        let step = min(configuration.retryBackoffInitialMilliseconds << exponent, configuration.retryBackoffMaximumMilliseconds)
        let jitter = state.withLock { Int($0.random.next() % UInt64(step / 2 + 1)) }
        try? await Task.sleep(for: .milliseconds(step / 2 + jitter))
    }

    // MARK: Helpers

    static func errorCode(_ response: HTTPClientResponse) -> String { jsonField("code", in: response.bodyText) ?? "unknown" }
    static func errorMessage(_ response: HTTPClientResponse) -> String {
        jsonField("message", in: response.bodyText) ?? response.bodyText
    }

    static func rejection(_ response: HTTPClientResponse) -> ChorusClientError {
        .rejected(status: response.status, code: errorCode(response), message: errorMessage(response))
    }

    /// The string value of `"name":"…"` in the API's flat error JSON.
    public static func jsonField(_ name: String, in text: String) -> String? {
        let needle = Array("\"\(name)\":\"".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count >= needle.count,
            let position = (0...(bytes.count - needle.count)).first(where: { bytes[$0..<($0 + needle.count)].elementsEqual(needle) })
        else { return nil }
        var value = ""
        var escaped = false
        for character in String(decoding: bytes[(position + needle.count)...], as: UTF8.self) {
            if escaped {
                value.append(character == "n" ? "\n" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                return value
            } else {
                value.append(character)
            }
        }
        return nil
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
