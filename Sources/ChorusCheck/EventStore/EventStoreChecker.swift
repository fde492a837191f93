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
}
