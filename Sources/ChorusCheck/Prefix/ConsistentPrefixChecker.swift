/// Checks consistent prefix on range reads: every range read must return
/// exactly the state of its keys after some prefix of the commit order.
///
/// Versions are the commit order (the Raft log index in Chorus), comparable
/// across keys. The state after prefix point P holds, for each key, its
/// latest write with a version ≤ P (absent if that is a delete, or if there
/// is none). A range read of prefix p returns the keys present under p (after
/// its continuation key, and up to its last entry when cut short by a limit);
/// it is consistent when one P gives exactly what it returned:
///
///     returned k@v:      v ≤ P < the next write of k after v
///     covered, absent k: P is in no interval [put of k, next write of k)
///
/// The returned entries bound P to an interval [L, U); the absent keys remove
/// sub-intervals of it, and the read is consistent when something is left.
/// Per read this costs the covered keys' writes near [L, U), found by
/// binary search. Writes that never completed and no read returned have no
/// known version, so they cannot constrain a read: what is checked is exact
/// for what the history shows.
public enum ConsistentPrefixChecker {
    public static func check(_ history: KeyValueHistory) throws(HistoryError) -> PropertyCheckResult {
        let start = ContinuousClock.now
        if let order = history.writeOrders.first {
            throw HistoryError(
                .malformed("consistent prefix needs versions, one commit order across keys, not a per-key write order"),
                line: order.line)
        }
        let resolution = try WriteOrderResolution(history)
        var run = PrefixRun(resolution: resolution)
        var checked = 0
        for operation in history.operations where operation.function == .rangeRead && operation.outcome == .ok {
            run.check(operation)
            checked += 1
        }
        var integrity = resolution.integrity
        for violation in run.integrity.examples { integrity.record(violation) }
        integrity.count(run.integrity.count - run.integrity.examples.count)
        let statistics = HistoryValue.map([
            .init(key: "rangeReads", value: .integer(Int64(checked))),
            .init(key: "keysCovered", value: .integer(Int64(run.keysCovered))),
        ])
        return PropertyCheckResult(
            checker: "prefix", properties: [run.prefix.result, integrity.result], statistics: statistics,
            duration: ContinuousClock.now - start)
    }
}

/// The per-read work of the consistent-prefix checker.
struct PrefixRun {
    /// One write of a key: its version, whether it deletes, and its operation.
    struct KeyWrite {
        var version: Int64
        var isDelete: Bool
        var id: Int
    }

    let resolution: WriteOrderResolution
    let operations: [KeyValueOperation]
    /// String keys in increasing order, and each one's writes by version.
    let keys: [String]
    let writesOfKey: [String: [KeyWrite]]
    /// Keys with a put that never completed and has no known version.
    let keysWithUnplacedPuts: Set<String>
    var prefix = PropertyTally("consistent-prefix")
    var integrity = PropertyTally("integrity")
    var keysCovered = 0

    init(resolution: WriteOrderResolution) {
        self.resolution = resolution
        operations = resolution.history.operations
        var writesOfKey: [String: [KeyWrite]] = [:]
        for (index, key) in resolution.keys.enumerated() {
            guard let name = key.stringValue else { continue }
            let writes = resolution.writesByKey[index].map {
                KeyWrite(version: resolution.knownOrder($0), isDelete: resolution.history.operations[$0].function == .delete, id: $0)
            }
            if !writes.isEmpty { writesOfKey[name] = writes }
        }
        self.writesOfKey = writesOfKey
        var unplaced = Set<String>()
        for operation in operations where operation.function == .write && operation.outcome.isIndeterminate {
            if resolution.order[operation.id] == nil, let name = operation.key.stringValue { unplaced.insert(name) }
        }
        keysWithUnplacedPuts = unplaced
        keys = writesOfKey.keys.sorted()
    }

    func describe(_ id: Int) -> String {
        let operation = operations[id]
        return "\(operation.phrase) (\(operation.location))"
    }

    /// The index of the first write of `writes` with a version greater than `version`.
    static func firstWrite(after version: Int64, in writes: [KeyWrite]) -> Int {
        var low = 0
        var high = writes.count
        while low < high {
            let middle = (low + high) / 2
            if writes[middle].version <= version { low = middle + 1 } else { high = middle }
        }
        return low
    }

