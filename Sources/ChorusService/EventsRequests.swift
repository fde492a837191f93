import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusReplica

/// The event-store operations as typed values every front end builds (the
/// HTTP routes under `/v1/streams`, the CLI through them). Each becomes one
/// `EventStoreCommand` or `EventStoreQuery` in `ChorusService`.

/// An event a client asks to append; the store gives it a revision, a global
/// position and the leader's recorded time.
public struct EventDraft: Sendable, Hashable {
    /// The client's id for the event, which is what makes a retried append
    /// recognisable (Sources/ChorusEventStore/README.md, "Idempotency").
    /// Nil: the service assigns a random version-4 UUID, and then a retry of
    /// the same request is **not** idempotent: it carries other ids and
    /// appends the events again. Clients that retry must choose ids.
    public var id: EventID?
    public var type: String
    public var data: [UInt8]
    public var metadata: [UInt8]
    public var contentType: ContentType
    /// The version of the type's schema, for upcasting (1 unless said otherwise; 0 is refused).
    public var schemaVersion: UInt32

    public init(
        id: EventID? = nil, type: String, data: [UInt8], metadata: [UInt8] = [], contentType: ContentType = .json,
        schemaVersion: UInt32 = 1
    ) {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
        self.contentType = contentType
        self.schemaVersion = schemaVersion
    }
}

/// Appends events to one stream if the stream is in the expected state.
public struct AppendRequest: Sendable, Hashable {
    public var stream: StreamName
    public var expected: ExpectedState
    public var events: [EventDraft]

    public init(stream: StreamName, expected: ExpectedState = .any, events: [EventDraft]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// Appends to several streams atomically, with check-only conditions on
/// others: all or nothing, and on failure every violated condition at once.
public struct MultiStreamAppendRequest: Sendable, Hashable {
    public var writes: [AppendRequest]
    public var checks: [StreamCondition]

    public init(writes: [AppendRequest], checks: [StreamCondition] = []) {
        self.writes = writes
        self.checks = checks
    }
}

/// How fresh an event-store read must be: the Raft levels of DESIGN.md §2,
/// mapped to the replica's `ReadRequirement` as key-value reads map them.
/// `session` is `sequential` here (the session is the `X-Chorus-Index` the
/// client carries as `minimumIndex`); `consistentPrefix` and `eventual` read
/// the replica's applied state at once (on Raft data always a prefix of the
/// log). `boundedStaleness` needs bounds the event routes do not take yet:
/// front ends refuse it, and a request that names it anyway is served
/// `linearizable`, which is stronger.
public struct EventReadConsistency: Sendable, Hashable {
    public var level: ConsistencyLevel
    /// For `sequential`: the oldest applied index the answer may come from
    /// (the session's largest `X-Chorus-Index`).
    public var minimumIndex: LogIndex

    public init(level: ConsistencyLevel = .default, minimumIndex: LogIndex = .zero) {
        self.level = level
        self.minimumIndex = minimumIndex
    }

    public static let linearizable = EventReadConsistency(level: .linearizable)

    public var requirement: ReadRequirement {
        // Without bounds, bounded staleness is served by the stronger level.
        guard level != .boundedStaleness else { return .linearizable }
        return ChorusService.requirement(ReadConsistency(level), seen: minimumIndex, tickMilliseconds: 1)
    }
}

/// Reads one stream.
public struct ReadStreamRequest: Sendable, Hashable {
    public var stream: StreamName
    public var direction: ReadDirection
    public var from: StreamReadStart
    /// At most this many events (1 … `EventStoreLimits.maximumReadCount`).
    public var limit: Int
    /// Read the stream as it was right after the command that assigned this position.
    public var asOf: GlobalPosition?
    public var consistency: EventReadConsistency

    public init(
        stream: StreamName, direction: ReadDirection = .forwards, from: StreamReadStart = .start, limit: Int = 100,
        asOf: GlobalPosition? = nil, consistency: EventReadConsistency = .linearizable
    ) {
        self.stream = stream
        self.direction = direction
        self.from = from
        self.limit = limit
        self.asOf = asOf
        self.consistency = consistency
    }
}

/// Reads `$all`.
public struct ReadAllRequest: Sendable, Hashable {
    public var direction: ReadDirection
    public var from: AllReadStart
    public var limit: Int
    public var filter: EventFilter
    public var consistency: EventReadConsistency

    public init(
        direction: ReadDirection = .forwards, from: AllReadStart = .start, limit: Int = 100,
        filter: EventFilter = .clientStreams, consistency: EventReadConsistency = .linearizable
    ) {
        self.direction = direction
        self.from = from
        self.limit = limit
        self.filter = filter
        self.consistency = consistency
    }
}

/// Deletes a stream: soft (it reads as absent; a later append continues the
/// numbering) or hard (a tombstone, forever).
public struct DeleteStreamRequest: Sendable, Hashable {
    public enum Mode: Sendable, Hashable { case soft, hard }

    public var stream: StreamName
    public var expected: ExpectedState
    public var mode: Mode

    public init(stream: StreamName, expected: ExpectedState = .any, mode: Mode = .soft) {
        self.stream = stream
        self.expected = expected
        self.mode = mode
    }
}

/// Creates a persistent subscription group on a stream or on `$all`.
public struct CreateGroupRequest: Sendable, Hashable {
    public var key: PersistentGroupKey
    /// For `$all` groups only (nil: client streams).
    public var filter: EventFilter?
    public var settings: PersistentGroupSettings
    public var start: PersistentGroupStart

    public init(
        key: PersistentGroupKey, filter: EventFilter? = nil, settings: PersistentGroupSettings = PersistentGroupSettings(),
        start: PersistentGroupStart = .start
    ) {
        self.key = key
        self.filter = filter
        self.settings = settings
        self.start = start
    }
}

/// Where a catch-up subscription starts (exclusive: it delivers what comes after).
public enum SubscriptionStart: Sendable, Hashable {
    /// From the first event.
    case start
    /// After the events that exist when it starts: only new ones.
    case end
    /// After the event (or checkpoint) at this global position: a resume from
    /// a `Last-Event-ID` or a checkpoint. Refused beyond the head.
    case afterPosition(GlobalPosition)
    /// After this revision of the subscribed stream (streams only).
    case afterRevision(StreamRevision)
}

/// A catch-up subscription to a stream or to `$all` (through a filter).
public struct SubscribeRequest: Sendable, Hashable {
    public var source: SubscriptionSource
    public var start: SubscriptionStart
    /// The first read's consistency; later reads follow the replica's applied index.
    public var consistency: EventReadConsistency

    public init(source: SubscriptionSource, start: SubscriptionStart = .start, consistency: EventReadConsistency = .linearizable) {
        self.source = source
        self.start = start
        self.consistency = consistency
    }
}
