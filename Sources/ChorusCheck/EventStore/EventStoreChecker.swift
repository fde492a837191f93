/// The invariants of an event store (issue 10), each reported separately.
public enum EventStoreProperty: String, CaseIterable, Hashable, Sendable {
    /// No acknowledged append is lost: a linearizable read, or a subscriber
    /// that says it caught up, sees every event acknowledged before it began.
    case acknowledgedAppendsKept = "acknowledged-appends-kept"
    /// No event appears that was not appended: every event read or delivered
    /// belongs to an append that did not fail, on that stream, invoked before it was seen.
    case noPhantomEvents = "no-phantom-events"
    /// Each stream's revisions are gap-free; each event sits at exactly one
    /// revision and position; an append's events sit at consecutive revisions
    /// (all or nothing); stream reads return consecutive revisions.
    case streamRevisions = "stream-revisions"
    /// `$all` is gap-free and agrees with every stream: positions are unique,
    /// increase with revisions, and `$all` reads skip nothing between their ends.
    case allStream = "all-stream"
    /// Each retried append took effect at most once: its events sit at one place.
    case idempotentRetries = "idempotent-retries"
    /// Every append's outcome is consistent with its expected state:
    /// the appends of each stream are linearizable, the stream a register of its last revision.
    case expectedVersions = "expected-versions"
    /// A catch-up subscriber sees each event of its stream exactly once, in order, from its start.
    case catchUpSubscriptions = "catch-up-subscriptions"
    /// A persistent group delivers each event at least once, and never again once acknowledged.
    case persistentSubscriptions = "persistent-subscriptions"
}

/// How the event-store checker reads positions and how hard it searches.
public struct EventStoreCheckOptions: Sendable {
    /// Whether the events of one append must sit at consecutive positions as
    /// well as consecutive revisions (issue 10 asks for both).
    public var consecutivePositionsWithinAppend: Bool
    /// The budget of each stream's linearizability search (`unknown` past it).
    public var search: CheckOptions

    public init(
        consecutivePositionsWithinAppend: Bool = true,
        search: CheckOptions = CheckOptions(memoBytesMaximum: 256 << 20)
    ) {
        self.consecutivePositionsWithinAppend = consecutivePositionsWithinAppend
        self.search = search
    }
}

/// Checks an event-store history: what clients appended and read, and what
/// subscribers were delivered, against the store's invariants.
///
/// First the events are placed: every acknowledgement, read and delivery
/// claims places (stream, revision, position) for event ids; the claims must
/// agree (an event at one place, one event per place), and an append's
/// events must sit together. Then reads and subscriptions are judged against
/// the placed events, in real time where their level promises it, and each
/// stream's appends are checked for linearizability with
/// `StreamRevisionModel` by the existing search (`Checker`). Everything but
/// that search is a few sorts and linear passes.
public enum EventStoreChecker {
    public static func check(_ history: EventStoreHistory, options: EventStoreCheckOptions = EventStoreCheckOptions()) throws(HistoryError) -> PropertyCheckResult {
        let start = ContinuousClock.now
        var run = EventStoreRun(history: history, options: options)
        try run.placeEvents()
        run.checkStreams()
        run.checkReads()
        try run.checkSubscriptions()
        run.checkExpectedVersions()
        let statistics = HistoryValue.map([
            .init(key: "appends", value: .integer(Int64(run.appendCount))),
            .init(key: "events", value: .integer(Int64(run.place.count))),
            .init(key: "streams", value: .integer(Int64(run.eventsOfStream.count))),
            .init(key: "subscribers", value: .integer(Int64(run.subscriberCount))),
        ])
        return PropertyCheckResult(
            checker: "events", properties: run.tallies.map(\.result), statistics: statistics,
            duration: ContinuousClock.now - start)
    }
}

/// One run of the event-store checker.
struct EventStoreRun {
    /// One claim that an event sits somewhere, and who made it.
    struct Claim {
        var stream: String?
        var revision: Int64?
        var position: Int64
        /// The operation or record (display id) that claims it.
        var source: Int
        var fromAppend: Bool
    }

