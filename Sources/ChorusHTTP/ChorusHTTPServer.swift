import ChorusKeyValue
import ChorusCore
import ChorusAPI
import ChorusNode
import ChorusService
import ChorusRaft
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The HTTP API's settings. Every limit is named and validated (`validate()`).
public struct HTTPAPIConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The largest request body of a PUT, checked before it is buffered.
    public var maximumValueBytes: Int
    /// Where `GET /metrics` reads from; nil serves an empty exposition.
    public var metricsRegistry: PrometheusCollectorRegistry?

    public init(host: String, port: Int, maximumValueBytes: Int = 1 << 20, metricsRegistry: PrometheusCollectorRegistry? = nil) {
        self.host = host
        self.port = port
        self.maximumValueBytes = maximumValueBytes
        self.metricsRegistry = metricsRegistry
    }

    /// Checks the limits against the node's (a value the API accepts must be
    /// one the state machine accepts).
    public func validate(against node: NodeConfiguration) throws(NodeConfigurationError) {
        guard (1...65_535).contains(port) else { throw .invalid("the HTTP port must be in 1...65535") }
        guard (1...node.keyValue.maxValueBytes).contains(maximumValueBytes) else {
            throw .invalid("maximumValueBytes must be in 1...\(node.keyValue.maxValueBytes) (the store's value limit)")
        }
    }
}

/// Builds the Hummingbird application that serves a node's HTTP API.
///
/// The routes (documented in `openapi.yaml`, served at `GET /openapi.yaml`):
///
/// | route | what it does |
/// |---|---|
/// | `PUT /v1/kv/{key}` | write the raw body; `If-Match: "v"` makes it a compare-and-set on version v, `If-None-Match: *` create-only |
/// | `GET /v1/kv/{key}?consistency=linearizable\|sequential` | the raw value; version in `ETag` and `X-Chorus-Version` |
/// | `DELETE /v1/kv/{key}` | remove the key |
/// | `GET /v1/cluster` | members, leader, term, commit/applied index, follower match indexes |
/// | `GET /metrics`, `GET /healthz`, `GET /openapi.yaml` | operations |
///
/// Writes on a follower answer `307 Temporary Redirect` to the same path on
/// the leader (its URL learned from the peer handshake); linearizable reads
/// are served by any node (a follower asks the leader for a read index, then
/// waits until it has applied that far: thesis §6.4), sequential reads by any
/// node from its own state.
public enum ChorusHTTPServer {
    public static func makeApplication(
        node: ChorusNode, configuration: HTTPAPIConfiguration, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        let api = KeyValueAPI(service: ChorusService(node: node), configuration: configuration)
        router.put("/v1/kv/:key") { request, context in try await api.put(request, context: context) }
        router.get("/v1/kv/:key") { request, context in try await api.get(request, context: context) }
        router.delete("/v1/kv/:key") { request, context in try await api.delete(request, context: context) }
        for method in [HTTPRequest.Method.post, .patch] {
            router.on("/v1/kv/:key", method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, "\(request.method) is not allowed on a key; use GET, PUT or DELETE",
                    headers: [.allow: "GET, PUT, DELETE"])
            }
        }
        router.get("/v1/cluster") { _, _ in try await api.cluster() }
        router.get("/healthz") { _, _ in await api.health() }
        router.get("/metrics") { _, _ in api.metrics() }
        router.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "chorus-n\(node.configuration.nodeID.rawValue)"),
            logger: logger)
    }
}

/// The key-value handlers: a thin adapter that parses HTTP into the service
/// layer's typed requests and renders its answers and `ServiceError`s.
struct KeyValueAPI: Sendable {
    let service: ChorusService
    let configuration: HTTPAPIConfiguration
    let nodeHeaderValue: String

    init(service: ChorusService, configuration: HTTPAPIConfiguration) {
        self.service = service
        self.configuration = configuration
        self.nodeHeaderValue = "\(service.nodeID.rawValue)"
    }

    // MARK: Requests

    func put(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try self.key(context)
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
        return try await write(.put(key: key, value: value, condition: condition, session: try session(request)), request: request)
    }

    func delete(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try self.key(context)
        if request.headers[.ifMatch] != nil || request.headers[.ifNoneMatch] != nil {
            throw APIError(.invalidHeader, "conditional deletes are not supported")
        }
        return try await write(.delete(key: key, session: try session(request)), request: request)
    }

    private func write(_ operation: KeyValueRequest, request: Request) async throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[ChorusHeaders.node] = nodeHeaderValue
        let written: KeyValueWriteResponse
        do {
            written = try await service.write(operation, caller: .anonymous)
        } catch {
            throw APIError(error, requestURI: request.uri.description, headers: headers)
        }
        headers[ChorusHeaders.index] = String(written.appliedIndex.rawValue)
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

