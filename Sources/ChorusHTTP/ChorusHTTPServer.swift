import ChorusKeyValue
import ChorusCore
import ChorusAPI
import ChorusNode
import ChorusReplication
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
    /// The largest JSON body of an event-store request (an append's events as
    /// JSON or base64), checked before it is buffered and parsed.
    public var maximumEventBodyBytes: Int
    /// The event store's part of the service layer (clock, pacing, limits).
    public var eventOptions: EventServiceOptions
    /// Who may do what, for the service `makeApplication(node:…)` builds
    /// (`.disabled` unless set; `chorus node` always sets it or says why not).
    public var authorization: ServiceAuthorization = .disabled
    /// The node's projections (`chorus node --projections FILE`), if any.
    public var projections: ProjectionsRuntime?
    /// The saga engine's settings (in-process participants, pacing).
    public var sagaOptions = SagasRuntime.Options()

    public init(
        host: String, port: Int, maximumValueBytes: Int = 1 << 20, metricsRegistry: PrometheusCollectorRegistry? = nil,
        maximumEventBodyBytes: Int = 4 << 20, eventOptions: EventServiceOptions = EventServiceOptions()
    ) {
        self.host = host
        self.port = port
        self.maximumValueBytes = maximumValueBytes
        self.metricsRegistry = metricsRegistry
        self.maximumEventBodyBytes = maximumEventBodyBytes
        self.eventOptions = eventOptions
    }

    /// Checks the limits against the node's (a value the API accepts must be
    /// one the state machine accepts).
    public func validate(against node: NodeConfiguration) throws(NodeConfigurationError) {
        guard (1...65_535).contains(port) else { throw .invalid("the HTTP port must be in 1...65535") }
        guard (1...node.keyValue.maximumValueBytes).contains(maximumValueBytes) else {
            throw .invalid("maximumValueBytes must be in 1...\(node.keyValue.maximumValueBytes) (the store's value limit)")
        }
        guard (1...(64 << 20)).contains(maximumEventBodyBytes) else {
            throw .invalid("maximumEventBodyBytes must be in 1...\(64 << 20)")
        }
        if let problem = eventOptions.problems.first { throw .invalid("event options: \(problem)") }
    }
}

