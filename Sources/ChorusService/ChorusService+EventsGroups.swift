import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore

/// Persistent subscription groups: the replicated definitions (create, list,
/// delete, parked events, replay) as commands and reads, and consuming,
/// acknowledging and refusing deliveries through the leader's
/// `PersistentGroupHost`.
///
/// Guarantees (the dispatcher's, exactly): at least once; first deliveries in
/// source order per consumer, retries and replays possibly later, no order
/// across consumers; an event failed more than `maximumRetryCount` times is parked
/// in `$persistentsubscription-<stream>::<group>-parked`.
extension ChorusService {
    public func createGroup(_ request: CreateGroupRequest, caller: Caller) async throws(ServiceError) -> GroupResponse {
        try authorize(caller, .streamAdmin, .stream(request.key.stream.text))
        try validateGroupSource(request.key.stream)
        let operation = EventStoreOperation.createGroup(
            key: request.key, filter: request.filter, settings: request.settings, start: request.start)
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(operation)
        guard case .groupCreated(let group) = result else { throw Self.refusal(result, expected: "groupCreated") }
        await eventStore.groups.learn(result, of: operation, at: index)
        return GroupResponse(group: group, appliedIndex: appliedIndex)
    }

    public func deleteGroup(_ key: PersistentGroupKey, caller: Caller) async throws(ServiceError) -> EventWriteAcknowledgement {
        try authorize(caller, .streamAdmin, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        let operation = EventStoreOperation.deleteGroup(key: key)
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(operation)
        guard case .groupDeleted = result else { throw Self.refusal(result, expected: "groupDeleted") }
        await eventStore.groups.learn(result, of: operation, at: index)
        return EventWriteAcknowledgement(index: index, appliedIndex: appliedIndex)
    }

    public func group(_ key: PersistentGroupKey, consistency: EventReadConsistency = .linearizable, caller: Caller)
        async throws(ServiceError) -> GroupResponse
    {
        try authorize(caller, .streamSubscribe, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        let (answer, appliedIndex) = try await eventStore.proposer.read(.group(key), requirement: consistency.requirement)
        guard case .group(let group) = answer else { throw Self.misanswered("a group read") }
        guard let group else {
            var error = ServiceError(refusal: .groupNotFound(key))
            error.appliedIndex = appliedIndex
            throw error
        }
        return GroupResponse(group: group, appliedIndex: appliedIndex)
    }

    /// Every group whose source stream the caller may subscribe to, ordered
    /// by source stream then group name (`stream.subscribe` on some stream).
    public func groups(consistency: EventReadConsistency = .linearizable, caller: Caller) async throws(ServiceError)
        -> GroupListResponse
    {
        try authorizeSome(caller, .streamSubscribe)
        let (answer, appliedIndex) = try await eventStore.proposer.read(.groups, requirement: consistency.requirement)
        guard case .groups(let groups) = answer else { throw Self.misanswered("a group list") }
        let visible = groups.filter { isAllowed(caller, .streamSubscribe, .stream($0.key.stream.text)) }
        return GroupListResponse(groups: visible, appliedIndex: appliedIndex)
    }

    /// The group's parked events from a parked-stream revision, resolved to the events they name.
    public func parkedEvents(
        _ key: PersistentGroupKey, from: StreamRevision = .zero, limit: Int = 100,
        consistency: EventReadConsistency = .linearizable, caller: Caller
    ) async throws(ServiceError) -> ParkedEventsResponse {
        try authorize(caller, .streamAdmin, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        try validateLimit(limit)
        let (answer, appliedIndex) = try await eventStore.proposer.read(
            .readParked(key: key, from: from, maximumCount: limit), requirement: consistency.requirement)
        guard case .parked(let result) = answer else { throw Self.misanswered("a parked read") }
        switch result {
        case .entries(let page): return ParkedEventsResponse(page: page, appliedIndex: appliedIndex)
        case .groupNotFound(let key): throw ServiceError(refusal: .groupNotFound(key))
        }
    }

    /// Asks for every event parked so far to be delivered again.
    public func replayParked(_ key: PersistentGroupKey, caller: Caller) async throws(ServiceError) -> ReplayParkedResponse {
        try authorize(caller, .streamAdmin, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        let operation = EventStoreOperation.replayParked(key: key)
        let (result, index, appliedIndex) = try await eventStore.proposer.propose(operation)
        guard case .replayRequested(_, let through) = result else { throw Self.refusal(result, expected: "replayRequested") }
        await eventStore.groups.learn(result, of: operation, at: index)
        return ReplayParkedResponse(through: through, index: index, appliedIndex: appliedIndex)
    }

    /// Connects a consumer (on the leader; elsewhere `not_leader` names it).
    public func consume(_ key: PersistentGroupKey, caller: Caller) async throws(ServiceError) -> GroupConsumer {
        try authorize(caller, .streamSubscribe, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        return try await eventStore.groups.connect(key)
    }

    public func acknowledge(_ deliveries: [DeliveryID], in key: PersistentGroupKey, caller: Caller) async throws(ServiceError) {
        try authorize(caller, .streamSubscribe, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        try await eventStore.groups.acknowledge(deliveries, in: key)
    }

    public func negativelyAcknowledge(
        _ deliveries: [DeliveryID], in key: PersistentGroupKey, action: PersistentSubscriptionDispatcher.NegativeAcknowledgement,
        reason: String, caller: Caller
    ) async throws(ServiceError) {
        try authorize(caller, .streamSubscribe, .stream(key.stream.text))
        try validateGroupSource(key.stream)
        let maximum = eventStore.options.limits.maximumReasonBytes
        guard reason.utf8.count <= maximum else {
            throw ServiceError(.invalidParameter, "a reason may be at most \(maximum) bytes")
        }
        try await eventStore.groups.negativelyAcknowledge(deliveries, in: key, action: action, reason: reason)
    }

    /// A group's source: `$all`, or a stream a client may read.
    func validateGroupSource(_ stream: StreamName) throws(ServiceError) {
        if stream != .all { try validateReadable(stream) }
    }
}
