import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusNode
import ChorusRaft
import ChorusReplica
import ChorusReplication

extension ChorusService {
    /// The levels a keyspace of each mode can have as its default.
    public static func levels(of mode: ChorusKeyValue.ReplicationMode) -> [ConsistencyLevel] {
        switch mode {
        case .raft: ConsistencyLevel.allCases
        case .leaderless: [.eventual, .session]
        }
    }

    /// Creates a keyspace through the catalog (replicated in the Raft log).
    /// Creating one that exists with the same definition succeeds again
    /// (idempotent); with another definition it is `keyspace_exists`.
    public func createKeyspace(_ name: String, definition: KeyspaceDefinition, caller: Caller) async throws(ServiceError)
        -> KeyspaceEntry
    {
        try authorize(caller, .keyspaceAdmin, .keyspace(name))
        try validate(keyspace: name)
        guard name != KeyspaceName.defaultName else {
            throw ServiceError(.keyspaceExists, "the default keyspace always exists")
        }
        guard let level = ConsistencyLevel(rawValue: definition.defaultLevel) else {
            throw ServiceError(
                .invalidConsistency,
                "default level must be one of \(ConsistencyLevel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard Self.levels(of: definition.mode).contains(level) else {
            throw ServiceError(.invalidKeyspace, "a \(definition.mode) keyspace cannot default to \(level)")
        }
        guard (1...KeyspaceName.maximumReplicas).contains(definition.replicas),
            (1...definition.replicas).contains(definition.readQuorum),
            (1...definition.replicas).contains(definition.writeQuorum)
        else {
            throw ServiceError(
                .invalidKeyspace, "replicas must be in 1...\(KeyspaceName.maximumReplicas) and each quorum in 1...replicas")
        }
        if definition.mode == .leaderless {
            let members = node.configuration.members.count
            guard definition.replicas <= members else {
                throw ServiceError(.tooFewMembers, "a leaderless keyspace has at most as many replicas as the cluster has nodes (\(members))")
            }
            let id = KeyspaceID(naming: name)
            if let clash = try await allKeyspaces().first(where: {
                $0.name != name && $0.definition.mode == .leaderless && KeyspaceID(naming: $0.name) == id
            }) {
                throw ServiceError(.keyspaceExists, "'\(name)' hashes to the identifier of leaderless keyspace '\(clash.name)'; choose another name")
            }
        }
        let (result, index) = try await catalogWrite(
            KeyValueCommand(clientID: 0, sequence: 0, keyspace: name, operation: .createKeyspace(definition)))
        switch result {
        case .keyspaceCreated:
            if definition.mode == .leaderless { await awaitFollowersApplied(index) }
            return KeyspaceEntry(name: name, definition: definition)
        case .keyspaceExists(_, let existing):
            throw ServiceError(.keyspaceExists, "keyspace '\(name)' exists with another definition (\(existing.mode), \(existing.defaultLevel))")
        case .rejected(let reason): throw ServiceError(.rejected, reason)
        case let other: throw ServiceError(.internal, "creating a keyspace answered \(other)")
        }
    }

    /// Deletes a keyspace and every key in it; answers how many keys went.
    public func deleteKeyspace(_ name: String, caller: Caller) async throws(ServiceError) -> Int {
        try authorize(caller, .keyspaceAdmin, .keyspace(name))
        try validate(keyspace: name)
        guard name != KeyspaceName.defaultName else {
            throw ServiceError(.keyspaceProtected, "the default keyspace cannot be deleted")
        }
        if let entry = try await allKeyspaces().first(where: { $0.name == name }), entry.definition.mode == .leaderless {
            // Its keys live on every node's leaderless log, not in the Raft
            // store; a keyspace created again under the name would see them.
            throw ServiceError(.wrongReplicationMode, "deleting a leaderless keyspace is not supported; its keys stay on the replicas")
        }
        switch try await catalog(KeyValueCommand(clientID: 0, sequence: 0, keyspace: name, operation: .deleteKeyspace)) {
        case .keyspaceDeleted(_, let keys): return keys
        case .keyspaceNotFound: throw ServiceError(.keyspaceNotFound, "no keyspace named '\(name)'")
        case .rejected(let reason): throw ServiceError(.rejected, reason)
        case let other: throw ServiceError(.internal, "deleting a keyspace answered \(other)")
        }
    }

    /// Every keyspace the caller may read, the default first, as this
    /// replica has applied them (a linearizable read: a keyspace just created
    /// is listed). The caller needs `keyspace.read` on some keyspace.
    public func keyspaces(caller: Caller) async throws(ServiceError) -> [KeyspaceEntry] {
        try authorizeSome(caller, .keyspaceRead)
        return try await allKeyspaces().filter { isAllowed(caller, .keyspaceRead, .keyspace($0.name)) }
    }

    /// One keyspace's entry (`keyspace.read` on it), or `keyspace_not_found`.
    public func keyspace(_ name: String, caller: Caller) async throws(ServiceError) -> KeyspaceEntry {
        try authorize(caller, .keyspaceRead, .keyspace(name))
        guard let entry = try await allKeyspaces().first(where: { $0.name == name }) else {
            throw ServiceError(.keyspaceNotFound, "no keyspace named '\(name)'")
        }
        return entry
    }

    private func allKeyspaces() async throws(ServiceError) -> [KeyspaceEntry] {
        let answer: ReadResult<ReplicatedMachines.Answer>
        do {
            answer = try await node.read(.keyValue(.keyspaces), requirement: .linearizable)
        } catch {
            throw ServiceError(error)
        }
        guard case .keyValue(.keyspaces(let entries)) = answer.value else {
            throw ServiceError(.internal, "a keyspace listing answered \(answer.value)")
        }
        if entries.contains(where: { $0.name == KeyspaceName.defaultName }) { return entries }
        return [KeyspaceEntry(name: KeyspaceName.defaultName, definition: .default)] + entries
    }

    private func catalog(_ command: KeyValueCommand) async throws(ServiceError) -> KeyValueResult {
        try await catalogWrite(command).result
    }

    private func catalogWrite(_ command: KeyValueCommand) async throws(ServiceError) -> (result: KeyValueResult, index: LogIndex) {
        let written: WriteResult<ReplicatedMachines.Output>
        do {
            written = try await node.write(.keyValue(command))
        } catch {
            throw ServiceError(error)
        }
        guard case .keyValue(let applied) = written.output else {
            throw ServiceError(.internal, "the catalog write was applied by another machine: \(written.output)")
        }
        return (applied.result, written.index)
    }

    /// Waits, at most two seconds, until every follower holds log entry
    /// `index` and two heartbeats have carried its commit to them. A
    /// leaderless keyspace is served by a node once its catalog applied the
    /// creation, and a replica that has not drops the keyspace's messages:
    /// without this wait, a write coordinated right after creation could time
    /// out (504) against replicas that had not heard of it. A follower that is
    /// down does not hold creation up for longer; it learns the keyspace
    /// when it returns.
    func awaitFollowersApplied(_ index: LogIndex) async {
        let deadline = ContinuousClock.now + .seconds(2)
        let configuration = node.configuration
        let heartbeat = Int(configuration.raft.heartbeatIntervalTicks) * configuration.tickMilliseconds
        while ContinuousClock.now < deadline {
            guard let status = try? await node.status(), status.role == .leader else { return }
            if status.followers.allSatisfy({ $0.matchIndex >= index }) {
                try? await Task.sleep(for: .milliseconds(2 * heartbeat + configuration.leaderless.tickMilliseconds))
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
