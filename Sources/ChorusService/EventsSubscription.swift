import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusReplica
import CoreMetrics

/// What a catch-up subscription yields, in order.
public enum SubscriptionMessage: Sendable, Hashable {
    /// The next event after the cursor.
    case event(RecordedEvent)
    /// Every event that existed when it was read is delivered: what follows is
    /// live. Sent once history is read, and again after a fall-behind.
    case caughtUp(SubscriptionCursor)
    /// The subscriber is more than one batch behind the head: it reads history
    /// again from its own cursor (never from a buffer) until it catches up.
    case fellBehind(SubscriptionCursor)
    /// Everything up to the cursor was delivered: a subscriber that stores it
    /// resumes from it without a gap or a duplicate. For filtered `$all` it moves
    /// past events the filter skipped.
    case checkpoint(SubscriptionCursor)
    /// Nothing was sent for a heartbeat interval; the subscription is alive.
    case heartbeat
}

/// A catch-up subscription as an `AsyncSequence` (KurrentDB's catch-up
/// subscriptions): history in batches from the cursor, a `caughtUp` marker,
/// then live events, with periodic checkpoints and heartbeats. Its iterator
/// throws a `ServiceError` (`stream_deleted` when the stream is tombstoned,
/// or the node's refusal of a read).
///
/// **No gap, no duplicate.** Every read asks the store for the batch after
/// the subscription's own cursor (`EventStoreQuery.subscriptionBatch`), and
/// the cursor is a global position that only ascends, so successive batches
/// neither repeat nor skip an event, whether they are history or live.
///
/// **Live without polling.** Once caught up, the next read waits for the
/// replica's applied index to pass the one it last saw
/// (`ReadRequirement.appliedAtLeast(last + 1)`); the replica answers as soon
/// as anything is applied, or with `not_caught_up` after its catch-up wait
/// (about a second), which only means nothing new: the iterator waits again,
/// sending a heartbeat when one is due.
///
/// **Slow consumers.** The iterator is pulled: it holds at most one batch
/// (`subscriptionBatchSize` events) and reads the next only when the consumer
/// asks, so a slow consumer costs no memory on the node and is never
/// dropped; if it falls more than a batch behind, it is told (`fellBehind`)
/// and simply reads history again from its cursor.
///
///     start ─read─▶ catching up ──batch isCaughtUp──▶ caughtUp ─▶ live ─wait for apply─▶ live
///                       ▲                                               │
///                       └──────────────── fellBehind (> one batch new) ─┘
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = SubscriptionMessage

    public let source: SubscriptionSource
    /// Where it starts (exclusive).
    public let start: SubscriptionCursor
    let firstRequirement: ReadRequirement
    /// The applied index its start was resolved at (zero if no read was needed).
    public let appliedIndex: LogIndex
    let proposer: EventStoreProposer
    let options: EventServiceOptions
    let metrics: EventStoreMetrics

    public func makeAsyncIterator() -> Iterator {
        Iterator(subscription: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let subscription: EventSubscription
        let phase: PhaseTracker
        var cursor: SubscriptionCursor
        var lastApplied: LogIndex
        var isFirstRead = true
        var outbox: [SubscriptionMessage] = []
        var outboxIndex = 0
        var ending: ServiceError?
        var finished = false
        var lastCheckpoint: SubscriptionCursor
        var eventsSinceCheckpoint = 0
        var lastCheckpointTime = ContinuousClock.now
        var lastSentTime = ContinuousClock.now

        init(subscription: EventSubscription) {
            self.subscription = subscription
            self.phase = PhaseTracker(metrics: subscription.metrics)
            self.cursor = subscription.start
            self.lastApplied = subscription.appliedIndex
            self.lastCheckpoint = subscription.start
        }

        public mutating func next() async throws -> SubscriptionMessage? {
            guard try await ready() else { return nil }
            let message = outbox[outboxIndex]
            outboxIndex += 1
            return message
        }

        /// Every message ready now (at most one batch of events with its
        /// markers), or nil at the end: for front ends that write a batch at once.
        public mutating func nextMessages() async throws -> ArraySlice<SubscriptionMessage>? {
            guard try await ready() else { return nil }
            let messages = outbox[outboxIndex...]
            outboxIndex = outbox.count
            return messages
        }

        /// Fills the outbox if it is empty; false at the end of the subscription.
        private mutating func ready() async throws -> Bool {
            while true {
                if outboxIndex < outbox.count {
                    lastSentTime = .now
                    return true
                }
                outbox.removeAll(keepingCapacity: true)
                outboxIndex = 0
                if let ending {
                    self.ending = nil
                    finish()
                    throw ending
                }
                if finished || Task.isCancelled {
                    finish()
                    return false
                }
                do {
                    try await fill()
                } catch {
                    finish()
                    throw error
                }
            }
        }

        private mutating func finish() {
            finished = true
            phase.end()
        }

        /// Reads the next batch into the outbox (or waits for one, when live).
        private mutating func fill() async throws(ServiceError) {
            let options = subscription.options
            let requirement: ReadRequirement
            if isFirstRead {
                requirement = subscription.firstRequirement
            } else if phase.current == .live {
                requirement = .appliedAtLeast(LogIndex(lastApplied.rawValue + 1))
            } else {
                requirement = .appliedAtLeast(lastApplied)
            }
            let query = EventStoreQuery.subscriptionBatch(
                source: subscription.source, after: cursor, maximumCount: options.subscriptionBatchSize)
            let answer: EventStoreQueryResult
            do {
                let read = try await subscription.proposer.read(query, requirement: requirement)
                answer = read.answer
                if read.appliedIndex > lastApplied { lastApplied = read.appliedIndex }
            } catch where error.code == .notCaughtUp && phase.current == .live {
                // Nothing applied during the replica's catch-up wait: nothing new.
                noteIdle()
                return
            }
            isFirstRead = false
            guard case .subscriptionBatch(let result) = answer else {
                throw ChorusService.misanswered("a subscription batch")
            }
            switch result {
            case .streamDeleted(let stream):
                ending = ServiceError(refusal: .streamDeleted(stream))
            case .invalid(let problem):
                throw ServiceError(.invalidFilter, problem)
            case .batch(let batch):
                take(batch)
            }
        }

        private mutating func take(_ batch: SubscriptionBatch) {
            let options = subscription.options
            let next = cursor.nextPositionValue
            subscription.metrics.subscriptionLag.record(
                batch.headPosition.rawValue > next ? Int64(clamping: batch.headPosition.rawValue - next) : 0)
            if phase.current == .live && !batch.isCaughtUp {
                phase.move(to: .catchingUp)
                outbox.append(.fellBehind(cursor))
            }
            for event in batch.events { outbox.append(.event(event)) }
            eventsSinceCheckpoint += batch.events.count
            cursor = batch.cursor
            if batch.isCaughtUp && phase.current != .live {
                phase.move(to: .live)
                outbox.append(.caughtUp(cursor))
                markCheckpoint()
                return
            }
            let dueByCount = eventsSinceCheckpoint >= options.subscriptionCheckpointAfterEvents
            let dueByTime = ContinuousClock.now - lastCheckpointTime
                >= .milliseconds(options.subscriptionCheckpointIntervalMilliseconds)
            if cursor != lastCheckpoint && (dueByCount || dueByTime) {
                outbox.append(.checkpoint(cursor))
                markCheckpoint()
            } else if outbox.isEmpty {
                noteIdle()
            }
        }

        /// Nothing to send: a checkpoint if the cursor moved (filtered `$all`
        /// skipping events) and one is due, else a heartbeat if one is due.
        private mutating func noteIdle() {
            let options = subscription.options
            let now = ContinuousClock.now
            if cursor != lastCheckpoint && now - lastCheckpointTime >= .milliseconds(options.subscriptionCheckpointIntervalMilliseconds) {
                outbox.append(.checkpoint(cursor))
                markCheckpoint()
            } else if now - lastSentTime >= .milliseconds(options.subscriptionHeartbeatIntervalMilliseconds) {
                outbox.append(.heartbeat)
            }
        }

        private mutating func markCheckpoint() {
            lastCheckpoint = cursor
            eventsSinceCheckpoint = 0
            lastCheckpointTime = .now
        }
    }

    /// The subscription's phase, counted in the live / catching-up gauges for
    /// as long as it exists (a reference, so the count ends when the last copy
    /// of the iterator goes away, however the consumer stops).
    final class PhaseTracker: @unchecked Sendable {
        // @unchecked: an iterator is used by one task at a time (AsyncIteratorProtocol's
        // contract), and only through it is `current` read or written.
        let metrics: EventStoreMetrics
        private(set) var current: EventStoreMetrics.SubscriptionPhase?

        init(metrics: EventStoreMetrics) {
            self.metrics = metrics
            current = .catchingUp
            metrics.subscription(from: nil, to: .catchingUp)
        }

        func move(to phase: EventStoreMetrics.SubscriptionPhase) {
            guard let previous = current, previous != phase else { return }
            metrics.subscription(from: previous, to: phase)
            current = phase
        }

        func end() {
            guard let previous = current else { return }
            metrics.subscription(from: previous, to: nil)
            current = nil
        }

        deinit { end() }
    }
}

extension SubscriptionCursor {
    /// The first position the cursor has not passed.
    var nextPositionValue: UInt64 {
        switch self {
        case .start: 0
        case .after(let position): position.rawValue == .max ? .max : position.rawValue + 1
        }
    }
}
