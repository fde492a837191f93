import ChorusReplication

/// The leaderless runtime's timing and limits on real processes, in one
/// place. The core counts ticks; these choose how long a tick is and how
/// many make each interval. The core's defaults suit the simulator's
/// network; real processes on a loaded machine need longer timeouts, or a
/// busy peer is suspected and routed around (sloppy quorum) while it works.
public struct LeaderlessSettings: Sendable, Hashable {
    /// One core tick.
    public var tickMilliseconds = 10
    /// A request not answered in this many ticks fails (2 s).
    public var requestTimeoutTicks: UInt64 = 200
    /// Anti-entropy exchanges start every this many ticks (1 s).
    public var antiEntropyIntervalTicks: UInt64 = 100
    /// Hints are offered to reachable owners every this many ticks.
    public var hintDeliveryIntervalTicks: UInt64 = 10
    /// Hints older than this are dropped (anti-entropy repairs what they held): 15 minutes.
    public var maximumHintAgeTicks: UInt64 = 90_000
    /// SWIM: a probe every 200 ms, 100 ms to answer, suspected for 1 s before declared dead.
    public var swim: SwimConfiguration = {
        var swim = SwimConfiguration()
        swim.protocolPeriodTicks = 20
        swim.pingTimeoutTicks = 10
        swim.suspicionTimeoutTicks = 100
        return swim
    }()
    /// The log is compacted (snapshot, then released segments) after this many records.
    public var compactionThresholdRecords = 200_000
    /// Gauges (hints pending, members alive …) are exported every this many ticks.
    public var gaugeIntervalTicks: UInt64 = 50

    public init() {}

    func apply(to configuration: inout ReplicationConfiguration) {
        configuration.requestTimeoutTicks = requestTimeoutTicks
        configuration.antiEntropyIntervalTicks = antiEntropyIntervalTicks
        configuration.hintDeliveryIntervalTicks = hintDeliveryIntervalTicks
        configuration.maximumHintAgeTicks = maximumHintAgeTicks
    }
}
