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
        let condition: WriteCondition
        if let ifMatch = request.headers[.ifMatch] {
            guard let expected = Self.parseVersion(ifMatch) else {
                throw APIError(.invalidHeader, "If-Match must be a version in quotes, like \"42\"")
            }
            condition = .version(expected)
        } else if let ifNoneMatch = request.headers[.ifNoneMatch] {
            guard ifNoneMatch.trimmingSpaces == "*" else {
                throw APIError(.invalidHeader, "only If-None-Match: * (create only) is supported")
            }
            condition = .absent
        } else {
            condition = .always
        }
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
                for part in value.split(separator: ",") {
                    let token = try SessionToken(parsing: String(part).trimmingSpaces)
                    if let earlier = merged { merged = try earlier.merging(token) } else { merged = token }
                }
            }
        } catch {
            throw APIError(error)
        }
        return merged
    }

    /// The idempotency session: both headers or neither.
    func session(_ request: Request) throws -> WriteSession? {
        let client = request.headers[ChorusHeaders.clientID]
        let sequence = request.headers[ChorusHeaders.sequence]
        switch (client, sequence) {
        case (nil, nil):
            return nil
        case (let client?, let sequence?):
            guard let clientID = UInt64(client.trimmingSpaces), clientID > 0,
                let number = UInt64(sequence.trimmingSpaces), number > 0
            else {
                throw APIError(.invalidHeader, "X-Chorus-Client-ID and X-Chorus-Sequence must be positive integers")
            }
            return WriteSession(clientID: clientID, sequence: number)
        default:
            throw APIError(.invalidHeader, "X-Chorus-Client-ID and X-Chorus-Sequence go together")
        }
    }

    /// `"42"`, `W/"42"` or `42`.
    static func parseVersion(_ text: String) -> LogIndex? {
        var value = Substring(text.trimmingSpaces)
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 { value = value.dropFirst().dropLast() }
        guard let number = UInt64(String(value)) else { return nil }
        return LogIndex(number)
    }
}