    mutating func check(_ read: KeyValueOperation) {
        guard let range = read.range, let prefixKey = read.key.stringValue else { return }
        let readText = "the range read of \(prefixKey) (\(read.location))"
        // Bounds on P from the returned entries: L ≤ P < U.
        var lower: (version: Int64, key: String?) = (0, nil)
        var upper: (version: Int64, write: Int?) = (Int64.max, nil)
        var returned = Set<String>()
        for entry in range.entries {
            guard entry.key.hasPrefix(prefixKey), read.rangeStartAfter.map({ entry.key > $0 }) ?? true else {
                integrity.record(PropertyViolation(
                    operationIDs: [read.id], explanation: "\(readText) returned \(entry.key), a key outside its range"))
                return
            }
            let writes = writesOfKey[entry.key] ?? []
            let next = Self.firstWrite(after: entry.version, in: writes)
            let known = next > 0 && writes[next - 1].version == entry.version
            // An indeterminate put of the key may have taken effect at this version.
            let unknownPut = !known && keysWithUnplacedPuts.contains(entry.key)
            guard unknownPut || (known && !writes[next - 1].isDelete) else {
                integrity.record(PropertyViolation(
                    operationIDs: [read.id],
                    explanation: "\(readText) returned \(entry.key)@v\(entry.version), a version no write of that key has"))
                return
            }
            returned.insert(entry.key)
            if entry.version > lower.version { lower = (entry.version, entry.key) }
            if next < writes.count, writes[next].version < upper.version { upper = (writes[next].version, writes[next].id) }
        }
        let upperText = upper.write.map { "and \(describe($0)) overwrote one of its entries" } ?? ""
        if lower.version >= upper.version, let overwrite = upper.write {
            let explanation = "\(readText) returned \(lower.key ?? "")@v\(lower.version), so its prefix point is at v\(lower.version) or later, "
                + "\(upperText) at v\(upper.version): no prefix of the commit order holds both"
            prefix.record(PropertyViolation(operationIDs: [overwrite, read.id], explanation: explanation))
            return
        }
        // The covered keys the read did not return must be absent at P.
        var present: [(start: Int64, end: Int64, put: Int)] = []
        for key in coveredKeys(prefix: prefixKey, after: read.rangeStartAfter, through: range.truncated ? range.entries.last?.key : nil, truncated: range.truncated) {
            keysCovered += 1
            if returned.contains(key) { continue }
            guard let writes = writesOfKey[key] else { continue }
            var index = max(0, Self.firstWrite(after: lower.version, in: writes) - 1)
            while index < writes.count && writes[index].version < upper.version {
                let write = writes[index]
                let end = index + 1 < writes.count ? writes[index + 1].version : Int64.max
                if !write.isDelete && end > lower.version {
                    present.append((max(write.version, lower.version), min(end, upper.version), write.id))
                }
                index += 1
            }
        }
        guard let cover = Self.cover(from: lower.version, to: upper.version, present) else { return }
        guard prefix.wantsExample else {
            prefix.count()
            return
        }
        var ids = cover
        if let overwrite = upper.write { ids.append(overwrite) }
        ids.append(read.id)
        let interval = upper.write == nil ? "v\(lower.version) or later" : "from v\(lower.version) to before v\(upper.version)"
        let explanation = "\(readText) returned entries that fix its prefix point \(interval)"
            + (upper.write == nil ? "" : " (\(upperText))")
            + ", but throughout that interval a key it did not return was present: "
            + cover.map { describe($0) }.joined(separator: "; ")
        prefix.record(PropertyViolation(operationIDs: ids, explanation: explanation))
    }

    /// The keys a range read covers, in order: under the prefix, after the
    /// continuation key, and (when cut short) up to its last entry.
    func coveredKeys(prefix: String, after: String?, through: String?, truncated: Bool) -> ArraySlice<String> {
        if truncated && through == nil { return [] }
        let start = after.map { max($0, prefix) } ?? prefix
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < start || (after != nil && keys[middle] == after!) { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < keys.count && keys[end].hasPrefix(prefix) && (through.map { keys[end] <= $0 } ?? true) { end += 1 }
        return keys[low..<end]
    }

    /// When the intervals cover all of [from, to), a smallest set of their
    /// puts that does (greedy interval cover); nil when some point is free.
    static func cover(from: Int64, to: Int64, _ intervals: [(start: Int64, end: Int64, put: Int)]) -> [Int]? {
        let sorted = intervals.sorted { ($0.start, $0.end, $0.put) < ($1.start, $1.end, $1.put) }
        var reached = from
        var chosen: [Int] = []
        var index = 0
        while reached < to {
            var best: (end: Int64, put: Int)?
            while index < sorted.count && sorted[index].start <= reached {
                if best == nil || sorted[index].end > best!.end { best = (sorted[index].end, sorted[index].put) }
                index += 1
            }
            guard let best, best.end > reached else { return nil }
            chosen.append(best.put)
            reached = best.end
        }
        return chosen
    }
}
