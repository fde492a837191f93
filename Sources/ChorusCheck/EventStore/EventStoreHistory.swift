/// The expected state an append names (issue 10): the append happens only
/// if the stream is in that state.
public enum ExpectedState: Hashable, Sendable, CustomStringConvertible {
    case any
    case noStream
    case streamExists
    /// The stream's last revision must be exactly this.
    case exact(Int64)

    /// Whether a stream whose last revision is `revision` (-1: no stream) is in this state.
    public func isSatisfied(byRevision revision: Int64) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return revision < 0
        case .streamExists: return revision >= 0
        case .exact(let expected): return revision == expected
        }
    }

    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "no_stream"
        case .streamExists: return "stream_exists"
        case .exact(let revision): return "revision \(revision)"
        }
    }
}

/// Where an event sits: its stream, its revision in the stream, its global position.
public struct EventPlace: Hashable, Sendable {
    public var stream: String
    public var revision: Int64
    public var position: Int64

    public init(stream: String, revision: Int64, position: Int64) {
        self.stream = stream
        self.revision = revision
        self.position = position
    }
}

/// An event as a read or a subscription returned it. `stream` is nil when
/// the reader did not say (a read of one stream names it once).
public struct ObservedEvent: Hashable, Sendable {
    public var id: String
    public var stream: String?
    public var revision: Int64?
    public var position: Int64

    public init(id: String, stream: String? = nil, revision: Int64? = nil, position: Int64) {
        self.id = id
        self.stream = stream
        self.revision = revision
        self.position = position
    }
}

/// The name of the stream of all events.
public let allStreamName = "$all"

/// What an append returned.
public enum AppendResult: Hashable, Sendable {
    /// Appended (or an idempotent retry answered with the original places).
    case appended(revisions: [Int64], positions: [Int64])
    /// Refused: the stream's last revision was `actual` (-1: no stream).
    case wrongExpectedVersion(actual: Int64)
    /// Another definite refusal (`stream_deleted`, `append_too_large`, …): nothing was written.
    case refused(String)
    /// No answer: it may or may not have taken effect.
    case indeterminate
}

/// Which way a read goes.
public enum ReadDirection: String, Hashable, Sendable {
    case forwards
    case backwards
}

/// One operation of an event-store history: an append or a read.
public struct EventStoreOperation: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case append(expected: ExpectedState, eventIDs: [String], result: AppendResult)
        /// A read of `stream` (or `$all`) from a revision (a position for
        /// `$all`; nil: the start, or the end going backwards), at most
        /// `limit` events; `events` is what it returned, nil unless `:ok`.
        /// `linearizable` reads must reflect every append acknowledged before they began.
        case read(direction: ReadDirection, from: Int64?, limit: Int?, linearizable: Bool, events: [ObservedEvent]?)
    }

    /// The index in `EventStoreHistory.operations`, and the id in its display history.
    public var id: Int
    public var process: ProcessID
    /// The stream, or `$all` for a read of every stream.
    public var stream: String
    public var kind: Kind
    public var invokedAt: Int
    public var completedAt: Int?
    public var invokeTime: Int64?
    public var completeTime: Int64?
    public var invokeLine: Int?
    public var completeLine: Int?

    public init(
        id: Int = 0, process: ProcessID, stream: String, kind: Kind, invokedAt: Int, completedAt: Int?,
        invokeTime: Int64? = nil, completeTime: Int64? = nil, invokeLine: Int? = nil, completeLine: Int? = nil
    ) {
        self.id = id
        self.process = process
        self.stream = stream
        self.kind = kind
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.invokeTime = invokeTime
        self.completeTime = completeTime
        self.invokeLine = invokeLine
        self.completeLine = completeLine
    }

    /// How the operation ended, in the terms of the generic history.
    public var outcome: Outcome {
        switch kind {
        case .append(_, _, let result):
            switch result {
            case .appended, .wrongExpectedVersion: return .ok
            case .refused: return .fail
            case .indeterminate: return completedAt == nil ? .pending : .info
            }
        case .read(_, _, _, _, let events):
            if events != nil { return .ok }
            return completedAt == nil ? .pending : .info
        }
    }

    var location: String { invokeLine.map { "line \($0)" } ?? "operation \(id)" }
}