/// Builds the Hummingbird application that serves a node's HTTP API.
///
/// The routes (documented in `openapi.yaml`, served at `GET /openapi.yaml`):
///
/// | route | what it does |
/// |---|---|
/// | `PUT /v1/kv/[{keyspace}/]{key}` | write the raw body; `If-Match: "v"` makes it a compare-and-set on version v, `If-None-Match: *` create-only |
/// | `GET /v1/kv/[{keyspace}/]{key}?consistency=LEVEL` | the raw value; version in `ETag` and `X-Chorus-Version` |
/// | `DELETE /v1/kv/[{keyspace}/]{key}` | remove the key |
/// | `GET /v1/kv?keyspace=&prefix=&after=&limit=` | a page of keys in byte order, with a continuation |
/// | `GET/POST/DELETE /v1/crdt/{keyspace}/{type}/{key}` | CRDT-typed keys of a leaderless keyspace: read, apply an operation, remove (`LeaderlessCRDTAPI`) |
/// | `GET/PUT/DELETE /v1/keyspaces[/{name}]` | named keyspaces with a replication mode and a default level |
/// | `GET /v1/cluster` | members, leader, term, commit/applied index, follower match indexes |
/// | `/v1/streams…`, `/v1/all…`, `/v1/groups` | the event store (`EventStoreAPI`) |
/// | `/v1/projections…` | projections: state, lag, named queries with a wait for a position (`ProjectionAPI`) |
/// | `/v1/sagas…` | sagas: definitions, participants, start, read, list, cancel, retry, resolve (`SagaAPI`) |
/// | `GET /metrics`, `GET /healthz`, `GET /openapi.yaml`, `GET /` (the dashboard) | operations |
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
        makeApplication(
            service: ChorusService(
                node: node, eventOptions: configuration.eventOptions, authorization: configuration.authorization,
                projections: configuration.projections, sagaOptions: configuration.sagaOptions),
            configuration: configuration, logger: logger)
    }

    /// The application over an existing service layer (whose event-store
    /// parts it runs as services beside the server).
    public static func makeApplication(
        service: ChorusService, configuration: HTTPAPIConfiguration, logger: Logger
    ) -> some ApplicationProtocol {
        let node = service.node
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: AuthenticationMiddleware(service: service))
        let api = KeyValueAPI(service: service, configuration: configuration)
        // One parameter name per position (the router is a trie): `/v1/kv/{key}`
        // is the default keyspace, `/v1/kv/{keyspace}/{key}` a named one.
        for path in ["/v1/kv/:first", "/v1/kv/:first/:second"] {
            router.on(
                RouterPath(path),
                methods: [
                    (.get, { request, context in try await api.get(request, context: context) }),
                    (.put, { request, context in try await api.put(request, context: context) }),
                    (.delete, { request, context in try await api.delete(request, context: context) }),
                ])
        }
        router.on("/v1/kv", methods: [(.get, { request, _ in try await api.range(request) })])
        LeaderlessCRDTAPI(keyValue: api.leaderless).register(on: router)
        let keyspaces = KeyspaceAPI(service: api.service)
        router.on("/v1/keyspaces", methods: [(.get, { request, _ in try await keyspaces.list(request) })])
        router.on(
            "/v1/keyspaces/:name",
            methods: [
                (.get, { request, context in try await keyspaces.show(request, context: context) }),
                (.put, { request, context in try await keyspaces.create(request, context: context) }),
                (.delete, { request, context in try await keyspaces.delete(request, context: context) }),
            ])
        EventStoreAPI(service: service, configuration: configuration).register(on: router)
        ProjectionAPI(service: service).register(on: router)
        SagaAPI(service: service).register(on: router)
        router.on("/v1/cluster", methods: [(.get, { _, _ in try await api.cluster() })])
        router.on("/healthz", methods: [(.get, { _, _ in await api.health() })])
        router.on("/metrics", methods: [(.get, { _, _ in try api.metrics() })])
        router.on(
            "/",
            methods: [
                (.get, { _, _ in
                    // The page holds no data (it fetches /v1/cluster and /metrics with the token it is given), so it is open.
                    Response(
                        status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.dashboard_html)))
                })
            ])
        router.on(
            "/openapi.yaml",
            methods: [
                (.get, { _, _ in
                    Response(
                        status: .ok, headers: [.contentType: "application/yaml"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
                })
            ])
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "chorus-n\(node.configuration.nodeID.rawValue)"),
            services: service.eventStore.services + service.projectionServices + service.sagaServices,
            logger: logger)
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

    /// The leaderless runtime's view: SWIM's status of each member (where
    /// sloppy quorum routes and hints wait), keys held, hints pending.
    static func render(_ leaderless: LeaderlessStatus?) -> String {
        guard let leaderless else { return "null" }
        let members = leaderless.members.map { "{\"id\":\($0.node.rawValue),\"status\":\"\($0.status)\"}" }.joined(separator: ",")
        let metrics = leaderless.metrics
        let keyspaces = leaderless.keyspaces.map(JSONString.quoted).joined(separator: ",")
        return "{\"members\":[\(members)],\"keys\":\(leaderless.keys),\"hintsPending\":\(leaderless.hintsPending),"
            + "\"keyspaces\":[\(keyspaces)],\"writes\":\(metrics.writesSucceeded),\"reads\":\(metrics.readsSucceeded),"
            + "\"readRepairs\":\(metrics.readRepairsSent),\"antiEntropyKeysRepaired\":\(metrics.antiEntropyKeysRepaired)}"
    }

    static func render(_ status: NodeStatus, leaderless: LeaderlessStatus? = nil) -> String {
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
            "recordsPerFsync":\(storage.recordsPerFsync),"fsyncMillisecondsAverage":\(storage.fsyncMillisecondsAverage)},\
            "leaderless":\(render(leaderless))}

            """
    }
}
