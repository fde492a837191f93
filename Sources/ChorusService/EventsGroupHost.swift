import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusNode
import ChorusRaft
import ChorusReplica
import CoreMetrics
import ServiceLifecycle

/// The leader's persistent subscription groups (competing consumers): one
/// `PersistentSubscriptionDispatcher` per group, fed from the applied store,
/// its effects carried out — deliveries to consumers, commands proposed
/// through the node with their results fed back — and ticked on a timer.
///
/// What is replicated (the group, its checkpoint, parked events, replay
/// bounds) lives in the event store; what is leader-local (who holds which
/// event, ack timeouts, retries) lives here, and is rebuilt from the
/// replicated state whenever this node becomes leader (in a new term), so a
/// new leader resumes after the replicated checkpoint and delivers again
/// whatever was completed after it (at least once; see the dispatcher's
/// guarantees). A follower hosts nothing: a consumer, ack or nack that
/// reaches it fails with `not_leader` naming the leader, and front ends
/// redirect it.
///
///     tick loop (groupTickMilliseconds) ─▶ leadership check ─▶ dispatcher.tick() ─▶ effects
///     apply watcher (appliedAtLeast(last + 1)) ─▶ feed: subscriptionBatch / readParked ─▶ dispatcher.receive ─▶ effects
///     effects: deliver ─▶ consumer stream;  propose ─▶ node.write ─▶ dispatcher.apply(result, of:)
///
/// Groups created, deleted or replayed through this service are learned at
/// once (`learn`); the replicated list is also re-read every
/// `groupReconcileMilliseconds`, so nothing depends on which node took the
/// request. Memory is bounded by the dispatchers' own bounds (`bufferSize`,
/// `maximumConsumerCount`, `maximumInFlightPerConsumer`) and the store's group limit.
public actor PersistentGroupHost: Service {
    typealias ConsumerID = PersistentSubscriptionDispatcher.ConsumerID
    typealias Continuation = AsyncThrowingStream<GroupConsumerMessage, any Error>.Continuation

    let node: ChorusNode
    let proposer: EventStoreProposer
    let options: EventServiceOptions
    let metrics: EventStoreMetrics

    /// The term this node leads in, or nil while it does not lead.
    private var leadingTerm: Term?
    private var hosted: [PersistentGroupKey: HostedGroup] = [:]
    /// Groups deleted at a log index, so that a read older than the delete does not bring them back.
    private var deletedAt: [PersistentGroupKey: LogIndex] = [:]
    private var nextConsumer: UInt64 = 0
    private var nextGeneration: UInt64 = 0
    /// The latest applied index this host has seen.
    private var appliedIndex: LogIndex = .zero
    private var lastReconcile = ContinuousClock.now

    struct HostedGroup {
        var group: PersistentGroup
        var dispatcher: PersistentSubscriptionDispatcher
        /// Which incarnation of the hosted group: results of reads and
        /// proposals made for an earlier one are ignored.
        var generation: UInt64
        /// The applied index the group was last known at.
        var knownAt: LogIndex
        var consumers: [ConsumerID: Continuation] = [:]
        /// When each consumer was last sent anything, for heartbeats.
        var lastSent: [ConsumerID: ContinuousClock.Instant] = [:]
        var readingSource = false
        var readingParked = false
        /// The applied index at which the source had nothing more: no read until the index moves on.
        var sourceExhaustedAt: LogIndex?
        /// The source stream is tombstoned: nothing more will come.
        var sourceEnded = false
    }

    init(node: ChorusNode, proposer: EventStoreProposer, options: EventServiceOptions, metrics: EventStoreMetrics) {
        self.node = node
        self.proposer = proposer
        self.options = options
        self.metrics = metrics
    }

    // MARK: Running

    public nonisolated func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.tickLoop() }
                group.addTask { await self.applyWatchLoop() }
            }
        }
        await dropAll(ServiceError(.stopped, "the node is shutting down"))
    }

    private nonisolated func tickLoop() async {
        let interval = Duration.milliseconds(options.groupTickMilliseconds)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            await tick()
        }
    }

    /// Wakes the host as soon as anything is applied, so new events reach
    /// consumers without waiting for a tick.
    private nonisolated func applyWatchLoop() async {
        var last = LogIndex.zero
        while !Task.isCancelled {
            guard await isLeading else {
                try? await Task.sleep(for: .milliseconds(options.groupTickMilliseconds))
                continue
            }
            do {
                let (_, applied) = try await proposer.read(
                    .streamInfo(.all), requirement: .appliedAtLeast(LogIndex(last.rawValue + 1)))
                last = applied
                await observe(appliedIndex: applied)
            } catch where error.code == .notCaughtUp {
                continue
            } catch {
                try? await Task.sleep(for: .milliseconds(options.groupTickMilliseconds))
            }
        }
    }

    var isLeading: Bool { leadingTerm != nil }

    /// One tick: leadership, a periodic reconcile, every dispatcher's timers, feeding.
    func tick() async {
        await synchronizeLeadership()
        guard leadingTerm != nil else { return }
        if ContinuousClock.now - lastReconcile >= .milliseconds(options.groupReconcileMilliseconds) {
            lastReconcile = .now
            await reconcile(requirement: .appliedAtLeast(.zero))
        }
        for key in hosted.keys.sorted() {
            guard let generation = hosted[key]?.generation else { continue }
            let effects = hosted[key]!.dispatcher.tick()
            perform(effects, key: key, generation: generation)
            feed(key)
            sendHeartbeats(key)
        }
    }

    /// A heartbeat to each consumer that was sent nothing for a heartbeat
    /// interval, so idle connections stay open and a front end notices a
    /// consumer that went away (at its next write) even while it holds events.
    private func sendHeartbeats(_ key: PersistentGroupKey) {
        guard var entry = hosted[key] else { return }
        let now = ContinuousClock.now
        let interval = Duration.milliseconds(options.subscriptionHeartbeatIntervalMilliseconds)
        for consumer in entry.consumers.keys.sorted() {
            guard now - (entry.lastSent[consumer] ?? now) >= interval else { continue }
            entry.lastSent[consumer] = now
            entry.consumers[consumer]!.yield(.heartbeat)
        }
        hosted[key] = entry
    }

    private func observe(appliedIndex applied: LogIndex) {
        if applied > appliedIndex { appliedIndex = applied }
        for key in hosted.keys.sorted() { feed(key) }
    }

    // MARK: Leadership

    /// Builds the dispatchers when this node has become leader (in a new
    /// term), and drops them when it no longer leads.
    private func synchronizeLeadership() async {
        guard let status = try? await node.status() else {
            if leadingTerm != nil {
                leadingTerm = nil
                dropAll(ServiceError(.stopped, "the node has stopped"))
            }
            return
        }
        if status.appliedIndex > appliedIndex { appliedIndex = status.appliedIndex }
        if status.role == .leader {
            guard leadingTerm != status.term else { return }
            dropAll(Self.notLeader(status, node: node.configuration.nodeID, changed: true))
            leadingTerm = status.term
            lastReconcile = .now
            await reconcile(requirement: .linearizable)
        } else if leadingTerm != nil {
            leadingTerm = nil
            dropAll(Self.notLeader(status, node: node.configuration.nodeID, changed: false))
        }
    }

    /// Throws `not_leader` (or `no_leader`) unless this node leads.
    func ensureLeading() async throws(ServiceError) {
        await synchronizeLeadership()
        guard leadingTerm == nil else { return }
        throw Self.notLeader(try? await node.status(), node: node.configuration.nodeID, changed: false)
    }

    /// Why a group operation cannot be served here: leadership moved to
    /// another node (`not_leader`, naming it), no leader is known, or this node
    /// became leader again in a new term (its consumers reconnect).
    static func notLeader(_ status: NodeStatus?, node: NodeID, changed: Bool) -> ServiceError {
        if changed {
            var error = ServiceError(.noLeader, "leadership changed; reconnect")
            error.retryAfterSeconds = 0
            return error
        }
        guard let status, status.leader != .none, status.leader != node else {
            var error = ServiceError(.noLeader, "no leader is known; persistent groups are served by the leader")
            error.retryAfterSeconds = 1
            return error
        }
        return ServiceError(NodeError.notLeader(leader: status.leader, leaderURL: status.leaderURL))
    }

    // MARK: The replicated groups

    /// Adopts every replicated group not hosted yet, learns replay requests,
    /// and drops hosted groups the store no longer has.
    private func reconcile(requirement: ReadRequirement) async {
        guard let term = leadingTerm else { return }
        guard let (answer, applied) = try? await proposer.read(.groups, requirement: requirement),
            leadingTerm == term, case .groups(let groups) = answer
        else { return }
        if applied > appliedIndex { appliedIndex = applied }
        var present = Set<PersistentGroupKey>()
        for group in groups {
            present.insert(group.key)
            adopt(group, at: applied)
        }
        for key in hosted.keys.sorted() where !present.contains(key) && hosted[key]!.knownAt <= applied {
            drop(key, ServiceError(refusal: .groupNotFound(key)))
        }
        deletedAt = deletedAt.filter { $0.value > applied }
    }

    /// Hosts `group` as the store had it at `index`, unless a later delete is known.
    private func adopt(_ group: PersistentGroup, at index: LogIndex) {
        if let deleted = deletedAt[group.key], deleted > index { return }
        if var entry = hosted[group.key] {
            guard index >= entry.knownAt else { return }
            // Deleted and created again since: a new incarnation.
            let recreated = entry.group.source != group.source || entry.group.settings != group.settings
                || group.checkpoint < entry.group.checkpoint || group.replayedThrough < entry.group.replayedThrough
            if recreated {
                drop(group.key, ServiceError(refusal: .groupNotFound(group.key)))
                adopt(group, at: index)
                return
            }
            let previousReplay = entry.group.replayRequestedThrough
            entry.group = group
            entry.knownAt = index
            hosted[group.key] = entry
            if group.replayRequestedThrough > previousReplay {
                let effects = hosted[group.key]!.dispatcher.apply(
                    .replayRequested(key: group.key, through: group.replayRequestedThrough), of: .replayParked(key: group.key))
                perform(effects, key: group.key, generation: entry.generation)
            }
            return
        }
        nextGeneration += 1
        hosted[group.key] = HostedGroup(
            group: group, dispatcher: PersistentSubscriptionDispatcher(group: group), generation: nextGeneration, knownAt: index)
        feed(group.key)
    }

    /// Learns the applied result of a group command proposed through the service.
    func learn(_ result: EventStoreResult, of operation: EventStoreOperation, at index: LogIndex) {
        guard leadingTerm != nil else { return }
        if index > appliedIndex { appliedIndex = index }
        switch result {
        case .groupCreated(let group):
            deletedAt[group.key] = nil
            adopt(group, at: index)
        case .groupDeleted(let key):
            deletedAt[key] = index
            drop(key, ServiceError(refusal: .groupNotFound(key)))
        default:
            guard let key = operation.groupKey, let generation = hosted[key]?.generation else { return }
            let effects = hosted[key]!.dispatcher.apply(result, of: operation)
            perform(effects, key: key, generation: generation)
        }
    }

    // MARK: Consumers

    /// Connects a consumer to the group, on the leader.
    public func connect(_ key: PersistentGroupKey) async throws(ServiceError) -> GroupConsumer {
        try await ensureLeading()
        if hosted[key] == nil { await reconcile(requirement: .linearizable) }
        guard var entry = hosted[key] else { throw ServiceError(refusal: .groupNotFound(key)) }
        nextConsumer += 1
        let consumer = ConsumerID(nextConsumer)
        // The dispatcher keeps at most maximumInFlightPerConsumer deliveries in flight
        // per consumer; one more slot holds a heartbeat. A consumer that stops
        // reading loses its oldest buffered messages, whose deliveries then time
        // out and go to other consumers (at least once, never unbounded).
        let (deliveries, continuation) = AsyncThrowingStream.makeStream(
            of: GroupConsumerMessage.self, throwing: (any Error).self,
            bufferingPolicy: .bufferingNewest(entry.group.settings.maximumInFlightPerConsumer + 1))
        switch entry.dispatcher.connect(consumer) {
        case .connected(let effects):
            entry.consumers[consumer] = continuation
            entry.lastSent[consumer] = .now
            hosted[key] = entry
            metrics.consumers(changedBy: 1)
            let generation = entry.generation
            continuation.onTermination = { [weak self] _ in
                Task { await self?.disconnect(consumer, from: key, generation: generation) }
            }
            perform(effects, key: key, generation: generation)
        case .alreadyConnected:
            preconditionFailure("consumer ids are never reused")
        case .refused(let maximum):
            continuation.finish()
            var error = ServiceError(
                .maximumConsumersReached, "the group \(key.group) on \(key.stream.text) has its maximum of \(maximum) consumers")
            error.problem.details = ["maxConsumerCount": .number(JSONNumber(maximum))]
            throw error
        }
        return GroupConsumer(key: key, id: consumer, deliveries: deliveries)
    }

    /// The consumer's events in flight go to the other consumers.
    func disconnect(_ consumer: ConsumerID, from key: PersistentGroupKey, generation: UInt64) {
        guard var entry = hosted[key], entry.generation == generation,
            entry.consumers.removeValue(forKey: consumer) != nil
        else { return }
        entry.lastSent[consumer] = nil
        metrics.consumers(changedBy: -1)
        let effects = entry.dispatcher.disconnect(consumer)
        hosted[key] = entry
        perform(effects, key: key, generation: generation)
    }

    public func acknowledge(_ deliveries: [DeliveryID], in key: PersistentGroupKey) async throws(ServiceError) {
        let generation = try await hostedGeneration(key)
        let effects = hosted[key]!.dispatcher.acknowledge(deliveries.map(\.key))
        perform(effects, key: key, generation: generation)
    }

    public func negativelyAcknowledge(
        _ deliveries: [DeliveryID], in key: PersistentGroupKey,
        action: PersistentSubscriptionDispatcher.NegativeAcknowledgement, reason: String
    ) async throws(ServiceError) {
        let generation = try await hostedGeneration(key)
        let effects = hosted[key]!.dispatcher.negativeAcknowledge(deliveries.map(\.key), action: action, reason: reason)
        perform(effects, key: key, generation: generation)
    }

    private func hostedGeneration(_ key: PersistentGroupKey) async throws(ServiceError) -> UInt64 {
        try await ensureLeading()
        if hosted[key] == nil { await reconcile(requirement: .linearizable) }
        guard let generation = hosted[key]?.generation else { throw ServiceError(refusal: .groupNotFound(key)) }
        return generation
    }

    /// The groups hosted now and their connected consumers (for tests and status pages).
    public var consumerCounts: [PersistentGroupKey: Int] { hosted.mapValues(\.consumers.count) }

    // MARK: Dropping

    private func drop(_ key: PersistentGroupKey, _ error: ServiceError) {
        guard let entry = hosted.removeValue(forKey: key) else { return }
        metrics.consumers(changedBy: -entry.consumers.count)
        for consumer in entry.consumers.keys.sorted() { entry.consumers[consumer]!.finish(throwing: error) }
    }

    private func dropAll(_ error: ServiceError) {
        for key in hosted.keys.sorted() { drop(key, error) }
    }

    // MARK: Feeding and effects

    /// Reads what the group's dispatcher wants next, if it wants anything and
    /// something new may be there.
    private func feed(_ key: PersistentGroupKey) {
        guard var entry = hosted[key] else { return }
        let generation = entry.generation
        let wanted = entry.dispatcher.wantedSourceEvents
        let fresh = entry.sourceExhaustedAt.map { $0 < appliedIndex } ?? true
        if !entry.readingSource, !entry.sourceEnded, wanted > 0, fresh {
            entry.readingSource = true
            let query = EventStoreQuery.subscriptionBatch(
                source: entry.dispatcher.source, after: entry.dispatcher.sourceCursor,
                maximumCount: min(wanted, options.limits.maximumReadCount))
            Task { [proposer] in
                let read = try? await proposer.read(query, requirement: .appliedAtLeast(.zero))
                self.receivedSource(read, key: key, generation: generation)
            }
        }
        let parked = entry.dispatcher.wantedParkedEvents
        if !entry.readingParked, parked > 0 {
            entry.readingParked = true
            let query = EventStoreQuery.readParked(
                key: key, from: entry.dispatcher.replayCursor, maximumCount: min(parked, options.limits.maximumReadCount))
            Task { [proposer] in
                let read = try? await proposer.read(query, requirement: .appliedAtLeast(.zero))
                self.receivedParked(read, key: key, generation: generation)
            }
        }
        hosted[key] = entry
    }

    private func receivedSource(
        _ read: (answer: EventStoreQueryResult, appliedIndex: LogIndex)?, key: PersistentGroupKey, generation: UInt64
    ) {
        guard var entry = hosted[key], entry.generation == generation else { return }
        entry.readingSource = false
        var effects: [PersistentSubscriptionDispatcher.Effect] = []
        if let read, case .subscriptionBatch(let result) = read.answer {
            if read.appliedIndex > appliedIndex { appliedIndex = read.appliedIndex }
            switch result {
            case .batch(let batch):
                effects = entry.dispatcher.receive(batch)
                entry.sourceExhaustedAt = batch.isCaughtUp ? read.appliedIndex : nil
            case .streamDeleted, .invalid:
                entry.sourceEnded = true
            }
        }
        hosted[key] = entry
        perform(effects, key: key, generation: generation)
        feed(key)
    }

    private func receivedParked(
        _ read: (answer: EventStoreQueryResult, appliedIndex: LogIndex)?, key: PersistentGroupKey, generation: UInt64
    ) {
        guard var entry = hosted[key], entry.generation == generation else { return }
        entry.readingParked = false
        var effects: [PersistentSubscriptionDispatcher.Effect] = []
        var progressed = false
        if let read, case .parked(.entries(let page)) = read.answer {
            let before = entry.dispatcher.replayCursor
            effects = entry.dispatcher.receive(parked: page.entries)
            progressed = entry.dispatcher.replayCursor > before
        }
        hosted[key] = entry
        perform(effects, key: key, generation: generation)
        // A read that found nothing new is not repeated until the next tick or apply.
        if progressed { feed(key) }
    }

    private func perform(_ effects: [PersistentSubscriptionDispatcher.Effect], key: PersistentGroupKey, generation: UInt64) {
        for effect in effects {
            switch effect {
            case .deliver(let delivery):
                metrics.groupDeliveries.increment()
                guard let continuation = hosted[key]?.consumers[delivery.consumer] else { continue }
                hosted[key]!.lastSent[delivery.consumer] = .now
                continuation.yield(
                    .delivery(GroupDelivery(id: DeliveryID(delivery.key), event: delivery.event, retryCount: delivery.retryCount)))
            case .propose(let operation):
                Task { [proposer] in
                    let outcome = try? await proposer.propose(operation)
                    self.applied(outcome, of: operation, key: key, generation: generation)
                }
            }
        }
    }

    /// Feeds a proposal's fate back to its dispatcher. A proposal that failed
    /// (not applied, or its outcome unknown) is reported as refused, which puts
    /// a park back in circulation: the event is delivered again rather than
    /// lost (at least once).
    private func applied(
        _ outcome: (result: EventStoreResult, index: LogIndex, appliedIndex: LogIndex)?, of operation: EventStoreOperation,
        key: PersistentGroupKey, generation: UInt64
    ) {
        guard hosted[key]?.generation == generation else { return }
        let result = outcome?.result ?? .malformedCommand("the proposal was not applied")
        if case .eventParked = result { metrics.groupEventsParked.increment() }
        if let outcome, outcome.appliedIndex > appliedIndex { appliedIndex = outcome.appliedIndex }
        let effects = hosted[key]!.dispatcher.apply(result, of: operation)
        perform(effects, key: key, generation: generation)
    }
}

extension EventStoreOperation {
    /// The group a group command is about.
    var groupKey: PersistentGroupKey? {
        switch self {
        case .createGroup(let key, _, _, _), .deleteGroup(let key), .advanceCheckpoint(let key, _), .parkEvent(let key, _, _),
            .replayParked(let key), .advanceReplay(let key, _):
            key
        default: nil
        }
    }
}
