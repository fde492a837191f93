import ChorusCore

/// An event as a client proposes it, before the store gives it a revision, a
/// position and a recorded time.
public struct ProposedEvent: Hashable, Sendable {
    public var id: EventID
    /// The event type, as the client names it (`OrderPlaced`); UTF-8, non-empty,
    /// at most `maximumEventTypeBytes`, no control characters.
    public var type: String
    public var data: [UInt8]
    public var metadata: [UInt8]
    public var contentType: ContentType
    /// The version of the event type's schema, for upcasting (the projections
    /// issue): 1 unless the client says otherwise; 0 is refused.
    public var schemaVersion: UInt32

    public init(
        id: EventID, type: String, data: [UInt8], metadata: [UInt8] = [], contentType: ContentType = .json,
        schemaVersion: UInt32 = 1
    ) {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
        self.contentType = contentType
        self.schemaVersion = schemaVersion
    }

    /// Type, data and metadata bytes: what `maximumEventBytes` bounds.
    public var payloadByteCount: Int { type.utf8.count + data.count + metadata.count }
}

/// Appends `events` to one stream if `expected` holds.
public struct StreamAppend: Hashable, Sendable {
    public var stream: StreamName
    public var expected: ExpectedState
    public var events: [ProposedEvent]

    public init(stream: StreamName, expected: ExpectedState, events: [ProposedEvent]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// A condition on a stream that a multi-stream append checks without writing to it.
public struct StreamCondition: Hashable, Sendable {
    public var stream: StreamName
    public var expected: ExpectedState

    public init(stream: StreamName, expected: ExpectedState) {
        self.stream = stream
        self.expected = expected
    }
}

/// Appends to several streams atomically: every write's and every check's
/// expected state must hold, or nothing is written and every violated
/// condition is reported together. Each stream appears at most once.
public struct MultiStreamAppend: Hashable, Sendable {
    public var writes: [StreamAppend]
    public var checks: [StreamCondition]

    public init(writes: [StreamAppend], checks: [StreamCondition] = []) {
        self.writes = writes
        self.checks = checks
    }
}
