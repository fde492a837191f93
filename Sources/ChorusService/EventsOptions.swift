import ChorusEventStore
import CoreMetrics

/// The event-store part of the service layer's settings: the store's limits
/// (which the node's machine uses too), the clock it stamps commands with,
/// and the pacing of its long-running parts. Every interval and size is
/// named here and checked by `problems`.
public struct EventServiceOptions: Sendable {
    /// The limits of the node's event store (the node builds its machine with the defaults).
    public var limits: EventStoreLimits = .default
    public var wallClock: WallClock = .system
    /// The idle clock proposes `advanceClock` when no event-store command was
    /// proposed on this (leading) node for this long.
    public var idleClockIntervalMilliseconds: Int = 1_000
    /// One tick of the persistent-group dispatchers: ack timeouts and
    /// checkpoint intervals are counted in these (`messageTimeoutTicks`).
    public var groupTickMilliseconds: Int = 100
    /// The groups are re-read from the replicated state this often, to see
    /// groups created, deleted or replayed through another path.
    public var groupReconcileMilliseconds: Int = 1_000
    /// Events one catch-up read fetches; a subscriber is "live" while it is
    /// less than one batch behind the head.
    public var subscriptionBatchSize: Int = 512
    /// A subscription emits a checkpoint after this many events …
    public var subscriptionCheckpointAfterEvents: Int = 1_024
    /// … or this long after its previous checkpoint, when its cursor moved.
    public var subscriptionCheckpointIntervalMilliseconds: Int = 1_000
    /// An idle subscription emits a heartbeat this often.
    public var subscriptionHeartbeatIntervalMilliseconds: Int = 5_000
    /// Where metrics go; nil is swift-metrics' global factory (the executable bootstraps it).
    public var metricsFactory: (any MetricsFactory)?

    public init() {}

    /// What breaks the settings' relations; empty when sound.
    public var problems: [String] {
        var problems = limits.problems
        func positive(_ name: String, _ value: Int) { if value <= 0 { problems.append("\(name) must be positive (is \(value))") } }
        positive("idleClockIntervalMilliseconds", idleClockIntervalMilliseconds)
        positive("groupTickMilliseconds", groupTickMilliseconds)
        positive("groupReconcileMilliseconds", groupReconcileMilliseconds)
        positive("subscriptionBatchSize", subscriptionBatchSize)
        positive("subscriptionCheckpointAfterEvents", subscriptionCheckpointAfterEvents)
        positive("subscriptionCheckpointIntervalMilliseconds", subscriptionCheckpointIntervalMilliseconds)
        positive("subscriptionHeartbeatIntervalMilliseconds", subscriptionHeartbeatIntervalMilliseconds)
        if subscriptionBatchSize > limits.maximumReadCount {
            problems.append("subscriptionBatchSize (\(subscriptionBatchSize)) exceeds the store's maximumReadCount (\(limits.maximumReadCount))")
        }
        if groupReconcileMilliseconds < groupTickMilliseconds {
            problems.append("groupReconcileMilliseconds must be at least one group tick")
        }
        return problems
    }
}