    let history: EventStoreHistory
    let options: EventStoreCheckOptions
    var tallies = EventStoreProperty.allCases.map { PropertyTally($0.rawValue) }
    /// The appends that carry each event id.
    var appendsOfEvent: [String: [Int]] = [:]
    var claims: [String: [Claim]] = [:]
    /// Where each event sits, once placed, and who first said so.
    var place: [String: EventPlace] = [:]
    var placeSource: [String: Int] = [:]
    /// Per stream: revision → event id; and position → event id across streams.
    var eventsOfStream: [String: [Int64: String]] = [:]
    var eventAtPosition: [Int64: String] = [:]
    /// All placed positions, sorted.
    var positions: [Int64] = []
    /// For each append, the revision of its first event when known (its anchor).
    var firstRevision: [Int: Int64] = [:]
    var appendCount = 0
    var subscriberCount = 0

    init(history: EventStoreHistory, options: EventStoreCheckOptions) {
        self.history = history
        self.options = options
    }

    mutating func report(_ property: EventStoreProperty, _ ids: [Int], _ explanation: String) {
        tallies[EventStoreProperty.allCases.firstIndex(of: property)!].record(
            PropertyViolation(operationIDs: ids, explanation: explanation))
    }

    func describe(_ id: Int) -> String {
        if id < history.operations.count {
            let operation = history.operations[id]
            switch operation.kind {
            case .append(let expected, let ids, let result):
                let outcome: String
                switch result {
                case .appended(let revisions, _): outcome = "appended at revision \(revisions.first ?? -1)"
                case .wrongExpectedVersion(let actual): outcome = "refused, actual revision \(actual)"
                case .refused(let error): outcome = "refused (\(error))"
                case .indeterminate: outcome = "no answer"
                }
                return "the append of \(ids.joined(separator: ", ")) to \(operation.stream) expecting \(expected), \(outcome) (\(operation.location))"
            case .read:
                return "the read of \(operation.stream) (\(operation.location))"
            }
        }
        let record = history.records[id - history.operations.count]
        return "\(record.subscriber)'s \(Self.name(record.event)) (\(record.location))"
    }

    static func name(_ event: SubscriptionEvent) -> String {
        switch event {
        case .subscribe: return "subscription"
        case .deliver(let observed): return "delivery of \(observed.id)"
        case .acknowledge(let id): return "ack of \(id)"
        case .negativeAcknowledge(let id, let action): return "nack (\(action)) of \(id)"
        case .caughtUp: return "caught-up"
        }
    }

    static func text(_ place: EventPlace) -> String { "\(place.stream) revision \(place.revision), position \(place.position)" }

    // MARK: - Placing events

    /// Collects every claim, checks that they agree, and fixes each event's place.
    mutating func placeEvents() throws(HistoryError) {
        var subscribedStream: [String: String] = [:]
        for operation in history.operations {
            switch operation.kind {
            case .append(_, let ids, let result):
                appendCount += 1
                for id in ids { appendsOfEvent[id, default: []].append(operation.id) }
                if case .appended(let revisions, let positions) = result {
                    claimAcknowledged(operation, ids: ids, revisions: revisions, positions: positions)
                }
            case .read(_, _, _, _, let events):
                for event in events ?? [] {
                    let stream = event.stream ?? (operation.stream == allStreamName ? nil : operation.stream)
                    claim(event, stream: stream, source: operation.id, seenAt: operation.completedAt ?? operation.invokedAt, isRecord: false)
                }
            }
        }
        for record in history.records {
            switch record.event {
            case .subscribe(let stream, _, _):
                subscribedStream[record.subscriber] = stream
            case .deliver(let event):
                let subscribed = subscribedStream[record.subscriber]
                let stream = event.stream ?? (subscribed == allStreamName ? nil : subscribed)
                claim(event, stream: stream, source: record.id, seenAt: record.instant, isRecord: true)
            default: continue
            }
        }
        for id in claims.keys.sorted() { settle(id) }
        positions = eventAtPosition.keys.sorted()
        checkBatches()
    }

