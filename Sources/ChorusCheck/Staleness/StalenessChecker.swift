/// How stale one read was.
public struct ReadStaleness: Hashable, Sendable {
    /// The read (an id in the history).
    public var operationID: Int
    /// How many writes of the key, acknowledged before the read was invoked,
    /// are ordered after what it returned.
    public var versionsBehind: Int
    /// How long before the read was invoked its value had been superseded:
    /// from the first acknowledgement of a newer write (among those
    /// acknowledged before the read began) to the read's invocation. Zero
    /// when nothing newer was acknowledged; nil when the history has no times.
    public var lagMilliseconds: Double?
    /// The newer write whose acknowledgement started the lag.
    public var supersededBy: Int?
}

/// Measures and checks bounded staleness on a key-value history.
///
/// Both measures are lower bounds on the true staleness, so a violation is
/// definite: a write acknowledged before the read began had certainly been
/// applied by then, and the lag is counted from the acknowledgement, which
/// comes after the write took effect. Writes that were never acknowledged do
/// not count. Indeterminate reads are not measured. The time bound allows
/// `clockDriftMilliseconds` on top of T because the times come from the
/// recorders' clocks, which may disagree; a lag that comes out negative from
/// such disagreement counts as 0.
///
/// Runs in O(n log n): the events in real-time order, and per key two
/// Fenwick trees over the write order, one counting acknowledged writes and
/// one keeping the earliest acknowledgement, each queried for the writes
/// ordered after the version a read returned.
public enum StalenessChecker {
    /// Every usable read's staleness, in history order.
    public static func measure(_ history: KeyValueHistory, options: StalenessOptions = StalenessOptions()) throws(HistoryError) -> [ReadStaleness] {
        try measure(WriteOrderResolution(history), options: options)
    }

    /// Checks the bounds in `options` (none given: measures only). The
    /// statistics hold the distribution, and with `perRead` every read's
    /// staleness as `[operation id, versions behind, lag in ms or null]`.
    public static func check(_ history: KeyValueHistory, options: StalenessOptions, perRead: Bool = false) throws(HistoryError) -> PropertyCheckResult {
        let start = ContinuousClock.now
        let resolution = try WriteOrderResolution(history)
        let measured = measure(resolution, options: options)
        var properties: [PropertyResult] = []
        if let bound = options.maximumVersions {
            properties.append(versionBound(bound, measured, resolution))
        }
        if let bound = options.maximumLagMilliseconds {
            properties.append(timeBound(bound, options: options, measured, resolution))
        }
        properties.append(resolution.integrity.result)
        var figures = statistics(measured, options: options)
        if perRead, case .map(var entries) = figures {
            let reads = measured.map { read in
                HistoryValue.list([
                    .integer(Int64(read.operationID)), .integer(Int64(read.versionsBehind)),
                    read.lagMilliseconds.map { .float($0) } ?? .null,
                ])
            }
            entries.append(.init(key: "perRead", value: .list(reads)))
            figures = .map(entries)
        }
        return PropertyCheckResult(
            checker: "staleness", properties: properties, statistics: figures, duration: ContinuousClock.now - start)
    }

    static func measure(_ resolution: WriteOrderResolution, options: StalenessOptions) -> [ReadStaleness] {
        let operations = resolution.history.operations
        // Per key, the orders of its acknowledged writes, sorted: the trees' index space.
        var acknowledgedOrders = [[Int64]](repeating: [], count: resolution.keys.count)
        var events: [(instant: Int, isRead: Bool, id: Int)] = []
        for operation in operations {
            if operation.isWrite, operation.outcome == .ok, let order = resolution.order[operation.id],
                let completedAt = operation.completedAt
            {
                acknowledgedOrders[resolution.keyIndex[operation.id]].append(order)
                events.append((completedAt, false, operation.id))
            } else if operation.function == .read, resolution.isUsableRead[operation.id] {
                events.append((operation.invokedAt, true, operation.id))
            }
        }
        for key in acknowledgedOrders.indices { acknowledgedOrders[key].sort() }
        // Reads first at one instant: equal instants are concurrent.
        events.sort { ($0.instant, $0.isRead ? 0 : 1, $0.id) < ($1.instant, $1.isRead ? 0 : 1, $1.id) }
        var counts = acknowledgedOrders.map { SuffixCountTree(size: $0.count) }
        var earliest = acknowledgedOrders.map { SuffixEarliestTree(size: $0.count) }
        var results: [ReadStaleness] = []
        for event in events {
            let operation = operations[event.id]
            let key = resolution.keyIndex[event.id]
            let orders = acknowledgedOrders[key]
            if !event.isRead {
                let rank = firstIndex(in: orders, after: resolution.knownOrder(event.id) - 1)
                counts[key].add(at: rank)
                earliest[key].offer(at: rank, time: operation.completeTime, id: event.id)
                continue
            }
            let newer = firstIndex(in: orders, after: resolution.observedOrder[event.id])
            let behind = counts[key].count(from: newer)
            var lag: Double? = 0
            var supersededBy: Int?
            if behind > 0 {
                let first = earliest[key].earliest(from: newer)
                supersededBy = first.id
                if let time = first.time, let readTime = operation.invokeTime {
                    lag = max(0, (Double(readTime) - Double(time)) / options.timeUnitsPerMillisecond)
                } else {
                    lag = nil
                }
            }
            results.append(ReadStaleness(operationID: event.id, versionsBehind: behind, lagMilliseconds: lag, supersededBy: supersededBy))
        }
        results.sort { $0.operationID < $1.operationID }
        return results
    }