/// What a subscriber did or was given.
public enum SubscriptionEvent: Hashable, Sendable {
    /// A catch-up subscription (exclusive: one subscriber sees every event)
    /// or one consumer of a persistent group (competing consumers), on
    /// `stream` or `$all`, starting at revision (position for `$all`) `from`.
    case subscribe(stream: String, group: String?, from: Int64)
    /// The subscriber was given this event.
    case deliver(ObservedEvent)
    /// A persistent consumer acknowledged the event: it must not come again.
    case acknowledge(eventID: String)
    /// A persistent consumer refused it: `retry` asks for it again; `park`
    /// and `skip` end it for the group, like an ack.
    case negativeAcknowledge(eventID: String, action: String)
    /// The subscriber claims to have caught up: every event of its scope
    /// acknowledged before this point was delivered before it.
    case caughtUp
}

/// One line of a subscriber's record.
public struct SubscriptionRecord: Hashable, Sendable {
    /// The id in the display history (after the operations).
    public var id: Int
    public var subscriber: String
    public var event: SubscriptionEvent
    /// As `HistoryRecord.instant`: the number of operation events before it.
    public var instant: Int
    public var line: Int?

    public init(id: Int = 0, subscriber: String, event: SubscriptionEvent, instant: Int, line: Int? = nil) {
        self.id = id
        self.subscriber = subscriber
        self.event = event
        self.instant = instant
        self.line = line
    }

    var location: String { line.map { "line \($0)" } ?? "record \(id)" }
}

/// An event-store history: appends and reads by clients, and what
/// subscribers were delivered.
///
/// Invariants: `operations[i].id == i`; `records[j].id == operations.count + j`.
public struct EventStoreHistory: Sendable {
    public private(set) var operations: [EventStoreOperation]
    public private(set) var records: [SubscriptionRecord]
    public private(set) var endInstant: Int

    public init(operations: [EventStoreOperation], records: [SubscriptionRecord] = []) throws(HistoryError) {
        guard operations.count + records.count <= CheckLimits.operationCountMaximum else {
            throw HistoryError(.tooManyOperations(limit: CheckLimits.operationCountMaximum), line: nil)
        }
        guard !operations.isEmpty || !records.isEmpty else { throw HistoryError(.empty, line: nil) }
        var renumbered = operations
        var endInstant = 0
        for index in renumbered.indices {
            renumbered[index].id = index
            let operation = renumbered[index]
            if let completedAt = operation.completedAt, completedAt < operation.invokedAt {
                throw HistoryError(
                    .malformed("operation \(index) completes at \(completedAt), before its invocation at \(operation.invokedAt)"),
                    line: operation.completeLine)
            }
            endInstant = max(endInstant, (operation.completedAt ?? operation.invokedAt) + 1)
            try Self.validate(operation)
        }
        var numbered = records
        for index in numbered.indices {
            numbered[index].id = renumbered.count + index
            endInstant = max(endInstant, numbered[index].instant + 1)
            var numbers: [Int64] = []
            switch numbered[index].event {
            case .subscribe(_, _, let from): numbers = [from]
            case .deliver(let event): numbers = [event.revision ?? 0, event.position]
            default: break
            }
            if numbered[index].instant < 0 || numbers.contains(where: { $0 < 0 || $0 > CheckLimits.versionMaximum }) {
                throw HistoryError(.malformed("record \(index): a number outside 0…2^62"), line: numbered[index].line)
            }
        }
        self.operations = renumbered
        self.records = numbered
        self.endInstant = endInstant
    }

    /// Appends carry events; every number stays within `CheckLimits.versionMaximum`.
    private static func validate(_ operation: EventStoreOperation) throws(HistoryError) {
        var numbers: [Int64] = []
        switch operation.kind {
        case .append(let expected, let ids, let result):
            guard !ids.isEmpty else { throw HistoryError(.malformed("operation \(operation.id): an append carries events"), line: operation.invokeLine) }
            if case .exact(let revision) = expected { numbers.append(revision) }
            switch result {
            case .appended(let revisions, let positions): numbers += revisions + positions
            case .wrongExpectedVersion(let actual): numbers.append(max(actual, 0))
            case .refused, .indeterminate: break
            }
        case .read(_, let from, let limit, _, let events):
            numbers += [from].compactMap { $0 } + [limit.map { Int64($0) }].compactMap { $0 }
            for event in events ?? [] { numbers += [event.revision].compactMap { $0 } + [event.position] }
        }
        if let bad = numbers.first(where: { $0 < 0 || $0 > CheckLimits.versionMaximum }) {
            throw HistoryError(.malformed("operation \(operation.id): \(bad) is not between 0 and 2^62"), line: operation.invokeLine)
        }
    }
}
