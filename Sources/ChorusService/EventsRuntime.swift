import ChorusEventStore
import ChorusNode
import ServiceLifecycle

/// The event store's long-lived state in the service layer, shared by every
/// copy of a `ChorusService`: the proposer (clock stamps), the metrics, and
/// the two long-running parts a front end must run beside its server
/// (`services`, swift-service-lifecycle `Service`s; the HTTP application
/// adds them to its service group):
///
/// - `EventStoreIdleClock`: on the leader, proposes `advanceClock` when no
///   event-store command was proposed for a second, so `maximumAge` and the id
///   window keep ageing on an idle store;
/// - `PersistentGroupHost`: the leader's persistent-subscription dispatchers.
public final class EventStoreRuntime: Sendable {
    public let options: EventServiceOptions
    let proposer: EventStoreProposer
    let metrics: EventStoreMetrics
    public let groups: PersistentGroupHost
    public let idleClock: EventStoreIdleClock

    init(node: ChorusNode, options: EventServiceOptions) {
        precondition(options.problems.isEmpty, "event service options: \(options.problems.joined(separator: "; "))")
        self.options = options
        let proposer = EventStoreProposer(node: node, clock: options.wallClock, activity: ProposalActivity())
        let metrics = EventStoreMetrics(factory: options.metricsFactory)
        self.proposer = proposer
        self.metrics = metrics
        self.groups = PersistentGroupHost(node: node, proposer: proposer, options: options, metrics: metrics)
        self.idleClock = EventStoreIdleClock(node: node, proposer: proposer, options: options, metrics: metrics)
    }

    /// The long-running parts, to run for as long as the front end serves.
    public var services: [any Service] { [idleClock, groups] }

    /// Live and catching-up catch-up subscriptions on this node now.
    public var subscriptionCounts: (live: Int, catchingUp: Int) { metrics.subscriptionCounts }
}
