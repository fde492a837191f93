import ChorusAPI
import CoreMetrics

/// How long key-value reads take at each level, as the service serves them
/// (so HTTP and RESP count alike): `chorus_kv_read_duration_seconds` with a
/// `consistency` label, whose `_count` and `_sum` give each level's rate and
/// mean latency (what the dashboard shows side by side). Made once per
/// service, one timer per level, so a read records without a lookup.
final class KeyValueReadMetrics: Sendable {
    private let timers: [ConsistencyLevel: Timer]

    init() {
        var timers: [ConsistencyLevel: Timer] = [:]
        for level in ConsistencyLevel.allCases {
            timers[level] = Timer(label: "chorus_kv_read_duration_seconds", dimensions: [("consistency", level.rawValue)])
        }
        self.timers = timers
    }

    func record(_ level: ConsistencyLevel, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        timers[level]?.recordNanoseconds(nanoseconds)
    }
}