    func get(_ request: Request, context: some RequestContext) async throws -> Response {
        let key = try self.key(context)
        var consistency = ConsistencyLevel.default
        if let text = request.uri.queryParameters["consistency"] {
            do { consistency = try ConsistencyLevel.parse(String(text)) } catch { throw APIError(error) }
        }
        var minimumIndex = LogIndex.zero
        if let text = request.headers[ChorusHeaders.minimumIndex] {
            guard let value = UInt64(text.trimmingSpaces) else {
                throw APIError(.invalidHeader, "X-Chorus-Min-Index must be a non-negative integer")
            }
            minimumIndex = LogIndex(value)
        }
        var headers: HTTPFields = [:]
        headers[ChorusHeaders.node] = nodeHeaderValue
        let read: KeyValueReadResponse
        do {
            read = try await service.read(.get(key: key, consistency: consistency, minimumIndex: minimumIndex), caller: .anonymous)
        } catch {
            throw APIError(error, requestURI: request.uri.description, headers: headers)
        }
        headers[ChorusHeaders.index] = String(read.appliedIndex.rawValue)
        guard let record = read.record else {
            throw APIError(.keyNotFound, "no value for this key", headers: headers)
        }
        headers[.contentType] = "application/octet-stream"
        headers[.eTag] = "\"\(record.version.rawValue)\""
        headers[ChorusHeaders.version] = String(record.version.rawValue)
        var buffer = ByteBuffer()
        buffer.writeBytes(record.value)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    func cluster() async throws -> Response {
        let status: NodeStatus
        do { status = try await service.status() } catch { throw APIError(error, requestURI: "/v1/cluster") }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: ClusterJSON.render(status))))
    }

    func health() async -> Response {
        guard let status = try? await service.status() else {
            return APIError(.stopped, "the node has stopped").response()
        }
        let body =
            "{\"status\":\"ok\",\"node\":\(status.node.rawValue),\"role\":\"\(ClusterJSON.roleName(status.role))\",\"leader\":\(status.leader.rawValue),\"term\":\(status.term.rawValue)}\n"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    func metrics() -> Response {
        var bytes: [UInt8] = []
        configuration.metricsRegistry?.emit(into: &bytes)
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }

    // MARK: Parsing

    /// The key from the path, percent-decoded into UTF-8 (the service checks the rest).
    func key(_ context: some RequestContext) throws -> String {
        guard let raw = context.parameters.get("key") else { throw APIError(.invalidKey, "the key is missing") }
        guard let key = PercentDecoding.decode(raw) else {
            throw APIError(.invalidKey, "the key is not valid percent-encoded UTF-8")
        }
        return key
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

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}

/// RFC 3986 percent-decoding of a path segment into UTF-8 text.
enum PercentDecoding {
    static func decode(_ text: String) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// `GET /v1/cluster`'s JSON.
enum ClusterJSON {
    static func roleName(_ role: RaftRole) -> String {
        switch role {
        case .follower: "follower"
        case .preCandidate: "pre-candidate"
        case .candidate: "candidate"
        case .leader: "leader"
        }
    }

    static func render(_ status: NodeStatus) -> String {
        let members = status.members.map { member in
            "{\"id\":\(member.id.rawValue),\"peerAddress\":\(JSONString.quoted(member.peerAddress)),\"httpURL\":\(member.httpURL.map(JSONString.quoted) ?? "null")}"
        }.joined(separator: ",")
        let followers = status.followers.map { follower in
            "{\"id\":\(follower.node.rawValue),\"matchIndex\":\(follower.matchIndex.rawValue),\"nextIndex\":\(follower.nextIndex.rawValue),\"state\":\(JSONString.quoted(follower.state))}"
        }.joined(separator: ",")
        let storage = status.storage
        return """
            {"node":\(status.node.rawValue),"role":"\(roleName(status.role))","term":\(status.term.rawValue),\
            "leader":\(status.leader.rawValue),"leaderURL":\(status.leaderURL.map(JSONString.quoted) ?? "null"),\
            "commitIndex":\(status.commitIndex.rawValue),"appliedIndex":\(status.appliedIndex.rawValue),\
            "lastIndex":\(status.lastIndex.rawValue),"snapshotIndex":\(status.snapshotIndex.rawValue),\
            "keyCount":\(status.keyCount),"members":[\(members)],"followers":[\(followers)],\
            "storage":{"fsyncs":\(storage.fsyncCount),"acknowledgedRecords":\(storage.acknowledgedRecords),\
            "recordsPerFsync":\(storage.recordsPerFsync),"fsyncMillisecondsAverage":\(storage.fsyncMillisecondsAverage)}}

            """
    }
}