    private mutating func claimAcknowledged(_ operation: EventStoreOperation, ids: [String], revisions: [Int64], positions: [Int64]) {
        guard revisions.count == ids.count else {
            report(.streamRevisions, [operation.id], "\(describe(operation.id)) acknowledged \(ids.count) events with \(revisions.count) revisions")
            return
        }
        for index in ids.indices.dropFirst() {
            if revisions[index] != revisions[index - 1] + 1 {
                report(.streamRevisions, [operation.id], "\(describe(operation.id)) acknowledged revisions \(revisions), which are not consecutive")
                break
            }
        }
        for index in ids.indices.dropFirst() {
            let consecutive = positions[index] == positions[index - 1] + 1
            if positions[index] <= positions[index - 1] || (options.consecutivePositionsWithinAppend && !consecutive) {
                report(.allStream, [operation.id], "\(describe(operation.id)) acknowledged positions \(positions), which are not consecutive")
                break
            }
        }
        for (index, id) in ids.enumerated() {
            claims[id, default: []].append(Claim(
                stream: operation.stream, revision: revisions[index], position: positions[index], source: operation.id, fromAppend: true))
        }
    }

    /// A read or delivery claims a place; it must also have been appended, by
    /// an append that did not fail, to that stream, invoked before it was seen.
    private mutating func claim(_ event: ObservedEvent, stream: String?, source: Int, seenAt instant: Int, isRecord: Bool) {
        claims[event.id, default: []].append(Claim(
            stream: stream, revision: event.revision, position: event.position, source: source, fromAppend: false))
        let appends = appendsOfEvent[event.id] ?? []
        let effective = appends.filter { append in
            if case .append(_, _, let result) = history.operations[append].kind {
                switch result {
                case .refused, .wrongExpectedVersion: return false
                case .appended, .indeterminate: return true
                }
            }
            return false
        }
        let what = "\(describe(source)) shows event \(event.id)"
        guard !appends.isEmpty else {
            report(.noPhantomEvents, [source], "\(what), which no append carried")
            return
        }
        guard !effective.isEmpty else {
            report(.noPhantomEvents, [appends[0], source], "\(what), but its only appends were refused: \(describe(appends[0]))")
            return
        }
        if let stream, !effective.contains(where: { history.operations[$0].stream == stream }) {
            report(.noPhantomEvents, [effective[0], source], "\(what) in \(stream), but it was appended to \(history.operations[effective[0]].stream)")
            return
        }
        let earliest = effective.min { history.operations[$0].invokedAt < history.operations[$1].invokedAt }!
        let appendedAt = history.operations[earliest].invokedAt
        let before = isRecord ? instant <= appendedAt : instant < appendedAt
        if before {
            report(.noPhantomEvents, [source, earliest], "\(what) before \(describe(earliest)) was even invoked")
        }
    }

    /// Fixes an event's place from its claims: an acknowledgement's first,
    /// else the first full observation; every other claim must agree.
    private mutating func settle(_ id: String) {
        guard let all = claims[id] else { return }
        let full = all.filter { $0.stream != nil && $0.revision != nil }
        guard let chosen = full.first(where: \.fromAppend) ?? full.first else { return }
        let settled = EventPlace(stream: chosen.stream!, revision: chosen.revision!, position: chosen.position)
        for other in all where other.source != chosen.source {
            let agrees = (other.stream.map { $0 == settled.stream } ?? true)
                && (other.revision.map { $0 == settled.revision } ?? true) && other.position == settled.position
            if agrees { continue }
            let otherText = "\(other.stream ?? "?") revision \(other.revision.map(String.init) ?? "?"), position \(other.position)"
            let explanation = "event \(id) is at \(Self.text(settled)) by \(describe(chosen.source)), but at \(otherText) by \(describe(other.source))"
            if (appendsOfEvent[id]?.count ?? 0) > 1 {
                report(.idempotentRetries, [chosen.source, other.source], explanation + ": a retried append took effect twice")
            } else {
                report(.streamRevisions, [chosen.source, other.source], explanation)
            }
            break
        }
        if let holder = eventsOfStream[settled.stream]?[settled.revision], holder != id {
            report(.streamRevisions, [placeSource[holder]!, chosen.source],
                   "two events sit at \(settled.stream) revision \(settled.revision): \(holder) by \(describe(placeSource[holder]!)) and \(id) by \(describe(chosen.source))")
            return
        }
        if let holder = eventAtPosition[settled.position], holder != id {
            report(.allStream, [placeSource[holder]!, chosen.source],
                   "two events sit at position \(settled.position): \(holder) by \(describe(placeSource[holder]!)) and \(id) by \(describe(chosen.source))")
            return
        }
        place[id] = settled
        placeSource[id] = chosen.source
        eventsOfStream[settled.stream, default: [:]][settled.revision] = id
        eventAtPosition[settled.position] = id
    }

