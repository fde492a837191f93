import ChorusAPI
import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusNode
import ChorusReplica

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

    public init(node: ChorusNode) {
        self.node = node
        self.limits = node.configuration.keyValue
    }

    /// The node id that answers, for front ends that name it.
    public var nodeID: NodeID { node.configuration.nodeID }

    // MARK: Key-value

    public func write(_ request: KeyValueRequest, caller: Caller) async throws(ServiceError) -> KeyValueWriteResponse {
        let operation: KeyValueOperation
        let session: WriteSession?
        switch request {
        case .put(let key, let value, let condition, let writeSession):
            try validate(key: key)
            guard value.count <= limits.maxValueBytes else {
                throw ServiceError(.payloadTooLarge, "a value may be at most \(limits.maxValueBytes) bytes")
            }
            switch condition {
            case .always: operation = .put(key: key, value: value)
            case .version(let expected): operation = .compareAndSet(key: key, expectedVersion: expected, value: value)
            case .absent: operation = .compareAndSet(key: key, expectedVersion: .zero, value: value)
            }
            session = writeSession
        case .delete(let key, let writeSession):
            try validate(key: key)
            operation = .delete(key: key)
            session = writeSession
        case .get:
            preconditionFailure("write(_:caller:) with a read")
        }
        let command = KeyValueCommand(
            clientID: session?.clientID ?? 0, sequence: session?.sequence ?? 0, operation: operation)
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
        switch applied.result {
        case .written(let version):
            return KeyValueWriteResponse(version: version, deleted: nil, index: written.index, appliedIndex: written.appliedIndex)
        case .deleted(let existed, _):
            return KeyValueWriteResponse(version: nil, deleted: existed, index: written.index, appliedIndex: written.appliedIndex)
        case .compareAndSetMismatch(let current):
            var error = ServiceError(.versionMismatch, current == .zero ? "the key is absent" : "the key's version is \(current.rawValue)")
            error.currentVersion = current
            error.appliedIndex = written.appliedIndex
            throw error
        case .sessionExpired:
            throw ServiceError(
                .sessionExpired,
                "the client session is unknown or was evicted, or this sequence number is older than its latest; start a new session")
        case .storeFull(let maxKeys):
            throw ServiceError(.storeFull, "the store holds its maximum of \(maxKeys) keys; delete keys or raise the limit")
        case .rejected(let reason):
            throw ServiceError(.rejected, reason)
        case .keyspaceNotFound, .wrongReplicationMode, .keyspaceCreated, .keyspaceExists, .keyspaceDeleted, .epoch:
            throw ServiceError(.internal, "a key-value write answered \(applied.result)")
        }
    }

    public func read(_ request: KeyValueRequest, caller: Caller) async throws(ServiceError) -> KeyValueReadResponse {
        guard case .get(let key, let consistency, let minimumIndex) = request else {
            preconditionFailure("read(_:caller:) with a write")
        }
        try validate(key: key)
        let requirement: ReadRequirement
        switch consistency {
        case .linearizable: requirement = .linearizable
        case .sequential: requirement = .appliedAtLeast(minimumIndex)
        }
        let answer: ReadResult<ReplicatedMachines.Answer>
        do {
            answer = try await node.read(.keyValue(.get(key: key)), requirement: requirement)
        } catch {
            throw ServiceError(error)
        }
        guard case .keyValue(.record(let record)) = answer.value else {
            throw ServiceError(.internal, "a key-value read answered by another machine")
        }
        return KeyValueReadResponse(record: record, appliedIndex: answer.appliedIndex)
    }

    /// A key the store accepts: non-empty UTF-8 within the limit.
    func validate(key: String) throws(ServiceError) {
        guard !key.isEmpty else { throw ServiceError(.invalidKey, "the key is empty") }
        guard key.utf8.count <= limits.maxKeyBytes else {
            throw ServiceError(.invalidKey, "a key may be at most \(limits.maxKeyBytes) bytes")
        }
    }

    // MARK: Cluster

    public func status() async throws(ServiceError) -> NodeStatus {
        do { return try await node.status() } catch { throw ServiceError(error) }
    }
}
