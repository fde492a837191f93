import ChorusReplication
import CoreMetrics
import Metrics

/// `chorus_leaderless_*`: the core's counters and gauges, exported every
/// `gaugeIntervalTicks` (the core counts; each export adds what its totals
/// grew by since the last one), and the runtime's own counters.
struct LeaderlessMetrics: Sendable {
    let messagesSent = Counter(label: "chorus_leaderless_messages_sent_total")
    let messagesReceived = Counter(label: "chorus_leaderless_messages_received_total")
    let snapshots = Counter(label: "chorus_leaderless_snapshots_total")
    let writesSucceeded = Counter(label: "chorus_leaderless_writes_total", dimensions: [("outcome", "succeeded")])
    let writesFailed = Counter(label: "chorus_leaderless_writes_total", dimensions: [("outcome", "failed")])
    let readsSucceeded = Counter(label: "chorus_leaderless_reads_total", dimensions: [("outcome", "succeeded")])
    let readsFailed = Counter(label: "chorus_leaderless_reads_total", dimensions: [("outcome", "failed")])
    let hintsStored = Counter(label: "chorus_leaderless_hints_stored_total")
    let hintsDelivered = Counter(label: "chorus_leaderless_hints_delivered_total")
    let hintsDropped = Counter(label: "chorus_leaderless_hints_dropped_total")
    let readRepairs = Counter(label: "chorus_leaderless_read_repairs_total")
    let keysRepaired = Counter(label: "chorus_leaderless_anti_entropy_keys_repaired_total")
    let exchanges = Counter(label: "chorus_leaderless_anti_entropy_exchanges_total")
    let exchangeBytesSent = Counter(label: "chorus_leaderless_anti_entropy_bytes_sent_total")
    let siblingWarnings = Counter(label: "chorus_leaderless_sibling_warnings_total")
    let hintsPending = Gauge(label: "chorus_leaderless_hints_pending")
    let exchangeSeconds = Gauge(label: "chorus_leaderless_anti_entropy_last_exchange_seconds")
    let keys = Gauge(label: "chorus_leaderless_keys")
    let membersAlive = Gauge(label: "chorus_leaderless_members_alive")

    /// Adds the growth of the core's totals since `previous`, records its gauges.
    func export(_ core: ReplicationMetrics, since previous: ReplicationMetrics, keys keyCount: Int, membersAlive alive: Int, tickSeconds: Double) {
        func add(_ counter: Counter, _ value: KeyPath<ReplicationMetrics, Int>) {
            let grown = core[keyPath: value] - previous[keyPath: value]
            if grown > 0 { counter.increment(by: Int64(grown)) }
        }
        add(writesSucceeded, \.writesSucceeded)
        add(writesFailed, \.writesFailed)
        add(readsSucceeded, \.readsSucceeded)
        add(readsFailed, \.readsFailed)
        add(hintsStored, \.hintsStored)
        add(hintsDelivered, \.hintsDelivered)
        add(hintsDropped, \.hintsDropped)
        add(readRepairs, \.readRepairsSent)
        add(keysRepaired, \.antiEntropyKeysRepaired)
        add(exchanges, \.antiEntropyExchangesStarted)
        add(exchangeBytesSent, \.antiEntropyBytesSent)
        add(siblingWarnings, \.siblingWarnings)
        hintsPending.record(core.hintsPending)
        exchangeSeconds.record(Double(core.antiEntropyLastExchangeTicks) * tickSeconds)
        keys.record(keyCount)
        membersAlive.record(alive)
    }
}
