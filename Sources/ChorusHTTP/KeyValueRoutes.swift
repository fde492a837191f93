import ChorusAPI
import ChorusCore
import ChorusKeyValue
import ChorusNode
import ChorusService
import HTTPTypes
import Hummingbird
import NIOCore

/// The key-value handlers: a thin adapter that parses HTTP into the service
/// layer's typed requests and renders its answers and `ServiceError`s.
///
/// Every key-value response carries `X-Chorus-Session` (the session token,
/// advanced past what this request wrote or read); reads also say which level
/// served them (`X-Chorus-Consistency`), from which node (`X-Chorus-Served-By`)
/// and, for bounded staleness, what was proven (`X-Chorus-Staleness-Versions`,
/// `X-Chorus-Staleness-Ms`).
struct KeyValueAPI: Sendable {
    let service: ChorusService
    let configuration: HTTPAPIConfiguration
    let nodeHeaderValue: String

    init(service: ChorusService, configuration: HTTPAPIConfiguration) {
        self.service = service
        self.configuration = configuration
        self.nodeHeaderValue = "\(service.nodeID.rawValue)"
        self.leaderless = LeaderlessKeyValueAPI(service: service, nodeHeaderValue: "\(service.nodeID.rawValue)")
    }

    /// The same paths on a leaderless keyspace: writes ask the local catalog
    /// first (a follower would otherwise redirect them to the Raft leader);
    /// reads go there when the Raft path answers `wrong_replication_mode`.
    let leaderless: LeaderlessKeyValueAPI

    static func isWrongMode(_ error: any Error) -> Bool {
        (error as? APIError)?.problem.code == .wrongReplicationMode
    }

    // MARK: Writes

