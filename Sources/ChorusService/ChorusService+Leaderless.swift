import ChorusAPI
import ChorusAuthorization
import ChorusClocks
import ChorusCore
import ChorusEventStore
import ChorusKeyValue
import ChorusMachines
import ChorusNode
import ChorusReplica
import ChorusReplication
import Synchronization

/// Leaderless keyspaces through the service layer: resolved by name from the
/// Raft catalog, authorized per operation like every other key-value
/// operation, run on this node's leaderless runtime (this node coordinates),
/// failures as `ServiceError`s. Front ends (the Redis protocol, HTTP) call
/// these and never see the core.
extension ChorusService {
    /// Reads `key` of `kind`: the merge of R replies, with the context to
    /// write a versioned key back with.
    public func leaderlessRead(
        _ keyspace: String, key: [UInt8], kind: ValueKind, options: RequestOptions = RequestOptions(), caller: Caller
    ) async throws(ServiceError) -> ReadReply {
        try authorize(caller, .keyspaceRead, .keyspace(keyspace))
        let object = try await leaderlessObject(keyspace, key: key, kind: kind)
        guard case .read(let reply) = try await runLeaderless(.get(object), options: options) else {
            throw ServiceError(.internal, "a leaderless read answered a write")
        }
        return reply
    }

    /// Applies a CRDT operation at the key's coordinating replica; with
    /// `returnValue`, the reply's `minted.value` is the value after it there.
    public func leaderlessUpdate(
        _ keyspace: String, key: [UInt8], _ operation: CRDTOperation, options: RequestOptions = RequestOptions(),
        returnValue: Bool = false, caller: Caller
    ) async throws(ServiceError) -> WriteReply {
        try authorize(caller, .keyspaceWrite, .keyspace(keyspace))
        let object = try await leaderlessObject(keyspace, key: key, kind: operation.kind)
        var options = try await durable(options, keyspace)
        options.returnValue = returnValue
        return try await leaderlessWrite(.update(object, operation), options: options)
    }

    /// Writes opaque bytes to a versioned key, superseding the siblings `context`
    /// covers (`.client(vector read)`), or everything the coordinating replica holds.
    public func leaderlessPut(
        _ keyspace: String, key: [UInt8], value: [UInt8], context: WriteContext, options: RequestOptions = RequestOptions(),
        caller: Caller
    ) async throws(ServiceError) -> WriteReply {
        try authorize(caller, .keyspaceWrite, .keyspace(keyspace))
        let object = try await leaderlessObject(keyspace, key: key, kind: .versioned)
        return try await leaderlessWrite(
            .put(object, value: value, context: context, timestamp: leaderlessNow()), options: try await durable(options, keyspace))
    }

    /// Deletes a versioned key (a tombstone sibling superseding what `context` covers).
    public func leaderlessDelete(
        _ keyspace: String, key: [UInt8], context: WriteContext, options: RequestOptions = RequestOptions(), caller: Caller
    ) async throws(ServiceError) -> WriteReply {
        try authorize(caller, .keyspaceWrite, .keyspace(keyspace))
        let object = try await leaderlessObject(keyspace, key: key, kind: .versioned)
        return try await leaderlessWrite(
            .delete(object, context: context, timestamp: leaderlessNow()), options: try await durable(options, keyspace))
    }

    /// The keys this node holds of `keyspace` (a count, not a cluster-wide one).
    public func leaderlessKeyCount(_ keyspace: String, caller: Caller) async throws(ServiceError) -> Int {
        try authorize(caller, .keyspaceRead, .keyspace(keyspace))
        return await node.leaderlessKeyCount(try await leaderlessKeyspace(keyspace).id)
    }

    /// A hybrid timestamp for a register or versioned write: wall-clock
    /// microseconds (a register's concurrent values are read
    /// last-writer-wins by it, as Redis Active-Active orders `SET`s).
    public func leaderlessNow() -> HybridTimestamp {
        HybridTimestamp(physical: UInt64(max(0, eventStore.options.wallClock.now().rawValue)), logical: 0)
    }

    /// The leaderless half of a session token, for a request's options:
    /// on a causal keyspace the request then sees everything the session
    /// saw (its reads wait for those writes, and its writes become visible
    /// only after them). A token of another cluster epoch is refused.
    public func leaderlessSession(_ token: SessionToken?) async throws(ServiceError) -> LeaderlessSessionState? {
        guard let token else { return nil }
        let epoch = try await clusterEpoch()
        do { try token.check(clusterEpoch: epoch) } catch { throw ServiceError(error) }
        return LeaderlessSessionState(dependencies: token.leaderless)
    }

    /// The token to answer with: `token` advanced by what the request saw
    /// (`session` of its reply; nil on an eventual keyspace, which leaves
    /// the token as it was), bound to this cluster's epoch.
    public func leaderlessToken(_ token: SessionToken?, advancedBy session: LeaderlessSessionState?) async -> SessionToken {
        let epoch = (try? await clusterEpoch()) ?? nil
        var advanced = token ?? SessionToken(epoch: epoch ?? 0)
        advanced.epoch = max(advanced.epoch, epoch ?? 0)
        if let session { advanced.leaderless.merge(session.dependencies) }
        return advanced
    }

    // MARK: Internals

