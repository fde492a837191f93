import UnixSignals
import ChorusKeyValue
import ArgumentParser
import ChorusCertificates
import ChorusCore
import ChorusHTTP
import ChorusNode
import ChorusRaft
import ChorusAuthorization
import ChorusService
import ChorusRESP
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `chorus node`: run one node of a cluster (Raft over TCP, storage, HTTP API).
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one node: Raft over TCP with its peers, durable storage, and the HTTP API.",
        discussion: """
            Every node of a cluster is started with the same --peers list (it may include \
            the node itself). The node recovers DIR on start (a fresh DIR bootstraps a new \
            cluster of the listed members), listens for its peers on --listen and serves HTTP \
            on --http. SIGTERM or SIGINT shuts it down gracefully. A failed fsync stops it \
            with exit status 1: nothing is retried, restart it and it recovers from disk.

            Time: the Raft core ticks every --tick-ms milliseconds; a follower campaigns \
            after --election-ticks to twice that without a leader, and a leader sends \
            heartbeats every --heartbeat-ticks.

            Clients: every request but GET /healthz and GET /openapi.yaml needs a bearer \
            token signed by a key of --auth-keys (see `chorus tokens`), with roles that grant \
            the operation (built-in admin, writer, reader, monitor, and those of --auth-roles). \
            Without --auth-keys the node refuses to start, unless --insecure-no-auth says that \
            every client may do everything (a warning is logged on every start).

            Peers: nodes talk mutual TLS 1.3 with certificates of one cluster CA (--tls-ca, \
            --tls-cert, --tls-key; see `chorus certs`). A peer's certificate must name, as \
            chorus://node/N, the node dialled or the node its handshake claims, or the connection \
            is closed before any Raft message is read. Without them the node refuses to start, \
            unless --insecure-peers says that anyone reaching the peer port may send Raft messages \
            (a warning is logged on every start).
            """
    )

    @Option(help: "This node's id (a positive integer listed in --peers).")
    var id: UInt64

    @Option(name: .customLong("data-dir"), help: "The storage directory (created if missing).")
    var dataDirectory: String

    @Option(help: "HOST:PORT to accept peer connections on.")
    var listen: String

    @Option(help: "HOST:PORT to serve the HTTP API on.")
    var http: String

    @Option(help: "Every member as ID=HOST:PORT (peer addresses), comma-separated.")
    var peers: String

    @Option(name: .customLong("advertise-http"), help: "The URL other nodes send clients to (default: http://<--http>).")
    var advertiseHTTP: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("tick-ms"), help: "Milliseconds per Raft tick.")
    var tickMilliseconds: Int = 10

    @Option(name: .customLong("election-ticks"), help: "The minimum election timeout, in ticks.")
    var electionTicks: Int = 30

    @Option(name: .customLong("heartbeat-ticks"), help: "The heartbeat interval, in ticks.")
    var heartbeatTicks: Int = 5

    @Option(name: .customLong("snapshot-entries"), help: "Take a snapshot every this many applied entries.")
    var snapshotEntries: Int = 20_000

    @Option(name: .customLong("auth-keys"), help: "The keyring file whose keys sign clients' bearer tokens (`chorus tokens keygen`).")
    var authKeys: String?

    @Option(name: .customLong("auth-roles"), help: "A JSON roles file adding roles to the built-in ones.")
    var authRoles: String?

    @Flag(name: .customLong("insecure-no-auth"), help: "Serve every client without a token, with every permission (a warning on each start).")
    var insecureNoAuth = false

    @Option(name: .customLong("tls-ca"), help: "The cluster CA certificate (PEM) peers' certificates must be issued by.")
    var tlsAuthority: String?

    @Option(name: .customLong("tls-cert"), help: "This node's certificate (PEM), naming chorus://node/<--id>.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "This node's private key (PEM).")
    var tlsKey: String?

    @Flag(name: .customLong("insecure-peers"), help: "Plain TCP between nodes: anyone reaching the peer port may send Raft messages (a warning on each start).")
    var insecurePeers = false

    @Option(
        name: .customLong("peer-delay-ms"),
        help: "For experiments (chorus lab): hold every outbound peer frame this many milliseconds, in order.")
    var peerDelayMilliseconds: Int = 0

    @Option(help: "HOST:PORT to serve the Redis protocol on (leaderless keyspaces; database 0 is --resp-keyspace).")
    var resp: String?

    @Option(
        name: .customLong("resp-keyspace"),
        help: "The leaderless keyspace of Redis database 0 (created by `chorus cluster up` and `chorus demo`).")
    var respKeyspace: String = KeyspaceName.leaderlessDefaultName

    @Option(name: .customLong("parent-pid"), help: .hidden)
    var parentProcessID: Int32?

    @Option(
        name: .customLong("read-mode"),
        help: ArgumentHelp(
            "How the leader confirms a linearizable read: read-index (a heartbeat round with a quorum) or lease (no round while its lease holds; safe while clocks drift at most ±5% from real time).",
            valueName: "read-index|lease"))
    var readMode: String = "read-index"

    /// Tests only: this node's clock runs at this rate (`NodeConfiguration.clockRate`).
    @Option(name: .customLong("clock-rate"), help: .hidden)
    var clockRate: Double = 1

    /// Negative controls only: a deliberate Raft bug (`InjectedBug`) that
    /// the real-process tests must catch. Never set it on a real cluster.
    @Option(name: .customLong("inject-bug"), help: .hidden)
    var injectBug: String?

    @Option(
        name: .customLong("projections"),
        help: "A projection definitions file (JSON; see Sources/ChorusProjections/README.md). Read models go to DIR/projections.")
    var projectionsFile: String?

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var draft: NodeConfiguration
        let httpAddress: NetworkAddress
        do {
            let listenAddress = try NetworkAddress.parse(listen)
            httpAddress = try NetworkAddress.parse(http)
            var members = try PeerAddress.parseList(peers)
            if !members.contains(where: { $0.id == NodeID(id) }) {
                members.append(PeerAddress(id: NodeID(id), address: listenAddress))
            }
            var built = NodeConfiguration(
                nodeID: NodeID(id), members: members, peerListenAddress: listenAddress,
                advertisedHTTPURL: advertiseHTTP ?? "http://\(httpAddress)", dataDirectory: dataDirectory)
            built.tickMilliseconds = tickMilliseconds
            built.raft.electionTimeoutTicks = electionTicks
            built.raft.heartbeatIntervalTicks = heartbeatTicks
            built.raft.snapshotRetryTicks = max(electionTicks * 3, 10)
            built.snapshotThresholdEntries = snapshotEntries
            built.peerDelayMilliseconds = peerDelayMilliseconds
            built.clockRate = clockRate
            switch readMode {
            case "read-index": built.raft.readMode = .readIndex
            case "lease": built.raft.readMode = .lease
            default: throw NodeConfigurationError.invalid("--read-mode must be read-index or lease, not \(readMode)")
            }
            if let injectBug {
                guard let bug = InjectedBug(rawValue: injectBug) else {
                    throw NodeConfigurationError.invalid("unknown --inject-bug \(injectBug)")
                }
                built.raft.injectedBug = bug
            }
            try built.validate()
            draft = built
        } catch {
            throw ValidationError("\(error)")
        }
        let authorization = try clientAuthorization()
        do {
            draft.peerSecurity = try peerSecurity()
            try draft.validate()
        } catch let error as NodeConfigurationError {
            throw ValidationError("\(error)")
        }
        let configuration = draft
        let respAddress: NetworkAddress?
        do { respAddress = try resp.map(NetworkAddress.parse) } catch { throw ValidationError("--resp: \(error)") }
        let respConfiguration = RESPServerConfiguration(
            session: RESPSessionConfiguration(databases: RESPDatabaseTable(defaultKeyspace: respKeyspace), port: respAddress?.port ?? 0))
        guard respConfiguration.violations().isEmpty else {
            throw ValidationError("--resp-keyspace: \(respConfiguration.violations().joined(separator: "; "))")
        }
        var api = HTTPAPIConfiguration(
            host: httpAddress.host, port: httpAddress.port,
            maximumValueBytes: configuration.keyValue.maximumValueBytes, metricsRegistry: MetricsBootstrap.registry)
        api.authorization = authorization
        if let projectionsFile {
            api.projections = try ProjectionsLoader.open(file: projectionsFile, directory: dataDirectory + "/projections")
        }
        do { try api.validate(against: configuration) } catch { throw ValidationError("\(error)") }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        MetricsBootstrap.bootstrapOnce()
        var logger = Logger(label: "chorus.node")
        logger.logLevel = level
        if let parentProcessID { watchParent(parentProcessID, logger: logger) }
        if api.authorization.isEnforced {
            logger.info("client authorization enforced", metadata: ["keys": "\(authKeys ?? "")", "roles": "\(api.authorization.permissions.roleNames)"])
        } else {
            logger.warning("--insecure-no-auth: every client may read, write and administer this cluster without a token")
        }
        if configuration.peerSecurity.isMutualTLS {
            logger.info("peer links use mutual TLS", metadata: ["ca": "\(tlsAuthority ?? "")", "certificate": "\(tlsCertificate ?? "")"])
        } else {
            logger.warning("--insecure-peers: plain TCP between nodes; anyone reaching the peer port can send Raft messages")
        }

        let group = MultiThreadedEventLoopGroup.singleton
        let node: ChorusNode
        do {
            node = try await ChorusNode.start(
                configuration: configuration, eventLoop: group.next(), logger: logger,
                onFatalError: { reason in
                    // A failed fsync (or equivalent): stop with a clear line and a non-zero status.
                    printError("chorus node \(configuration.nodeID): fatal: \(reason)")
                    terminateProcess(1)
                })
        } catch {
            printError("chorus node: cannot start: \(error)")
            throw ExitCode(1)
        }
        var httpLogger = Logger(label: "chorus.http")
        httpLogger.logLevel = level == .trace || level == .debug ? level : .warning
        let service = ChorusService(
            node: node, eventOptions: api.eventOptions, authorization: api.authorization, projections: api.projections,
            sagaOptions: api.sagaOptions)
        let application = ChorusHTTPServer.makeApplication(service: service, configuration: api, logger: httpLogger)
        var lifecycle: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: node), .init(service: application)]
        if let respAddress {
            var respLogger = Logger(label: "chorus.resp")
            respLogger.logLevel = level
            do {
                let server = try await RESPServer.start(
                    host: respAddress.host, port: respAddress.port, backend: LeaderlessRESPBackend(service: service),
                    group: group, logger: respLogger, configuration: respConfiguration)
                lifecycle.append(.init(service: LeaderlessRESP(server: server)))
                logger.info("serving the Redis protocol", metadata: ["resp": "redis://\(respAddress)", "database_0": "\(respKeyspace)"])
            } catch {
                printError("chorus node: cannot serve the Redis protocol on \(respAddress): \(error)")
                await node.shutdown()
                throw ExitCode(1)
            }
        }
        let services = ServiceGroup(
            configuration: .init(
                services: lifecycle,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await services.run()
        } catch {
            printError("chorus node \(configuration.nodeID): \(error)")
            await node.shutdown()
            throw ExitCode(1)
        }
    }

    /// The keyring and roles of `--auth-keys`/`--auth-roles`, or disabled by
    /// `--insecure-no-auth`; one of the two is required (secure by default).
    func clientAuthorization() throws -> ServiceAuthorization {
        switch (authKeys, insecureNoAuth) {
        case (nil, false):
            throw ValidationError(
                "chorus node needs --auth-keys FILE (create one with `chorus tokens keygen --out FILE`), or --insecure-no-auth to serve clients without tokens")
        case (_?, true):
            throw ValidationError("--auth-keys and --insecure-no-auth exclude each other")
        case (nil, true):
            guard authRoles == nil else { throw ValidationError("--auth-roles needs --auth-keys") }
            return .disabled
        case (let keys?, false):
            return .enforced(keyring: try KeyringFiles.read(keys), permissions: try loadPermissions(authRoles))
        }
    }

    /// The credentials of `--tls-ca/--tls-cert/--tls-key`, or plaintext by
    /// `--insecure-peers`; one of the two is required (secure by default).
    func peerSecurity() throws -> PeerSecurity {
        let files = [tlsAuthority, tlsCertificate, tlsKey]
        switch (files.compactMap { $0 }.count, insecurePeers) {
        case (0, false):
            throw ValidationError(
                "chorus node needs --tls-ca FILE --tls-cert FILE --tls-key FILE (make them with `chorus certs create-ca` and `chorus certs issue`), or --insecure-peers for plain TCP between nodes")
        case (0, true):
            return .insecurePlaintext
        case (_, true):
            throw ValidationError("--tls-ca/--tls-cert/--tls-key and --insecure-peers exclude each other")
        case (3, false):
            break
        default:
            throw ValidationError("--tls-ca, --tls-cert and --tls-key go together")
        }
        do {
            return .mutualTLS(
                try PeerCredentials.load(authorityFile: tlsAuthority!, certificateFile: tlsCertificate!, privateKeyFile: tlsKey!))
        } catch {
            printError("chorus node: peer TLS: \(error)")
            throw ExitCode(certificateExitCode(error))
        }
    }

    /// Exits when the parent that started this node is gone (reparented), so
    /// a crashed `cluster up`, demo or test never leaves nodes behind.
    private func watchParent(_ parent: Int32, logger: Logger) {
        MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(
            initialDelay: .milliseconds(200), delay: .milliseconds(200)
        ) { _ in
            if getppid() != parent {
                logger.warning("the parent process is gone; exiting")
                terminateProcess(0)
            }
        }
    }
}

/// The Redis-protocol server as a lifecycle service: it runs until the
/// node shuts down gracefully, then closes its connections.
struct LeaderlessRESP: Service {
    let server: RESPServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown()
    }
}

/// swift-metrics → Prometheus, bootstrapped once per process by the executable
/// (libraries never bootstrap; STYLE.md "Swift specifics").
enum MetricsBootstrap {
    static let registry = PrometheusCollectorRegistry()

    static func bootstrapOnce() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .seconds(1),
        ]
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 4_096]
        MetricsSystem.bootstrap(factory)
    }
}

/// Ends the process at once with `code` (the C library's `exit`, which
/// ArgumentParser's `ParsableCommand.exit` shadows inside commands).
func terminateProcess(_ code: Int32) -> Never {
    exit(code)
}
