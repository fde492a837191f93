/// Subscriptions: catch-up subscribers see their stream exactly once, in
/// order, from their start; persistent groups deliver at least once and
/// honour acknowledgements.
extension EventStoreRun {
    struct Subscription {
        var stream: String
        var group: String?
        var from: Int64
    }

    /// What a catch-up subscriber has seen so far.
    struct CatchUpProgress {
        /// The next revision due (stream subscriptions).
        var nextRevision: Int64
        /// The last position delivered (`$all` subscriptions).
        var lastPosition: Int64?
        /// The last revision delivered, for the caught-up check.
        var lastRevision: Int64?
    }

    mutating func checkSubscriptions() throws(HistoryError) {
        var subscriptions: [String: Subscription] = [:]
        var groups: [String: Subscription] = [:]
        var progress: [String: CatchUpProgress] = [:]
        var delivered: [String: Set<String>] = [:]
        var finished: [String: [String: Int]] = [:]
        var outstanding: [String: Set<String>] = [:]
        let frontiers = acknowledgedFrontiers()
        let acknowledgedAt = acknowledgementInstants()
        for record in history.records {
            if case .subscribe(let stream, let group, let from) = record.event {
                guard subscriptions[record.subscriber] == nil else {
                    throw HistoryError(.malformed("\(record.subscriber) subscribes twice; name a new subscription anew"), line: record.line)
                }
                let subscription = Subscription(stream: stream, group: group, from: from)
                if let group {
                    if let existing = groups[group], existing.stream != stream || existing.from != from {
                        throw HistoryError(.malformed("group \(group) is on \(existing.stream) from \(existing.from), not \(stream) from \(from)"), line: record.line)
                    }
                    groups[group] = subscription
                } else {
                    progress[record.subscriber] = CatchUpProgress(nextRevision: from)
                }
                subscriptions[record.subscriber] = subscription
                subscriberCount += 1
                continue
            }
            guard let subscription = subscriptions[record.subscriber] else {
                throw HistoryError(.malformed("\(record.subscriber) has no subscribe line before this one"), line: record.line)
            }
            if subscription.group == nil {
                try catchUp(record, subscription, &progress[record.subscriber]!, frontiers)
            } else {
                try persistent(record, subscription, &delivered, &finished, &outstanding, acknowledgedAt)
            }
        }
    }

    /// For each placed event, when the append that placed it was acknowledged.
    private func acknowledgementInstants() -> [String: Int] {
        var instants: [String: Int] = [:]
        for operation in history.operations {
            guard case .append(_, let ids, .appended) = operation.kind, let completedAt = operation.completedAt else { continue }
            for id in ids where place[id]?.stream == operation.stream {
                instants[id] = min(instants[id] ?? Int.max, completedAt)
            }
        }
        return instants
    }