    /// The index of the first element of `sorted` greater than `value`.
    private static func firstIndex(in sorted: [Int64], after value: Int64) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func describe(_ operation: KeyValueOperation) -> String { "\(operation.phrase) (\(operation.location))" }

    private static func versionBound(_ bound: Int, _ measured: [ReadStaleness], _ resolution: WriteOrderResolution) -> PropertyResult {
        var tally = PropertyTally("max-versions")
        tally.note = "K = \(bound)"
        let operations = resolution.history.operations
        for read in measured where read.versionsBehind > bound {
            guard tally.wantsExample else {
                tally.count()
                continue
            }
            let operation = operations[read.operationID]
            let key = resolution.keyIndex[read.operationID]
            // The K + 1 oldest of the newer acknowledged writes show it.
            let newer = resolution.writesByKey[key].filter { id in
                let write = operations[id]
                return write.outcome == .ok && (write.completedAt ?? Int.max) < operation.invokedAt
                    && resolution.knownOrder(id) > resolution.observedOrder[read.operationID]
            }
            let shown = Array(newer.prefix(bound + 1))
            let writes = read.versionsBehind == 1 ? "1 newer write of the key had" : "\(read.versionsBehind) newer writes of the key had"
            let explanation = "\(describe(operation)), but \(writes) been acknowledged before it began; the bound is \(bound)"
                + (shown.count < read.versionsBehind ? " (the oldest \(shown.count) shown)" : "")
            tally.record(PropertyViolation(operationIDs: shown + [read.operationID], explanation: explanation))
        }
        return tally.result
    }

    private static func timeBound(
        _ bound: Double, options: StalenessOptions, _ measured: [ReadStaleness], _ resolution: WriteOrderResolution
    ) -> PropertyResult {
        var tally = PropertyTally("max-lag")
        let limit = bound + options.clockDriftMilliseconds
        tally.note = "T = \(bound) ms, drift D = \(options.clockDriftMilliseconds) ms"
        let operations = resolution.history.operations
        var unmeasured = 0
        for read in measured {
            guard let lag = read.lagMilliseconds else {
                unmeasured += 1
                continue
            }
            guard lag > limit, let write = read.supersededBy else { continue }
            let explanation = "\(describe(operations[read.operationID])), but \(describe(operations[write])) "
                + "had been acknowledged \(format(lag)) ms before the read began; the bound is T + D = \(format(limit)) ms"
            tally.record(PropertyViolation(operationIDs: [write, read.operationID], explanation: explanation))
        }
        if unmeasured > 0 {
            tally.unknown = true
            tally.note = (tally.note ?? "") + "; \(unmeasured) stale reads have no time on the read or on the newer write"
        }
        return tally.result
    }

    static func format(_ milliseconds: Double) -> String {
        let rounded = (milliseconds * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
    }

    /// The distribution the consistency lab plots: per-read staleness in
    /// versions (exact counts) and milliseconds (percentiles and buckets).
    static func statistics(_ measured: [ReadStaleness], options: StalenessOptions) -> HistoryValue {
        var versionCounts: [Int: Int] = [:]
        var lags: [Double] = []
        for read in measured {
            versionCounts[read.versionsBehind, default: 0] += 1
            if let lag = read.lagMilliseconds { lags.append(lag) }
        }
        let versions = versionCounts.keys.sorted().map { HistoryValue.list([.integer(Int64($0)), .integer(Int64(versionCounts[$0]!))]) }
        let sortedVersions = measured.map(\.versionsBehind).sorted()
        lags.sort()
        func entry(_ name: String, _ value: HistoryValue) -> HistoryValue.MapEntry { .init(key: .string(name), value: value) }
        func percentiles<T>(_ sorted: [T], _ make: (T) -> HistoryValue) -> [HistoryValue.MapEntry] {
            guard !sorted.isEmpty else { return [] }
            func rank(_ fraction: Double) -> T {
                let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
                return sorted[min(max(index, 0), sorted.count - 1)]
            }
            return [
                entry("p50", make(rank(0.5))), entry("p90", make(rank(0.9))), entry("p99", make(rank(0.99))),
                entry("p999", make(rank(0.999))), entry("max", make(sorted[sorted.count - 1])),
            ]
        }
        let bucketBounds: [Double] = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
        var buckets = [Int](repeating: 0, count: bucketBounds.count + 1)
        for lag in lags {
            let index = bucketBounds.firstIndex { lag <= $0 } ?? bucketBounds.count
            buckets[index] += 1
        }
        var bucketList: [HistoryValue] = []
        for (index, count) in buckets.enumerated() where count > 0 {
            let label = index < bucketBounds.count ? "<=\(format(bucketBounds[index]))" : ">\(format(bucketBounds.last!))"
            bucketList.append(.list([.string(label), .integer(Int64(count))]))
        }
        let stale = measured.filter { $0.versionsBehind > 0 }.count
        return .map([
            entry("reads", .integer(Int64(measured.count))),
            entry("staleReads", .integer(Int64(stale))),
            entry("versions", .map(percentiles(sortedVersions) { .integer(Int64($0)) } + [entry("histogram", .list(versions))])),
            entry("milliseconds", .map(
                [entry("measured", .integer(Int64(lags.count)))]
                    + percentiles(lags) { .float($0) } + [entry("histogram", .list(bucketList))])),
        ])
    }
}
