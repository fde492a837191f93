import ChorusCheck
import ChorusCore

/// Builds key-value histories one operation at a time. Each operation gets
/// its own two instants, after everything before it, unless `at` places it;
/// times are milliseconds (`timeUnitsPerMillisecond: 1`).
struct KeyValueHistoryBuilder {
    var operations: [KeyValueOperation] = []
    var writeOrders: [WriteOrder] = []
    var clock = 0
    private var processes: [String: Int64] = [:]

    mutating func process(_ session: String) -> ProcessID {
        if let known = processes[session] { return ProcessID(known) }
        let number = Int64(processes.count)
        processes[session] = number
        return ProcessID(number)
    }

    /// Adds an operation spanning `from`…`to` (default: the next two instants).
    @discardableResult
    mutating func add(
        _ session: String, _ function: KeyValueFunction, _ key: String, _ value: HistoryValue = .null,
        version: Int64? = nil, outcome: Outcome = .ok, from: Int? = nil, to: Int? = nil,
        range: RangeReadResult? = nil, after: String? = nil
    ) -> Int {
        let start = from ?? clock
        let end: Int? = outcome == .pending ? nil : (to ?? start + 1)
        clock = max(clock, (end ?? start) + 1)
        let id = operations.count
        operations.append(
            KeyValueOperation(
                id: id, process: process(session), session: .string(session), function: function, key: .string(key),
                value: value, version: version, rangeStartAfter: after, range: range, outcome: outcome,
                invokedAt: start, completedAt: end, invokeTime: Int64(start), completeTime: end.map { Int64($0) }))
        return id
    }

    @discardableResult
    mutating func write(_ session: String, _ key: String, _ value: HistoryValue, v version: Int64? = nil, outcome: Outcome = .ok, from: Int? = nil, to: Int? = nil) -> Int {
        add(session, .write, key, value, version: version, outcome: outcome, from: from, to: to)
    }

    @discardableResult
    mutating func read(_ session: String, _ key: String, _ value: HistoryValue, v version: Int64? = nil, from: Int? = nil, to: Int? = nil) -> Int {
        add(session, .read, key, value, version: version, from: from, to: to)
    }

    @discardableResult
    mutating func delete(_ session: String, _ key: String, v version: Int64?, from: Int? = nil, to: Int? = nil) -> Int {
        add(session, .delete, key, version: version, from: from, to: to)
    }

    @discardableResult
    mutating func range(_ session: String, _ prefix: String, _ entries: [(String, Int64)], truncated: Bool = false, after: String? = nil) -> Int {
        add(session, .rangeRead, prefix, range: RangeReadResult(
            entries: entries.map { RangeEntry(key: $0.0, version: $0.1) }, truncated: truncated), after: after)
    }

    mutating func order(_ key: String, _ values: [HistoryValue]) {
        writeOrders.append(WriteOrder(key: .string(key), values: values))
    }

    func history() throws -> KeyValueHistory {
        try KeyValueHistory(operations: operations, writeOrders: writeOrders)
    }
}

/// The verdicts of a result by property name, for exact assertions.
func verdicts(_ result: PropertyCheckResult) -> [String: Verdict] {
    var verdicts: [String: Verdict] = [:]
    for property in result.properties { verdicts[property.name] = property.verdict }
    return verdicts
}

/// The names of the violated properties, in report order.
func violated(_ result: PropertyCheckResult) -> [String] {
    result.properties.filter { $0.verdict == .violated }.map(\.name)
}

/// A replicated key-value store for property tests: one log of writes
/// (version = log index, across keys), replicas that each hold a prefix of it
/// and catch up at random, and sessions that read either from a replica that
/// has caught up to their token (session consistency) or from any replica
/// (eventual). Sessions are sequential; times are instants.
struct ReplicatedStoreSimulation {
    var builder = KeyValueHistoryBuilder()
    private var log: [(key: String, value: HistoryValue)] = []
    private var applied: [Int]
    private var tokens: [String: Int] = [:]
    private var random: SeededGenerator

    init(seed: UInt64, replicas: Int) {
        random = SeededGenerator(seed: seed)
        applied = Array(repeating: 0, count: replicas)
    }

    private mutating func pick(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }

    /// The state of `key` at a log prefix: its latest write's value and version.
    private func state(_ key: String, at index: Int) -> (HistoryValue, Int64?) {
        var index = index
        while index > 0 {
            if log[index - 1].key == key { return (log[index - 1].value, Int64(index)) }
            index -= 1
        }
        return (.null, nil)
    }

    mutating func run(sessions: Int, keys: Int, operations: Int, sessionConsistent: Bool) {
        for step in 0..<operations {
            // Replicas catch up a little at a time; replica 0 is the leader.
            applied[0] = log.count
            let lagging = 1 + pick(applied.count - 1)
            applied[lagging] = min(log.count, applied[lagging] + pick(3))
            let session = "s\(pick(sessions))"
            let key = "k\(pick(keys))"
            let token = tokens[session] ?? 0
            if pick(3) == 0 {
                log.append((key, .string("\(session)-\(step)")))
                builder.write(session, key, .string("\(session)-\(step)"), v: Int64(log.count))
                tokens[session] = log.count
            } else {
                var replica = pick(applied.count)
                if sessionConsistent && applied[replica] < token { replica = 0 }
                let (value, version) = state(key, at: applied[replica])
                builder.read(session, key, value, v: version)
                if sessionConsistent { tokens[session] = max(token, applied[replica]) }
            }
        }
    }
}
