import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusNode
import ChorusReplica

extension ChorusService {
    /// The largest page of a range read.
    public static let maximumRangeLimit = 1_000

    /// A key-value read at its level (DESIGN.md §2), on this node:
    ///
    /// | level | requirement on the replica |
    /// |---|---|
    /// | `linearizable` | ReadIndex confirmed by a quorum (thesis §6.4) |
    /// | `sequential`, `session` | applied at least the session token's index |
    /// | `bounded-staleness` | the replica proves K and/or T, or waits, bounded |
    /// | `consistent-prefix`, `eventual` | its applied state now (a prefix of the log) |
    ///
    /// A token of another cluster epoch is refused before anything is read.
    public func read(_ request: KeyValueReadRequest, caller: Caller) async throws(ServiceError) -> KeyValueReadResponse {
        try authorize(caller, .keyspaceRead, .keyspace(request.keyspace))
        try validate(keyspace: request.keyspace)
        let query: KeyValueQuery
        switch request.target {
        case .key(let key):
            try validate(key: key)
            query = .get(key: key, keyspace: request.keyspace)
        case .range(let prefix, let after, let limit):
            guard (1...Self.maximumRangeLimit).contains(limit) else {
                throw ServiceError(.invalidRange, "limit must be in 1...\(Self.maximumRangeLimit), not \(limit)")
            }
            guard prefix.utf8.count <= limits.maximumKeyBytes, (after?.utf8.count ?? 0) <= limits.maximumKeyBytes else {
                throw ServiceError(.invalidRange, "a prefix or continuation may be at most \(limits.maximumKeyBytes) bytes")
            }
            query = .range(keyspace: request.keyspace, prefix: prefix, after: after, limit: limit)
        }
        let epoch = try await clusterEpoch()
        if let token = request.session {
            do { try token.check(clusterEpoch: epoch) } catch { throw ServiceError(error) }
        }
        let consistency = try await resolve(request.consistency, keyspace: request.keyspace)
        let seen = max(request.minimumIndex, request.session?.index ?? .zero)
        let answer: ReadResult<ReplicatedMachines.Answer>
        let started = ContinuousClock.now
        do {
            let requirement = Self.requirement(consistency, seen: seen, tickMilliseconds: node.configuration.tickMilliseconds)
            answer = try await node.read(.keyValue(query), requirement: requirement)
        } catch {
            throw ServiceError(error)
        }
        readMetrics.record(consistency.level, since: started)
        let value: KeyValueReadResponse.Value
        switch answer.value {
        case .keyValue(.record(let record)):
            value = .record(record)
        case .keyValue(.range(let page?)):
            value = .range(page)
        case .keyValue(.range(nil)):
            throw try await missingKeyspace(request.keyspace)
        default:
            throw ServiceError(.internal, "a key-value read answered \(answer.value)")
        }
        var session = request.session ?? SessionToken(epoch: epoch ?? 0)
        session.epoch = max(session.epoch, epoch ?? 0)
        session.index = max(session.index, answer.appliedIndex)
        let tick = UInt64(node.configuration.tickMilliseconds)
        return KeyValueReadResponse(
            value: value, appliedIndex: answer.appliedIndex, served: consistency,
            stalenessEntries: answer.staleness?.maximumMissingEntries,
            stalenessMilliseconds: answer.staleness?.maximumLagTicks.map { $0 * tick }, session: session)
    }

    /// What the replica must establish before it answers at `consistency`:
    /// the one mapping from levels to the driver's requirements, for every
    /// machine's reads. A lag bound in milliseconds becomes whole ticks,
    /// rounded down (never looser than asked).
    static func requirement(_ consistency: ReadConsistency, seen: LogIndex, tickMilliseconds: Int) -> ReadRequirement {
        switch consistency.level {
        case .linearizable: .linearizable
        case .sequential, .session: .appliedAtLeast(seen)
        case .boundedStaleness:
            .boundedStaleness(
                maximumVersions: consistency.maximumVersions,
                maximumLagTicks: consistency.maximumLagMilliseconds.map { $0 / UInt64(max(1, tickMilliseconds)) })
        case .consistentPrefix, .eventual: .immediate
        }
    }

    /// The level a read gets: the one it names, or its keyspace's default.
    func resolve(_ consistency: ReadConsistency?, keyspace: String) async throws(ServiceError) -> ReadConsistency {
        if let consistency { return consistency }
        if keyspace == KeyspaceName.defaultName { return ReadConsistency(.default) }
        let definition = try await self.definition(of: keyspace)
        guard definition.mode == .raft else {
            throw ServiceError(.wrongReplicationMode, "keyspace '\(keyspace)' is \(definition.mode); read it through its leaderless path")
        }
        guard let level = ConsistencyLevel(rawValue: definition.defaultLevel) else {
            throw ServiceError(.internal, "keyspace '\(keyspace)' names an unknown default level '\(definition.defaultLevel)'")
        }
        return ReadConsistency(level)
    }

    /// The error for a keyspace a read found no Raft data of.
    func missingKeyspace(_ keyspace: String) async throws(ServiceError) -> ServiceError {
        let definition = try await self.definition(of: keyspace)
        return ServiceError(.wrongReplicationMode, "keyspace '\(keyspace)' is \(definition.mode), not raft")
    }

    /// A keyspace's definition from this replica's catalog (or, with
    /// `.linearizable`, the leader's), or `keyspace_not_found`.
    func definition(of keyspace: String, requirement: ReadRequirement = .immediate) async throws(ServiceError) -> KeyspaceDefinition {
        let answer: ReadResult<ReplicatedMachines.Answer>
        do {
            answer = try await node.read(.keyValue(.keyspace(keyspace)), requirement: requirement)
        } catch {
            throw ServiceError(error)
        }
        guard case .keyValue(.keyspace(let definition)) = answer.value else {
            throw ServiceError(.internal, "a keyspace lookup answered \(answer.value)")
        }
        guard let definition else { throw ServiceError(.keyspaceNotFound, "no keyspace named '\(keyspace)'") }
        return definition
    }

    /// The cluster epoch, once this replica has applied it; it never changes
    /// afterwards, so it is remembered.
    func clusterEpoch() async throws(ServiceError) -> UInt64? {
        if let known = epochCache.value { return known }
        let answer: ReadResult<ReplicatedMachines.Answer>
        do {
            answer = try await node.read(.keyValue(.epoch), requirement: .immediate)
        } catch {
            throw ServiceError(error)
        }
        guard case .keyValue(.epoch(let epoch)) = answer.value else {
            throw ServiceError(.internal, "an epoch lookup answered \(answer.value)")
        }
        if let epoch { epochCache.remember(epoch) }
        return epoch
    }

    func validate(keyspace: String) throws(ServiceError) {
        if let problem = KeyspaceName.problem(keyspace) { throw ServiceError(.invalidKeyspace, problem) }
    }
}