    func put(_ request: Request, context: some RequestContext) async throws -> Response {
        let (keyspace, key) = try self.address(context)
        if request.headers[.contentLength] == nil && request.headers[.transferEncoding] == nil {
            throw APIError(.lengthRequired, "a PUT needs a Content-Length (or a chunked body)")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > configuration.maximumValueBytes {
            throw APIError(.payloadTooLarge, "a value may be at most \(configuration.maximumValueBytes) bytes")
        }
        var request = request
        let body = try await request.collectBody(upTo: configuration.maximumValueBytes)
        let value = Array(body.readableBytesView)
        let condition = try Self.writeCondition(request)
        if await service.isLeaderless(keyspace) { return try await leaderless.put(keyspace: keyspace, key: key, value: value, request: request) }
        let operation = KeyValueRequest.put(
            key: key, keyspace: keyspace, value: value, condition: condition, session: try session(request))
        do {
            return try await write(operation, request: request)
        } catch where Self.isWrongMode(error) && condition == .always {
            return try await leaderless.put(keyspace: keyspace, key: key, value: value, request: request)
        }
    }

    func delete(_ request: Request, context: some RequestContext) async throws -> Response {
        let (keyspace, key) = try self.address(context)
        if request.headers[.ifMatch] != nil || request.headers[.ifNoneMatch] != nil {
            throw APIError(.invalidHeader, "conditional deletes are not supported")
        }
        if await service.isLeaderless(keyspace) { return try await leaderless.delete(keyspace: keyspace, key: key, request: request) }
        do {
            return try await write(.delete(key: key, keyspace: keyspace, session: try session(request)), request: request)
        } catch where Self.isWrongMode(error) {
            return try await leaderless.delete(keyspace: keyspace, key: key, request: request)
        }
    }

    private func write(_ operation: KeyValueRequest, request: Request) async throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[ChorusHeaders.node] = nodeHeaderValue
        let token = try Self.sessionToken(request)
        let written: KeyValueWriteResponse
        do {
            written = try await service.write(operation, token: token, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description, headers: headers)
        }
        headers[ChorusHeaders.index] = String(written.appliedIndex.rawValue)
        headers[ChorusHeaders.session] = written.session.text
        let body: String
        if let version = written.version {
            headers[.eTag] = "\"\(version.rawValue)\""
            headers[ChorusHeaders.version] = String(version.rawValue)
            body = "{\"version\":\(version.rawValue),\"index\":\(written.index.rawValue)}\n"
        } else {
            body = "{\"deleted\":\(written.deleted ?? false),\"index\":\(written.index.rawValue)}\n"
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: Reads

    func get(_ request: Request, context: some RequestContext) async throws -> Response {
        let (keyspace, key) = try self.address(context)
        if service.isKnownLeaderless(keyspace) { return try await leaderless.get(keyspace: keyspace, key: key, request: request) }
        let read: KeyValueReadResponse
        let headers: HTTPFields
        do {
            (read, headers) = try await perform(KeyValueReadRequest(keyspace: keyspace, target: .key(key)), request: request)
        } catch where Self.isWrongMode(error) {
            return try await leaderless.get(keyspace: keyspace, key: key, request: request)
        }
        guard let record = read.record else {
            throw APIError(.keyNotFound, "no value for this key", headers: headers)
        }
        var answer = headers
        answer[.contentType] = "application/octet-stream"
        answer[.eTag] = "\"\(record.version.rawValue)\""
        answer[ChorusHeaders.version] = String(record.version.rawValue)
        var buffer = ByteBuffer()
        buffer.writeBytes(record.value)
        return Response(status: .ok, headers: answer, body: ResponseBody(byteBuffer: buffer))
    }

    /// `GET /v1/kv?prefix=P&limit=N&after=K&keyspace=S`: one page of keys in
    /// byte order, with a continuation (the last key) when more may follow.
    func range(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        let keyspace = parameters["keyspace"].map(String.init) ?? KeyspaceName.defaultName
        // Query values arrive percent-decoded.
        let prefix = parameters["prefix"].map(String.init) ?? ""
        let after = parameters["after"].map(String.init)
        var limit = 100
        if let text = parameters["limit"] {
            guard let value = Int(String(text)) else {
                throw APIError(.invalidRange, "limit must be an integer in 1...\(ChorusService.maximumRangeLimit)")
            }
            limit = value
        }
        let (read, headers) = try await perform(
            KeyValueReadRequest(keyspace: keyspace, target: .range(prefix: prefix, after: after, limit: limit)),
            request: request)
        guard case .range(let page) = read.value else {
            throw APIError(.internal, "a range read answered a single record")
        }
        var answer = headers
        answer[.contentType] = "application/json"
        let entries = page.entries.map { entry in
            "{\"key\":\(JSONString.quoted(entry.key)),\"version\":\(entry.record.version.rawValue),\"value\":\"\(Base64URL.encode(entry.record.value))\"}"
        }.joined(separator: ",")
        let continuation = page.continuation.map(JSONString.quoted) ?? "null"
        let body = "{\"entries\":[\(entries)],\"continuation\":\(continuation),\"index\":\(read.appliedIndex.rawValue)}\n"
        return Response(status: .ok, headers: answer, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// A read through the service, with the level and session of the request,
    /// and the response headers every read carries.
    private func perform(_ read: KeyValueReadRequest, request: Request) async throws -> (KeyValueReadResponse, HTTPFields) {
        var read = read
        read.consistency = try consistency(request)
        read.session = try Self.sessionToken(request)
        if let text = request.headers[ChorusHeaders.minimumIndex] {
            guard let value = UInt64(text.trimmingSpaces) else {
                throw APIError(.invalidHeader, "X-Chorus-Min-Index must be a non-negative integer")
            }
            read.minimumIndex = LogIndex(value)
        }
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        let answer: KeyValueReadResponse
        do {
            answer = try await service.read(read, caller: RequestCaller.current)
        } catch {
            throw APIError(error, requestURI: request.uri.description, headers: headers)
        }
        headers[ChorusHeaders.index] = String(answer.appliedIndex.rawValue)
        headers[ChorusHeaders.session] = answer.session.text
        headers[ChorusHeaders.consistency] = answer.served.description
        headers[ChorusHeaders.servedBy] = nodeHeaderValue
        if let entries = answer.stalenessEntries { headers[ChorusHeaders.stalenessVersions] = String(entries) }
        if let milliseconds = answer.stalenessMilliseconds { headers[ChorusHeaders.stalenessMilliseconds] = String(milliseconds) }
        return (answer, headers)
    }

    // MARK: Parsing

    /// The keyspace and key from the path (`/v1/kv/{key}` is the default
    /// keyspace), percent-decoded into UTF-8 (the service checks the rest).
    func address(_ context: some RequestContext) throws -> (keyspace: String, key: String) {
        let first = context.parameters.get("first")
        let second = context.parameters.get("second")
        guard let raw = second ?? first else { throw APIError(.invalidKey, "the key is missing") }
        guard let key = PercentDecoding.decode(raw) else {
            throw APIError(.invalidKey, "the key is not valid percent-encoded UTF-8")
        }
        guard second != nil, let space = first else { return (KeyspaceName.defaultName, key) }
        guard let keyspace = PercentDecoding.decode(space) else {
            throw APIError(.invalidKeyspace, "the keyspace is not valid percent-encoded UTF-8")
        }
        return (keyspace, key)
    }

    /// `?consistency=LEVEL` (or the `X-Chorus-Consistency` header), with
    /// `max-versions=K` and `max-lag=T` for bounded staleness; nil: the
    /// keyspace's default.
    func consistency(_ request: Request) throws -> ReadConsistency? {
        let parameters = request.uri.queryParameters
        for name in ["consistency", "max-versions", "max-lag"] where parameters[values: Substring(name)].count > 1 {
            throw APIError(.invalidConsistency, "\(name) may be given once")
        }
        let level = parameters["consistency"].map(String.init) ?? request.headers[ChorusHeaders.consistency]?.trimmingSpaces
        let versions = parameters["max-versions"].map(String.init)
        let lag = parameters["max-lag"].map(String.init)
        guard let level else {
            if versions != nil || lag != nil {
                throw APIError(.invalidConsistency, "max-versions and max-lag need consistency=bounded-staleness")
            }
            return nil
        }
        do {
            return try ReadConsistency.parse(level: level, maximumVersions: versions, maximumLagMilliseconds: lag)
        } catch {
            throw APIError(error)
        }
    }

    /// The session token(s) of `X-Chorus-Session`, merged into one.
    static func sessionToken(_ request: Request) throws -> SessionToken? {
        let values = request.headers[values: ChorusHeaders.session]
        guard !values.isEmpty else { return nil }
        var merged: SessionToken?
        do throws(APIProblem) {
            for value in values {
                for token in try SessionToken.tokens(inHeader: value) {
                    if let earlier = merged { merged = try earlier.merging(token) } else { merged = token }
                }
            }
        } catch {
            throw APIError(error)
        }
        return merged
    }

    /// The idempotency session of `X-Chorus-Idempotency` (`WriteSession.parse`), if given once.
    func session(_ request: Request) throws -> WriteSession? {
        let values = request.headers[values: ChorusHeaders.idempotency]
        guard let text = values.first else { return nil }
        guard values.count == 1, let session = WriteSession(header: text.trimmingSpaces) else {
            throw APIError(
                .invalidHeader, "X-Chorus-Idempotency is <client>.<sequence>, two positive integers of at most 19 digits (given once)")
        }
        return session
    }
}

/// The conditional headers of a key-value PUT (RFC 9110 §13.1), on versions
/// as entity tags: a key's version `N` is the strong tag `"N"`, and an absent
/// key is version 0.
///
/// - `If-Match: "N"` is a compare-and-set: the write happens only if the key's
///   version is N, so `If-Match: "0"` writes only if the key is absent (like
///   `If-None-Match: *`); otherwise 412 `version_mismatch`.
/// - `If-Match: W/"N"` never matches: If-Match uses the strong comparison
///   (§13.1.1), and a weak tag never compares equal strongly; so it is 412.
/// - Anything else — an unquoted `N`, `*`, a list, a tag that is not a
///   version — is 400 `invalid_header` (a list or `*` would need conditions
///   the store does not offer; refusing them beats guessing).
/// - `If-None-Match` takes only `*` (create only). Both headers are evaluated
///   as §13.2.2 orders them: `If-Match: "0"` with `If-None-Match: *` is create
///   only; any other `If-Match` with it can never hold (the key would have to
///   exist and not exist), so it is 412 without a write.
extension KeyValueAPI {
    enum EntityTag: Equatable {
        case strong(LogIndex)
        /// A weak tag: it never matches an `If-Match` (strong comparison).
        case weak
    }

    static func writeCondition(_ request: Request) throws -> WriteCondition {
        let ifMatch = request.headers[values: .ifMatch]
        let ifNoneMatch = request.headers[values: .ifNoneMatch]
        guard ifMatch.count <= 1, ifNoneMatch.count <= 1 else {
            throw APIError(.invalidHeader, "give If-Match and If-None-Match at most once each")
        }
        var createOnly = false
        if let text = ifNoneMatch.first {
            guard text.trimmingSpaces == "*" else { throw APIError(.invalidHeader, "only If-None-Match: * (create only) is supported") }
            createOnly = true
        }
        guard let text = ifMatch.first else { return createOnly ? .absent : .always }
        switch parseEntityTag(text.trimmingSpaces) {
        case .strong(let version)?:
            guard createOnly else { return .version(version) }
            guard version == .zero else {
                throw APIError(.versionMismatch, "If-Match: \"\(version.rawValue)\" and If-None-Match: * cannot both hold")
            }
            return .absent
        case .weak?: throw APIError(.versionMismatch, "a weak entity tag never matches If-Match (RFC 9110 §13.1.1)")
        case nil: throw APIError(.invalidHeader, "If-Match is one quoted version, like \"42\" (\"0\": only if absent)")
        }
    }

    /// `"N"` (a version: decimal digits, no leading zero, at most 19) or
    /// `W/"N"` (weak); nil for anything else.
    static func parseEntityTag(_ text: String) -> EntityTag? {
        var value = Substring(text)
        let weak = value.hasPrefix("W/")
        if weak { value = value.dropFirst(2) }
        guard value.count >= 2, value.first == "\"", value.last == "\"" else { return nil }
        let digits = value.dropFirst().dropLast()
        guard let version = WriteSession.positiveOrZero(digits) else { return nil }
        return weak ? .weak : .strong(LogIndex(version))
    }
}
