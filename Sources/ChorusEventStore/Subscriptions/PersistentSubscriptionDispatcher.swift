/// The leader-local half of a persistent subscription group (competing
/// consumers, KurrentDB's persistent subscriptions): which consumer holds
/// which event, ack timeouts, retries and parking. A sans-IO value type: the
/// node feeds it source batches and parked entries read from the applied
/// store, consumer requests and ticks; it returns effects — deliveries to
/// send, and commands to propose (`advanceCheckpoint`, `parkEvent`,
/// `advanceReplay`) — and learns their fate from the applied results.
///
///     store ──subscriptionBatch──▶ buffer ─┐
///     store ──readParked─────────▶ replay ─┼─▶ round-robin ─▶ in flight ─ack──▶ done ─▶ checkpoint proposal
///                        retries (nack, timeout, disconnect) ◀──────┘  └─ nack park / retries spent ─▶ park proposal
///
/// Guarantees (exactly):
/// - **At least once.** Every source event after the group's replicated
///   checkpoint is delivered until a consumer acknowledges or skips it, or it
///   is parked (its park command applied). An event is delivered again after
///   a nack with retry, an ack timeout, its consumer's disconnect, or a leader
///   change (the new leader's dispatcher resumes after the replicated
///   checkpoint, so events completed since the last applied checkpoint are
///   delivered again). An acknowledgement from any consumer completes an event
///   that is in flight or waiting for a retry.
/// - **Retries.** A failed event with `retryCount < maximumRetryCount` is
///   delivered again with `retryCount + 1`; otherwise it is parked. Retries go
///   before new events.
/// - **Order.** Events are taken from the source in `$all` order and handed
///   out round-robin to consumers with room (`maximumInFlightPerConsumer`), so each
///   consumer receives first deliveries in source order; a retried or replayed
///   event can arrive after later events, and nothing orders deliveries across
///   consumers.
/// - **Checkpoint.** The proposed checkpoint never passes an event that is not
///   done, so a restart never skips one; it is proposed after
///   `checkpointAfterEvents` completions or `checkpointIntervalTicks` ticks.
/// - **Parked events** are read back from the parked stream when a replay is
///   requested and delivered like retries (from `retryCount` 0); once done, the
///   replay bound advances and the parked stream is truncated.
/// - **Bounded.** At most `bufferSize` source events and `bufferSize` replayed
///   events are held, at most `maximumConsumerCount` consumers are connected.
public struct PersistentSubscriptionDispatcher: Sendable {
    public struct ConsumerID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
        public var rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public init(_ rawValue: UInt64) { self.rawValue = rawValue }
        public static func < (lhs: ConsumerID, rhs: ConsumerID) -> Bool { lhs.rawValue < rhs.rawValue }
        public var description: String { "consumer \(rawValue)" }
    }

    /// What a delivery is, for acknowledgements: a source event by position, or
    /// a replayed parked event by its parked-stream revision.
    public enum DeliveryKey: Hashable, Comparable, Sendable {
        case source(GlobalPosition)
        case parked(StreamRevision)

        public static func < (lhs: DeliveryKey, rhs: DeliveryKey) -> Bool {
            switch (lhs, rhs) {
            case (.source(let left), .source(let right)): left < right
            case (.parked(let left), .parked(let right)): left < right
            case (.source, .parked): true
            case (.parked, .source): false
            }
        }
    }

    public struct Delivery: Hashable, Sendable {
        public var key: DeliveryKey
        public var consumer: ConsumerID
        public var event: RecordedEvent
        /// 0 on the first delivery.
        public var retryCount: Int
    }

    public enum NegativeAcknowledgement: Hashable, Sendable {
        /// Deliver it again (subject to `maximumRetryCount`).
        case retry
        /// Park it at once.
        case park
        /// Give up on it: it counts as done.
        case skip
    }

    public enum Effect: Hashable, Sendable {
        case deliver(Delivery)
        /// A command to propose to the log (stamped with the leader's time).
        case propose(EventStoreOperation)
    }

    public enum ConnectResult: Hashable, Sendable {
        case connected([Effect])
        case alreadyConnected
        case refused(maximumConsumerCount: Int)
    }

    struct Pending: Hashable, Sendable {
        var key: DeliveryKey
        var event: RecordedEvent
        var retryCount: Int
    }

    struct InFlight: Hashable, Sendable {
        var pending: Pending
        var consumer: ConsumerID
        var serial: UInt64
    }

    struct Consumer: Hashable, Sendable {
        var id: ConsumerID
        var inFlight: Int
    }

    public let key: PersistentGroupKey
    public let source: SubscriptionSource
    public let settings: PersistentGroupSettings

    /// Ticks so far.
    public private(set) var now: UInt64 = 0
    /// Where the next source batch starts.
    public private(set) var sourceCursor: SubscriptionCursor
    /// The checkpoint last proposed (or replicated when this dispatcher started).
    public private(set) var proposedCheckpoint: SubscriptionCursor
    /// Source positions taken and not done, ascending.
    private var outstanding: [GlobalPosition] = []
    private var buffer = FirstInFirstOutQueue<Pending>()
    private var retries = FirstInFirstOutQueue<Pending>()
    private var replays = FirstInFirstOutQueue<Pending>()
    private var inFlight: [DeliveryKey: InFlight] = [:]
    /// Deadlines in delivery order (one timeout for all, so they ascend); an
    /// element is stale when its key's delivery serial moved on.
    private var deadlines = FirstInFirstOutQueue<Deadline>()
    /// Keys whose park was proposed and not yet applied, by event position.
    private var parking: [GlobalPosition: [DeliveryKey]] = [:]
    /// What each parking key was, to put it back in circulation if its park is refused.
    private var parkedPending: [DeliveryKey: Pending] = [:]
    private var consumers: [Consumer] = []
    private var nextConsumer = 0
    private var serial: UInt64 = 0
    private var completedSinceProposal = 0
    private var checkpointDueSince: UInt64?

    // Replay of parked events.
    private var replayRequestedThrough: StreamRevision
    /// The next parked revision to read.
    public private(set) var replayCursor: StreamRevision
    private var replayOutstanding: [StreamRevision] = []
    private var replayProposedThrough: StreamRevision

    struct Deadline: Hashable, Sendable {
        var tick: UInt64
        var key: DeliveryKey
        var serial: UInt64
    }

    /// A dispatcher that resumes `group` as the replicated state has it.
    public init(group: PersistentGroup) {
        key = group.key
        source = group.source
        settings = group.settings
        sourceCursor = group.checkpoint
        proposedCheckpoint = group.checkpoint
        replayRequestedThrough = group.replayRequestedThrough
        replayCursor = group.replayedThrough
        replayProposedThrough = group.replayedThrough
    }

    // MARK: Observation

    public var consumerIDs: [ConsumerID] { consumers.map(\.id) }
    public var inFlightCount: Int { inFlight.count }
    /// Source events taken and not done (buffered, in flight, waiting for a retry or a park).
    public var outstandingCount: Int { outstanding.count }
    public func inFlightKeys(of consumer: ConsumerID) -> [DeliveryKey] {
        inFlight.filter { $0.value.consumer == consumer }.keys.sorted()
    }

    /// The checkpoint the dispatcher could propose now: just before the oldest
    /// source event not done, or where the source has been read to.
    public var checkpointCandidate: SubscriptionCursor {
        guard let oldest = outstanding.first else { return sourceCursor }
        return oldest.rawValue == 0 ? .start : .after(GlobalPosition(oldest.rawValue - 1))
    }

    // MARK: Feeding

    /// How many source events to read next (after `sourceCursor`).
    public var wantedSourceEvents: Int { Swift.max(0, settings.bufferSize - outstanding.count) }

    /// Takes a batch read with `EventStore.subscriptionBatch(source:after: sourceCursor, …)`.
    /// A batch from an older cursor is accepted for its new part only.
    public mutating func receive(_ batch: SubscriptionBatch) -> [Effect] {
        guard batch.cursor > sourceCursor else { return [] }
        let threshold = sourceCursor.nextPosition
        for event in batch.events where event.position >= threshold {
            outstanding.append(event.position)
            buffer.append(Pending(key: .source(event.position), event: event, retryCount: 0))
        }
        sourceCursor = batch.cursor
        var effects: [Effect] = []
        noteCheckpointProgress(into: &effects)
        dispatch(into: &effects)
        return effects
    }

    /// The parked revisions to read next (`EventStore.readParked(key, from: replayCursor, maximumCount:)`), or 0.
    public var wantedParkedEvents: Int {
        guard replayCursor < replayRequestedThrough else { return 0 }
        let room = Swift.max(0, settings.bufferSize - replayOutstanding.count)
        return Swift.min(room, Int(clamping: replayRequestedThrough.rawValue - replayCursor.rawValue))
    }

    /// Takes parked entries read from `replayCursor`.
    public mutating func receive(parked entries: [ParkedEntry]) -> [Effect] {
        var effects: [Effect] = []
        for entry in entries where entry.parkedRevision >= replayCursor && entry.parkedRevision < replayRequestedThrough {
            replayCursor = StreamRevision(entry.parkedRevision.rawValue + 1)
            guard let event = entry.event else { continue }  // scavenged since: nothing left to deliver
            replayOutstanding.append(entry.parkedRevision)
            replays.append(Pending(key: .parked(entry.parkedRevision), event: event, retryCount: 0))
        }
        noteReplayProgress(into: &effects)
        dispatch(into: &effects)
        return effects
    }

    /// Learns the outcome of an applied command: parks, replay requests.
    /// Results that do not concern this group are ignored.
    public mutating func apply(_ result: EventStoreResult, of operation: EventStoreOperation) -> [Effect] {
        var effects: [Effect] = []
        switch (operation, result) {
        case (.parkEvent(let group, let position, _), _) where group == key:
            guard var keys = parking[position], !keys.isEmpty else { return [] }
            let parkedKey = keys.removeFirst()
            parking[position] = keys.isEmpty ? nil : keys
            switch result {
            case .eventParked, .eventNotFound:
                complete(parkedKey, into: &effects)
            default:
                // Not parked (the store is full): keep it in circulation.
                if let pending = parkedPending.removeValue(forKey: parkedKey) { retries.append(pending) }
            }
        case (_, .replayRequested(let group, let through)) where group == key:
            if through > replayRequestedThrough { replayRequestedThrough = through }
        default:
            break
        }
        dispatch(into: &effects)
        return effects
    }

    // MARK: Consumers

    public mutating func connect(_ consumer: ConsumerID) -> ConnectResult {
        if consumers.contains(where: { $0.id == consumer }) { return .alreadyConnected }
        guard consumers.count < settings.maximumConsumerCount else { return .refused(maximumConsumerCount: settings.maximumConsumerCount) }
        consumers.append(Consumer(id: consumer, inFlight: 0))
        var effects: [Effect] = []
        dispatch(into: &effects)
        return .connected(effects)
    }

    /// The consumer's events in flight go back for redelivery (first, in key
    /// order, with their retry counts unchanged).
    public mutating func disconnect(_ consumer: ConsumerID) -> [Effect] {
        guard let index = consumers.firstIndex(where: { $0.id == consumer }) else { return [] }
        consumers.remove(at: index)
        if nextConsumer > index { nextConsumer -= 1 }
        if nextConsumer >= consumers.count { nextConsumer = 0 }
        let held = inFlightKeys(of: consumer)
        retries.prepend(held.map { inFlight.removeValue(forKey: $0)!.pending })
        var effects: [Effect] = []
        dispatch(into: &effects)
        return effects
    }

    public mutating func acknowledge(_ keys: [DeliveryKey]) -> [Effect] {
        var effects: [Effect] = []
        for deliveryKey in keys {
            if let held = inFlight.removeValue(forKey: deliveryKey) {
                release(held.consumer)
                complete(deliveryKey, into: &effects)
            } else if retries.contents.contains(where: { $0.key == deliveryKey }) {
                retries.removeAll { $0.key == deliveryKey }
                complete(deliveryKey, into: &effects)
            }
        }
        dispatch(into: &effects)
        return effects
    }

    public mutating func negativeAcknowledge(_ keys: [DeliveryKey], action: NegativeAcknowledgement, reason: String)
        -> [Effect]
    {
        var effects: [Effect] = []
        for deliveryKey in keys {
            guard let held = inFlight.removeValue(forKey: deliveryKey) else { continue }
            release(held.consumer)
            switch action {
            case .retry: fail(held.pending, reason: reason, into: &effects)
            case .park: park(held.pending, reason: reason, into: &effects)
            case .skip: complete(deliveryKey, into: &effects)
            }
        }
        dispatch(into: &effects)
        return effects
    }

    /// One tick: expired deliveries fail (and are retried or parked), and a
    /// checkpoint that waited `checkpointIntervalTicks` is proposed.
    public mutating func tick() -> [Effect] {
        now += 1
        var effects: [Effect] = []
        while let deadline = deadlines.first, deadline.tick <= now {
            _ = deadlines.popFirst()
            guard let held = inFlight[deadline.key], held.serial == deadline.serial else { continue }
            inFlight.removeValue(forKey: deadline.key)
            release(held.consumer)
            fail(held.pending, reason: "no acknowledgement within \(settings.messageTimeoutTicks) ticks", into: &effects)
        }
        if let since = checkpointDueSince, now - since >= UInt64(settings.checkpointIntervalTicks) {
            proposeCheckpoint(into: &effects)
        }
        dispatch(into: &effects)
        return effects
    }

    // MARK: Internals

    private mutating func release(_ consumer: ConsumerID) {
        if let index = consumers.firstIndex(where: { $0.id == consumer }) { consumers[index].inFlight -= 1 }
    }

    private mutating func fail(_ pending: Pending, reason: String, into effects: inout [Effect]) {
        if pending.retryCount < settings.maximumRetryCount {
            var again = pending
            again.retryCount += 1
            retries.append(again)
        } else {
            park(pending, reason: "\(reason) (after \(pending.retryCount) retries)", into: &effects)
        }
    }

    private mutating func park(_ pending: Pending, reason: String, into effects: inout [Effect]) {
        parking[pending.event.position, default: []].append(pending.key)
        parkedPending[pending.key] = pending
        effects.append(.propose(.parkEvent(key: key, position: pending.event.position, reason: reason)))
    }

    private mutating func complete(_ deliveryKey: DeliveryKey, into effects: inout [Effect]) {
        parkedPending.removeValue(forKey: deliveryKey)
        switch deliveryKey {
        case .source(let position):
            guard let index = binarySearch(outstanding, position) else { return }
            outstanding.remove(at: index)
            completedSinceProposal += 1
            noteCheckpointProgress(into: &effects)
        case .parked(let revision):
            guard let index = binarySearch(replayOutstanding, revision) else { return }
            replayOutstanding.remove(at: index)
            noteReplayProgress(into: &effects)
        }
    }

    private mutating func noteCheckpointProgress(into effects: inout [Effect]) {
        guard checkpointCandidate > proposedCheckpoint else { return }
        if completedSinceProposal >= settings.checkpointAfterEvents {
            proposeCheckpoint(into: &effects)
        } else if checkpointDueSince == nil {
            checkpointDueSince = now
        }
    }

    private mutating func proposeCheckpoint(into effects: inout [Effect]) {
        checkpointDueSince = nil
        let candidate = checkpointCandidate
        guard candidate > proposedCheckpoint else { return }
        proposedCheckpoint = candidate
        completedSinceProposal = 0
        effects.append(.propose(.advanceCheckpoint(key: key, checkpoint: candidate)))
    }

    private mutating func noteReplayProgress(into effects: inout [Effect]) {
        let candidate = replayOutstanding.first ?? replayCursor
        guard candidate > replayProposedThrough else { return }
        replayProposedThrough = candidate
        effects.append(.propose(.advanceReplay(key: key, through: candidate)))
    }

    /// Hands queued events to consumers with room, round-robin: retries first,
    /// then replayed parked events, then new source events.
    private mutating func dispatch(into effects: inout [Effect]) {
        while !consumers.isEmpty, !(retries.isEmpty && replays.isEmpty && buffer.isEmpty) {
            var chosen: Int?
            for step in 0..<consumers.count {
                let index = (nextConsumer + step) % consumers.count
                if consumers[index].inFlight < settings.maximumInFlightPerConsumer {
                    chosen = index
                    break
                }
            }
            guard let chosen else { return }
            let pending = retries.popFirst() ?? replays.popFirst() ?? buffer.popFirst()!
            serial += 1
            let consumer = consumers[chosen].id
            consumers[chosen].inFlight += 1
            nextConsumer = (chosen + 1) % consumers.count
            inFlight[pending.key] = InFlight(pending: pending, consumer: consumer, serial: serial)
            deadlines.append(Deadline(tick: now + UInt64(settings.messageTimeoutTicks), key: pending.key, serial: serial))
            effects.append(
                .deliver(Delivery(key: pending.key, consumer: consumer, event: pending.event, retryCount: pending.retryCount)))
        }
    }

    private func binarySearch<Element: Comparable>(_ sorted: [Element], _ value: Element) -> Int? {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == value ? low : nil
    }
}
