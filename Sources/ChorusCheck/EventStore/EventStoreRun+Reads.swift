/// Reads of one stream and of `$all`: contiguous, consistent with the
/// placed events, and (at the linearizable level) fresh.
extension EventStoreRun {
    /// Per stream (and `$all`), the acknowledged appends by completion, with
    /// the running maximum of the last revision (position) they wrote: what
    /// a read that began at a given instant must at least see.
    struct AcknowledgedFrontier {
        var completions: [Int] = []
        var highest: [(value: Int64, append: Int)] = []

        /// The highest value acknowledged strictly before `instant`.
        func highest(before instant: Int) -> (value: Int64, append: Int)? {
            var low = 0
            var high = completions.count
            while low < high {
                let middle = (low + high) / 2
                if completions[middle] < instant { low = middle + 1 } else { high = middle }
            }
            return low == 0 ? nil : highest[low - 1]
        }
    }

    func acknowledgedFrontiers() -> (streams: [String: AcknowledgedFrontier], all: AcknowledgedFrontier) {
        var entries: [String: [(completed: Int, revision: Int64, position: Int64, append: Int)]] = [:]
        for operation in history.operations {
            guard case .append(_, let ids, .appended) = operation.kind, let completedAt = operation.completedAt,
                let last = place[ids.last!], last.stream == operation.stream
            else { continue }
            entries[operation.stream, default: []].append((completedAt, last.revision, last.position, operation.id))
        }
        var streams: [String: AcknowledgedFrontier] = [:]
        var all: [(completed: Int, position: Int64, append: Int)] = []
        for (stream, list) in entries {
            var frontier = AcknowledgedFrontier()
            for entry in list.sorted(by: { ($0.completed, $0.append) < ($1.completed, $1.append) }) {
                frontier.completions.append(entry.completed)
                let best = frontier.highest.last.map { $0.value >= entry.revision ? $0 : (entry.revision, entry.append) }
                frontier.highest.append(best ?? (entry.revision, entry.append))
                all.append((entry.completed, entry.position, entry.append))
            }
            streams[stream] = frontier
        }
        var allFrontier = AcknowledgedFrontier()
        for entry in all.sorted(by: { ($0.completed, $0.append) < ($1.completed, $1.append) }) {
            allFrontier.completions.append(entry.completed)
            let best = allFrontier.highest.last.map { $0.value >= entry.position ? $0 : (entry.position, entry.append) }
            allFrontier.highest.append(best ?? (entry.position, entry.append))
        }
        return (streams, allFrontier)
    }

    mutating func checkReads() {
        let frontiers = acknowledgedFrontiers()
        for operation in history.operations {
            guard case .read(let direction, let from, let limit, let linearizable, let events?) = operation.kind else { continue }
            let reachedEnd = limit.map { events.count < $0 } ?? true
            if operation.stream == allStreamName {
                checkAllRead(operation, direction: direction, from: from, events: events)
                if linearizable, reachedEnd, let acknowledged = frontiers.all.highest(before: operation.invokedAt) {
                    checkFresh(operation, direction: direction, from: from, last: events.map(\.position), acknowledged: acknowledged, unit: "position")
                }
            } else {
                let revisions = events.map { $0.revision ?? place[$0.id]?.revision ?? -1 }
                checkStreamRead(operation, direction: direction, from: from, revisions: revisions)
                if linearizable, reachedEnd, let acknowledged = frontiers.streams[operation.stream]?.highest(before: operation.invokedAt) {
                    checkFresh(operation, direction: direction, from: from, last: revisions, acknowledged: acknowledged, unit: "revision")
                }
            }
        }
    }

    /// A stream read returns consecutive revisions, from `from` going forwards.
    private mutating func checkStreamRead(_ operation: EventStoreOperation, direction: ReadDirection, from: Int64?, revisions: [Int64]) {
        guard let first = revisions.first else { return }
        if direction == .forwards, first != (from ?? 0) {
            report(.streamRevisions, [operation.id], "\(describe(operation.id)) starts at revision \(first), not at \(from ?? 0)")
            return
        }
        if direction == .backwards, let from, first > from {
            report(.streamRevisions, [operation.id], "\(describe(operation.id)) going backwards from \(from) starts at revision \(first)")
            return
        }
        let step: Int64 = direction == .forwards ? 1 : -1
        for index in revisions.indices.dropFirst() where revisions[index] != revisions[index - 1] + step {
            report(.streamRevisions, [operation.id],
                   "\(describe(operation.id)) returns revision \(revisions[index - 1]) then \(revisions[index]): a stream read skips nothing")
            return
        }
    }

    /// A `$all` read returns positions in order and skips no placed event between its ends.
    private mutating func checkAllRead(_ operation: EventStoreOperation, direction: ReadDirection, from: Int64?, events: [ObservedEvent]) {
        guard !events.isEmpty else { return }
        let ascending = direction == .forwards
        for index in events.indices.dropFirst() {
            let inOrder = ascending ? events[index].position > events[index - 1].position : events[index].position < events[index - 1].position
            if !inOrder {
                report(.allStream, [operation.id],
                       "\(describe(operation.id)) returns position \(events[index - 1].position) then \(events[index].position), out of order")
                return
            }
        }
        let returned = Set(events.map(\.position))
        var low = events.map(\.position).min()!
        let high = events.map(\.position).max()!
        if ascending, let from { low = min(low, from) }
        var index = Self.firstIndex(positions, atLeast: low)
        while index < positions.count && positions[index] <= high {
            let position = positions[index]
            if !returned.contains(position) {
                let id = eventAtPosition[position]!
                report(.allStream, [placeSource[id]!, operation.id],
                       "\(describe(operation.id)) skips event \(id) at position \(position) (\(describe(placeSource[id]!))), which lies within what it read")
                return
            }
            index += 1
        }
    }

    /// A linearizable read that reached the end sees what was acknowledged before it began.
    private mutating func checkFresh(
        _ operation: EventStoreOperation, direction: ReadDirection, from: Int64?, last values: [Int64],
        acknowledged: (value: Int64, append: Int), unit: String
    ) {
        if direction == .forwards, let from, from > acknowledged.value { return }
        if direction == .backwards, from != nil { return }
        let newest = direction == .forwards ? values.last : values.first
        if let newest, newest >= acknowledged.value { return }
        let seen = newest.map { "ends at \(unit) \($0)" } ?? "returns nothing"
        report(.acknowledgedAppendsKept, [acknowledged.append, operation.id],
               "\(describe(operation.id)) \(seen), but \(describe(acknowledged.append)) had been acknowledged, up to \(unit) \(acknowledged.value), before the read began")
    }

    static func firstIndex(_ sorted: [Int64], atLeast value: Int64) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