    /// An append's events sit together: all at consecutive revisions from
    /// its first (and positions, when asked), or none. An append that only
    /// partly shows is a torn, non-atomic append.
    private mutating func checkBatches() {
        var checked = Set<[String]>()
        for operation in history.operations {
            guard case .append(_, let ids, let result) = operation.kind else { continue }
            if case .refused = result { continue }
            if case .wrongExpectedVersion = result { continue }
            guard let anchor = ids.indices.first(where: { place[ids[$0]]?.stream == operation.stream }),
                let anchorPlace = place[ids[anchor]]
            else { continue }
            firstRevision[operation.id] = anchorPlace.revision - Int64(anchor)
            guard checked.insert(ids).inserted else { continue }
            for (index, id) in ids.enumerated() where index != anchor {
                let revision = anchorPlace.revision + Int64(index - anchor)
                if let placed = place[id] {
                    let positionOK = !options.consecutivePositionsWithinAppend
                        || placed.position == anchorPlace.position + Int64(index - anchor)
                    if placed.revision != revision || placed.stream != operation.stream || !positionOK {
                        report(.streamRevisions, [operation.id, placeSource[id]!],
                               "\(describe(operation.id)) put \(ids[anchor]) at \(Self.text(anchorPlace)) but \(id) at \(Self.text(placed)): not together")
                        break
                    }
                } else if let other = eventsOfStream[operation.stream]?[revision] {
                    report(.streamRevisions, [operation.id, placeSource[ids[anchor]]!, placeSource[other]!],
                           "only part of \(describe(operation.id)) took effect: \(ids[anchor]) is at \(Self.text(anchorPlace)), but \(other), not \(id), is at revision \(revision)")
                    break
                }
            }
        }
    }

    // MARK: - Streams and $all

    /// Gap-free revisions per stream, and positions that rise with revisions.
    mutating func checkStreams() {
        // Events no one saw, of appends with no answer: they may fill gaps.
        var unseen: [String: Int] = [:]
        var counted = Set<String>()
        for operation in history.operations {
            guard case .append(_, let ids, .indeterminate) = operation.kind else { continue }
            for id in ids where place[id] == nil && counted.insert(id).inserted { unseen[operation.stream, default: 0] += 1 }
        }
        for stream in eventsOfStream.keys.sorted() {
            let events = eventsOfStream[stream]!
            let revisions = events.keys.sorted()
            let missing = Int(revisions.last! + 1) - revisions.count
            if missing > unseen[stream] ?? 0 {
                var gap: Int64 = 0
                while events[gap] != nil { gap += 1 }
                let after = revisions.first { $0 > gap }!
                var ids: [Int] = []
                if let before = events[gap - 1] { ids.append(placeSource[before]!) }
                ids.append(placeSource[events[after]!]!)
                report(.streamRevisions, ids,
                       "\(stream) has no event at revision \(gap), yet one at revision \(after) (\(describe(placeSource[events[after]!]!))), "
                       + "and no unanswered append is left to fill the gap")
            }
            var previous: (revision: Int64, position: Int64, id: String)?
            for revision in revisions {
                let id = events[revision]!
                let position = place[id]!.position
                if let previous, position <= previous.position {
                    report(.allStream, [placeSource[previous.id]!, placeSource[id]!],
                           "in \(stream), revision \(revision) (\(id)) has position \(position), not after revision \(previous.revision)'s \(previous.position): $all disagrees with the stream")
                }
                previous = (revision, position, id)
            }
        }
    }
}