    /// Unless the request asks otherwise, every acknowledged write is
    /// durable (fsynced) on W replicas: dw = W (the request's w, or the
    /// keyspace's). The core's default (dw = 0) acknowledges a replica that
    /// only holds the write in memory, which a power loss could undo.
    func durable(_ options: RequestOptions, _ keyspace: String) async throws(ServiceError) -> RequestOptions {
        var options = options
        if options.durableWriteQuorum == nil {
            if let writeQuorum = options.writeQuorum {
                options.durableWriteQuorum = writeQuorum
            } else {
                options.durableWriteQuorum = try await leaderlessKeyspace(keyspace).writeQuorum
            }
        }
        return options
    }

    /// Whether `keyspace` is leaderless, from this node's catalog (a local
    /// read, remembered once true): front ends route its requests here on
    /// any node, where the Raft path would redirect a write to the leader.
    public func isLeaderless(_ keyspace: String) async -> Bool {
        if isKnownLeaderless(keyspace) { return true }
        guard keyspace != KeyspaceName.defaultName, let definition = try? await definition(of: keyspace) else { return false }
        guard definition.mode == .leaderless else { return false }
        return (try? await leaderlessKeyspace(keyspace)) != nil
    }

    /// Whether `keyspace` is a leaderless keyspace this node already served
    /// (no I/O: front ends route its requests without asking the catalog).
    public func isKnownLeaderless(_ keyspace: String) -> Bool { leaderlessKeyspaces.configuration(of: keyspace) != nil }

    func leaderlessObject(_ keyspace: String, key: [UInt8], kind: ValueKind) async throws(ServiceError) -> ObjectKey {
        guard !key.isEmpty, key.count <= ObjectKey.maximumKeyBytes else {
            throw ServiceError(.invalidKey, "a leaderless key is 1...\(ObjectKey.maximumKeyBytes) bytes")
        }
        return ObjectKey(keyspace: try await leaderlessKeyspace(keyspace).id, kind: kind, key: key)
    }

    /// Leaderless keyspace `name`, once this node serves it.
    func leaderlessKeyspace(_ name: String) async throws(ServiceError) -> KeyspaceConfiguration {
        if let keyspace = leaderlessKeyspaces.configuration(of: name) { return keyspace }
        try validate(keyspace: name)
        let definition: KeyspaceDefinition
        do {
            definition = try await self.definition(of: name)
        } catch where error.problem.code == .keyspaceNotFound {
            // Created elsewhere a moment ago and not applied here yet: ask the leader.
            definition = try await self.definition(of: name, requirement: .linearizable)
        }
        guard let keyspace = LeaderlessKeyspaces.configuration(name: name, definition: definition) else {
            throw ServiceError(.wrongReplicationMode, "keyspace '\(name)' is \(definition.mode); use its Raft path")
        }
        guard await node.serveLeaderless(name, keyspace) else {
            throw ServiceError(.internal, "this node cannot serve leaderless keyspace '\(name)' (see its log)")
        }
        leaderlessKeyspaces.remember(name, keyspace)
        return keyspace
    }

    func leaderlessWrite(_ operation: ClientOperation, options: RequestOptions) async throws(ServiceError) -> WriteReply {
        guard case .write(let reply) = try await runLeaderless(operation, options: options) else {
            throw ServiceError(.internal, "a leaderless write answered a read")
        }
        return reply
    }

    func runLeaderless(_ operation: ClientOperation, options: RequestOptions) async throws(ServiceError) -> ClientReply {
        do {
            return try await node.leaderless(operation, options: options)
        } catch {
            throw Self.serviceError(error, isWrite: { if case .get = operation { false } else { true } }())
        }
    }

    static func serviceError(_ error: LeaderlessError, isWrite: Bool) -> ServiceError {
        switch error {
        case .stopped(let reason): return ServiceError(.stopped, reason)
        case .failed(let failure):
            switch failure {
            case .unknownKeyspace(let id): return ServiceError(.keyspaceNotFound, "this node does not serve keyspace \(id)")
            case .invalidOptions(let reason): return ServiceError(.badRequest, reason)
            case .unavailable(let reachable, let required):
                var error = ServiceError(.replicasUnavailable, "\(reachable) reachable replicas, \(required) required; nothing was written")
                error.retryAfterSeconds = 1
                return error
            case .timeout(let replies, let required):
                return isWrite
                    ? ServiceError(.outcomeUnknown, "\(replies) of \(required) acknowledgements in time; the write may or may not be stored")
                    : ServiceError(.readTimeout, "\(replies) of \(required) replies in time")
            case .overloaded: return ServiceError(.overloaded, "too many leaderless requests in flight on this node")
            case .refused(let refusal):
                switch refusal {
                case .wrongKind(let key, let operation): return ServiceError(.wrongType, "a \(operation) operation on a \(key) key")
                case .wrongFieldKind(let field): return ServiceError(.wrongType, "the operation does not fit field \(field)")
                case .tooManySiblings(let count, let limit):
                    return ServiceError(.tooManySiblings, "\(count) siblings exceed the limit of \(limit); read and write back with the context")
                case .counterOverflow: return ServiceError(.rejected, "increment or decrement would overflow")
                case .nestingTooDeep: return ServiceError(.rejected, "map operations nested too deep")
                case .backlogFull: return ServiceError(.overloaded, "the causal backlog of this coordinator is full")
                }
            }
        }
    }
}

/// Leaderless keyspaces this node serves, by name (a keyspace's identifier never changes once created).
final class LeaderlessKeyspaceCache: Sendable {
    private let storage = Mutex<[String: KeyspaceConfiguration]>([:])

    func configuration(of name: String) -> KeyspaceConfiguration? { storage.withLock { $0[name] } }

    func remember(_ name: String, _ keyspace: KeyspaceConfiguration) { storage.withLock { $0[name] = keyspace } }
}
