import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusNode
import ChorusReplica
import ServiceLifecycle

/// The protocol-neutral service layer between the front ends and a node:
/// every operation arrives as a typed request with its caller, is validated
/// here once, becomes a machine command or query, and fails with a
/// `ServiceError` whose code each front end renders in its own wire form.
///
/// ```
///  HTTP ─┐                                     ┌─▶ ChorusNode.write (a command, an idempotency key)
///  RESP ─┼─▶ ChorusService.perform(request, caller)
///  …    ─┘                                     └─▶ ChorusNode.read  (a query, a read requirement)
/// ```
///
/// This is the one place where the caller is seen together with the
/// operation, and so where authorization is decided, per operation.
public struct ChorusService: Sendable {
    public let node: ChorusNode
    public let limits: KeyValueLimits
    let epochCache = EpochCache()
    let leaderlessKeyspaces = LeaderlessKeyspaceCache()
    let readMetrics = KeyValueReadMetrics()
    /// The event store's shared state and long-running parts (`ChorusService+Events*.swift`).
    public let eventStore: EventStoreRuntime
    /// Who may do what (`ServiceAuthorization.swift`); every operation checks it first.
    public let authorization: ServiceAuthorization
    /// The node's projections (`ChorusService+Projections.swift`), if it runs any.
    public let projections: ProjectionsRuntime?
    /// The node's saga engine (`ChorusService+Sagas.swift`).
    public let sagas: SagasRuntime

    /// `authorization` is `.disabled` unless given: the node command always
    /// chooses (`--auth-keys`, or `--insecure-no-auth` with a warning).
    public init(
        node: ChorusNode, eventOptions: EventServiceOptions = EventServiceOptions(),
        authorization: ServiceAuthorization = .disabled, projections: ProjectionsRuntime? = nil,
        sagaOptions: SagasRuntime.Options = SagasRuntime.Options()
    ) {
        self.node = node
        self.limits = node.configuration.keyValue
        self.eventStore = EventStoreRuntime(node: node, options: eventOptions)
        self.authorization = authorization
        self.projections = projections
        self.sagas = SagasRuntime(
            options: sagaOptions, proposer: eventStore.proposer, clock: eventOptions.wallClock,
            metrics: SagasMetrics(factory: eventOptions.metricsFactory))
    }

    /// The projections' long-running part, to run beside the event store's services.
    public var projectionServices: [any Service] {
        projections.map { [ProjectionsService(runtime: $0, service: self)] } ?? []
    }

    /// The saga engine's long-running part: its tail and its leadership watch.
    public var sagaServices: [any Service] {
        [SagasService(runtime: sagas, node: node, proposer: eventStore.proposer, options: sagas.options)]
    }

    /// The node id that answers, for front ends that name it.
    public var nodeID: NodeID { node.configuration.nodeID }

    // MARK: Key-value

    /// A key-value write, through the Raft log (writes are linearizable at
    /// every level, so monotonic writes and writes-follow-reads hold for any
    /// session). `token` is the session's, checked against the cluster epoch
    /// and returned advanced to the write.
    public func write(_ request: KeyValueRequest, token: SessionToken? = nil, caller: Caller) async throws(ServiceError)
        -> KeyValueWriteResponse
    {
        try authorize(caller, .keyspaceWrite, .keyspace(request.keyspace))
        let operation: KeyValueOperation
        let session: WriteSession?
        let keyspace: String
        switch request {
        case .put(let key, let space, let value, let condition, let writeSession):
            try validate(key: key)
            guard value.count <= limits.maximumValueBytes else {
                throw ServiceError(.payloadTooLarge, "a value may be at most \(limits.maximumValueBytes) bytes")
            }
            switch condition {
            case .always: operation = .put(key: key, value: value)
            case .version(let expected): operation = .compareAndSet(key: key, expectedVersion: expected, value: value)
            case .absent: operation = .compareAndSet(key: key, expectedVersion: .zero, value: value)
            }
            session = writeSession
            keyspace = space
        case .delete(let key, let space, let writeSession):
            try validate(key: key)
            operation = .delete(key: key)
            session = writeSession
            keyspace = space
        }
        try validate(keyspace: keyspace)
        let epoch = try await clusterEpoch()
        if let token {
            do { try token.check(clusterEpoch: epoch) } catch { throw ServiceError(error) }
        }
        let command = KeyValueCommand(
            clientID: session?.clientID ?? 0, sequence: session?.sequence ?? 0, keyspace: keyspace, operation: operation)
        let key = session.map { IdempotencyKey(client: $0.clientID, sequence: $0.sequence) }
        let written: WriteResult<ReplicatedMachines.Output>
        do {
            written = try await node.write(.keyValue(command), idempotencyKey: key)
        } catch {
            throw ServiceError(error)
        }
        guard case .keyValue(let applied) = written.output else {
            throw ServiceError(.internal, "the write was applied by another machine: \(written.output)")
        }
        var advanced = token ?? SessionToken(epoch: epoch ?? 0)
        advanced.epoch = max(advanced.epoch, epoch ?? 0)
        advanced.index = max(advanced.index, written.index)
        switch applied.result {
        case .written(let version):
            return KeyValueWriteResponse(
                version: version, deleted: nil, index: written.index, appliedIndex: written.appliedIndex, session: advanced)
        case .deleted(let existed, _):
            return KeyValueWriteResponse(
                version: nil, deleted: existed, index: written.index, appliedIndex: written.appliedIndex, session: advanced)
        case .compareAndSetMismatch(let current):
            var error = ServiceError(.versionMismatch, current == .zero ? "the key is absent" : "the key's version is \(current.rawValue)")
            error.currentVersion = current
            error.appliedIndex = written.appliedIndex
            throw error
        case .sessionExpired:
            throw ServiceError(
                .sessionExpired,
                "the client session is unknown or was evicted, or this sequence number is older than its latest; start a new session")
        case .storeFull(let maximumKeys):
            throw ServiceError(.storeFull, "the store holds its maximum of \(maximumKeys) keys; delete keys or raise the limit")
        case .rejected(let reason):
            throw ServiceError(.rejected, reason)
        case .keyspaceNotFound(let name):
            throw ServiceError(.keyspaceNotFound, "no keyspace named '\(name)'")
        case .wrongReplicationMode(let name, let mode):
            throw ServiceError(.wrongReplicationMode, "keyspace '\(name)' is \(mode); write it through its leaderless path")
        case .keyspaceCreated, .keyspaceExists, .keyspaceDeleted, .epoch:
            throw ServiceError(.internal, "a key-value write answered \(applied.result)")
        }
    }

    /// A key the store accepts: non-empty UTF-8 within the limit.
    func validate(key: String) throws(ServiceError) {
        guard !key.isEmpty else { throw ServiceError(.invalidKey, "the key is empty") }
        guard key.utf8.count <= limits.maximumKeyBytes else {
            throw ServiceError(.invalidKey, "a key may be at most \(limits.maximumKeyBytes) bytes")
        }
    }

    // MARK: Cluster

    /// The node's view of the cluster (`GET /v1/cluster`): `cluster.metrics`.
    public func status(caller: Caller) async throws(ServiceError) -> NodeStatus {
        try authorize(caller, .clusterMetrics, .cluster)
        return try await status()
    }

    /// The node's status without a caller: liveness (`GET /healthz`, open to everyone).
    public func status() async throws(ServiceError) -> NodeStatus {
        do { return try await node.status() } catch { throw ServiceError(error) }
    }
}
