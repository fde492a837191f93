import CoreMetrics
import Synchronization

/// The event store's metrics (swift-metrics, exported as Prometheus by the
/// executable, like `NodeMetrics`): `_total` counters, histograms for sizes
/// and lags. Cardinality is bounded: no label carries a stream, group or
/// subscription name; per-subscription lag is one histogram over all of them.
final class EventStoreMetrics: Sendable {
    /// Appends (single- and multi-stream) the store answered, whatever the outcome.
    let appends: Counter
    /// Events written (exact retries write none).
    let eventsAppended: Counter
    /// Events per append request.
    let appendBatchSize: Recorder
    /// Appends recognised as exact retries: answered with the original outcome, nothing written.
    let idempotentHits: Counter
    /// Appends and deletes refused with `wrong_expected_version`.
    let versionConflicts: Counter
    /// Catch-up subscriptions now within one batch of the head …
    let subscriptionsLive: Gauge
    /// … and now reading history.
    let subscriptionsCatchingUp: Gauge
    /// Per subscription read: global positions between its cursor and the head.
    let subscriptionLag: Recorder
    /// Consumers connected to persistent groups on this node.
    let groupConsumers: Gauge
    let groupDeliveries: Counter
    let groupEventsParked: Counter
    /// `advanceClock` commands the idle clock proposed.
    let clockAdvances: Counter

    private let liveCount = Atomic<Int>(0)
    private let catchingUpCount = Atomic<Int>(0)
    private let consumerCount = Atomic<Int>(0)

    init(factory: (any MetricsFactory)?) {
        func counter(_ label: String) -> Counter {
            factory.map { Counter(label: label, factory: $0) } ?? Counter(label: label)
        }
        func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> Gauge {
            factory.map { Gauge(label: label, dimensions: dimensions, factory: $0) } ?? Gauge(label: label, dimensions: dimensions)
        }
        func histogram(_ label: String) -> Recorder {
            factory.map { Recorder(label: label, aggregate: true, factory: $0) } ?? Recorder(label: label, aggregate: true)
        }
        appends = counter("chorus_event_appends_total")
        eventsAppended = counter("chorus_events_appended_total")
        appendBatchSize = histogram("chorus_event_append_batch_size")
        idempotentHits = counter("chorus_event_idempotent_hits_total")
        versionConflicts = counter("chorus_event_version_conflicts_total")
        subscriptionsLive = gauge("chorus_event_subscriptions", [("state", "live")])
        subscriptionsCatchingUp = gauge("chorus_event_subscriptions", [("state", "catching_up")])
        subscriptionLag = histogram("chorus_event_subscription_lag_events")
        groupConsumers = gauge("chorus_event_group_consumers")
        groupDeliveries = counter("chorus_event_group_deliveries_total")
        groupEventsParked = counter("chorus_event_group_events_parked_total")
        clockAdvances = counter("chorus_event_clock_advances_total")
    }

    enum SubscriptionPhase { case catchingUp, live }

    /// A subscription entered `phase` (nil: it ended), having been in `previous` (nil: it began).
    func subscription(from previous: SubscriptionPhase?, to phase: SubscriptionPhase?) {
        switch previous {
        case .catchingUp: subscriptionsCatchingUp.record(catchingUpCount.subtract(1, ordering: .relaxed).newValue)
        case .live: subscriptionsLive.record(liveCount.subtract(1, ordering: .relaxed).newValue)
        case nil: break
        }
        switch phase {
        case .catchingUp: subscriptionsCatchingUp.record(catchingUpCount.add(1, ordering: .relaxed).newValue)
        case .live: subscriptionsLive.record(liveCount.add(1, ordering: .relaxed).newValue)
        case nil: break
        }
    }

    func consumers(changedBy delta: Int) {
        groupConsumers.record(consumerCount.add(delta, ordering: .relaxed).newValue)
    }

    /// Live and catching-up subscriptions now (for tests and the dashboard).
    var subscriptionCounts: (live: Int, catchingUp: Int) {
        (liveCount.load(ordering: .relaxed), catchingUpCount.load(ordering: .relaxed))
    }
}