    private mutating func catchUp(
        _ record: SubscriptionRecord, _ subscription: Subscription, _ progress: inout CatchUpProgress,
        _ frontiers: (streams: [String: AcknowledgedFrontier], all: AcknowledgedFrontier)
    ) throws(HistoryError) {
        let onAll = subscription.stream == allStreamName
        switch record.event {
        case .deliver(let event):
            guard let placed = place[event.id] else { return }
            if onAll {
                let floor = progress.lastPosition.map { $0 + 1 } ?? subscription.from
                if placed.position < floor {
                    report(.catchUpSubscriptions, [record.id], "\(describe(record.id)) at position \(placed.position) comes again or out of order (next due: \(floor) or later)")
                    return
                }
                let due = Self.firstIndex(positions, atLeast: floor)
                if due < positions.count, positions[due] < placed.position {
                    let skipped = eventAtPosition[positions[due]]!
                    report(.catchUpSubscriptions, [placeSource[skipped]!, record.id],
                           "\(describe(record.id)) at position \(placed.position) skips \(skipped) at position \(positions[due]) (\(describe(placeSource[skipped]!)))")
                }
                progress.lastPosition = placed.position
                return
            }
            guard placed.stream == subscription.stream else {
                report(.catchUpSubscriptions, [record.id], "\(describe(record.id)) is an event of \(placed.stream), not of \(subscription.stream)")
                return
            }
            let due = progress.nextRevision
            if placed.revision < due {
                report(.catchUpSubscriptions, [record.id], "\(describe(record.id)) at revision \(placed.revision) comes again or out of order (revision \(due) was due)")
                return
            }
            if placed.revision > due {
                var ids = [record.id]
                if let missing = eventsOfStream[subscription.stream]?[due] { ids.insert(placeSource[missing]!, at: 0) }
                report(.catchUpSubscriptions, ids, "\(describe(record.id)) at revision \(placed.revision) skips revision \(due)")
            }
            progress.nextRevision = placed.revision + 1
            progress.lastRevision = placed.revision
        case .caughtUp:
            let acknowledged = onAll ? frontiers.all.highest(before: record.instant) : frontiers.streams[subscription.stream]?.highest(before: record.instant)
            guard let acknowledged, acknowledged.value >= subscription.from else { return }
            let seen = onAll ? progress.lastPosition : progress.lastRevision
            if (seen ?? -1) < acknowledged.value {
                let unit = onAll ? "position" : "revision"
                report(.catchUpSubscriptions, [acknowledged.append, record.id],
                       "\(describe(record.id)) came after \(describe(acknowledged.append)) was acknowledged, yet the subscriber had seen only up to \(unit) \(seen.map(String.init) ?? "none") of \(acknowledged.value)")
            }
        case .acknowledge, .negativeAcknowledge:
            throw HistoryError(.malformed("\(record.subscriber) is a catch-up subscriber; only persistent consumers ack"), line: record.line)
        case .subscribe:
            preconditionFailure("subscriptions are handled before")
        }
    }

    private mutating func persistent(
        _ record: SubscriptionRecord, _ subscription: Subscription, _ delivered: inout [String: Set<String>],
        _ finished: inout [String: [String: Int]], _ outstanding: inout [String: Set<String>], _ acknowledgedAt: [String: Int]
    ) throws(HistoryError) {
        let group = subscription.group!
        let onAll = subscription.stream == allStreamName
        switch record.event {
        case .deliver(let event):
            guard let placed = place[event.id] else { return }
            let inScope = onAll ? placed.position >= subscription.from
                : placed.stream == subscription.stream && placed.revision >= subscription.from
            if !inScope {
                report(.persistentSubscriptions, [record.id], "\(describe(record.id)) is outside group \(group)'s \(subscription.stream) from \(subscription.from)")
                return
            }
            if let answered = finished[group]?[event.id] {
                report(.persistentSubscriptions, [answered, record.id],
                       "\(describe(record.id)) comes after \(describe(answered)) settled it for group \(group)")
            }
            delivered[group, default: []].insert(event.id)
            outstanding[record.subscriber, default: []].insert(event.id)
        case .acknowledge(let id), .negativeAcknowledge(let id, _):
            guard outstanding[record.subscriber]?.remove(id) != nil else {
                throw HistoryError(.malformed("\(record.subscriber) answers \(id), which it was not delivered (or already answered)"), line: record.line)
            }
            if case .negativeAcknowledge(_, "retry") = record.event { return }
            finished[group, default: [:]][id] = record.id
        case .caughtUp:
            // At least once: every acknowledged event in scope was delivered to the group before this.
            let seen = delivered[group] ?? []
            for (id, instant) in acknowledgedAt.sorted(by: { ($0.value, $0.key) < ($1.value, $1.key) }) where instant < record.instant {
                guard let placed = place[id], !seen.contains(id) else { continue }
                let inScope = onAll ? placed.position >= subscription.from
                    : placed.stream == subscription.stream && placed.revision >= subscription.from
                guard inScope else { continue }
                report(.persistentSubscriptions, [placeSource[id]!, record.id],
                       "\(describe(record.id)) for group \(group), but \(id) (\(describe(placeSource[id]!))) was acknowledged before and never delivered to the group")
                return
            }
        case .subscribe:
            preconditionFailure("subscriptions are handled before")
        }
    }
}
