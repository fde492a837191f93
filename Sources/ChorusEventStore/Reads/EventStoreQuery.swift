/// A read of the applied state (the seam's `Query`), answered outside the log
/// once the driver has decided this replica may answer at the requested
/// consistency level.
public enum EventStoreQuery: Hashable, Sendable {
    case readStream(StreamReadRequest)
    case readAll(AllReadRequest)
    case streamInfo(StreamName)
    /// The next batch of a catch-up subscription (see `EventStore.subscriptionBatch`).
    case subscriptionBatch(source: SubscriptionSource, after: SubscriptionCursor, maximumCount: Int)
    case group(PersistentGroupKey)
    case groups
    /// A group's parked events, resolved to the events they refer to.
    case readParked(key: PersistentGroupKey, from: StreamRevision, maximumCount: Int)
}

/// The answer to an `EventStoreQuery`, case for case.
public enum EventStoreQueryResult: Hashable, Sendable {
    case stream(StreamReadResult)
    case all(AllReadResult)
    case streamInfo(StreamInfo?)
    case subscriptionBatch(SubscriptionBatchResult)
    case group(PersistentGroup?)
    case groups([PersistentGroup])
    case parked(ParkedReadResult)
}

public enum ReadDirection: Hashable, Sendable {
    case forwards, backwards
}

/// Where a stream read starts (inclusive).
public enum StreamReadStart: Hashable, Sendable {
    /// The first visible revision (forwards) …
    case start
    /// … or the last revision (backwards).
    case end
    case revision(StreamRevision)
}

public struct StreamReadRequest: Hashable, Sendable {
    public var stream: StreamName
    public var direction: ReadDirection
    public var from: StreamReadStart
    /// At most this many events (capped at `maximumReadCount`).
    public var maximumCount: Int
    /// Read the stream as it was right after the command that assigned this
    /// position: only events at or before it, under the rules in force then
    /// (see `StreamReadResult.asOfNotRetained` for what cannot be answered).
    public var asOf: GlobalPosition?

    public init(
        stream: StreamName, direction: ReadDirection = .forwards, from: StreamReadStart = .start, maximumCount: Int,
        asOf: GlobalPosition? = nil
    ) {
        self.stream = stream
        self.direction = direction
        self.from = from
        self.maximumCount = maximumCount
        self.asOf = asOf
    }
}

public enum StreamReadResult: Hashable, Sendable {
    case events(StreamReadPage)
    /// The stream has no events, never had any, or is soft-deleted.
    case streamNotFound(StreamName)
    /// The stream is tombstoned.
    case streamDeleted(StreamName)
    /// An "as of" read the store cannot answer exactly: the rules changed after
    /// that position, `maximumAge` applies, or the events it needs were scavenged.
    /// It is an error, never a wrong state.
    case asOfNotRetained(StreamName, reason: String)
}

public struct StreamReadPage: Hashable, Sendable {
    public var stream: StreamName
    public var events: [RecordedEvent]
    /// Where the next page starts (pass it as `.revision`), or nil at the end.
    public var nextRevision: StreamRevision?
    /// The stream's last revision (what `revision r` should name to append).
    public var lastRevision: StreamRevision
    /// The first revision the retention rules leave visible.
    public var firstVisibleRevision: StreamRevision

    public init(
        stream: StreamName, events: [RecordedEvent], nextRevision: StreamRevision?, lastRevision: StreamRevision,
        firstVisibleRevision: StreamRevision
    ) {
        self.stream = stream
        self.events = events
        self.nextRevision = nextRevision
        self.lastRevision = lastRevision
        self.firstVisibleRevision = firstVisibleRevision
    }
}

/// Where an `$all` read starts (inclusive).
public enum AllReadStart: Hashable, Sendable {
    case start
    case end
    case position(GlobalPosition)
}

public struct AllReadRequest: Hashable, Sendable {
    public var direction: ReadDirection
    public var from: AllReadStart
    public var maximumCount: Int
    public var filter: EventFilter

    public init(
        direction: ReadDirection = .forwards, from: AllReadStart = .start, maximumCount: Int, filter: EventFilter = .clientStreams
    ) {
        self.direction = direction
        self.from = from
        self.maximumCount = maximumCount
        self.filter = filter
    }
}

public enum AllReadResult: Hashable, Sendable {
    case events(AllReadPage)
    case invalidFilter(String)
}

/// A page of `$all`. Deleted and truncated events are in `$all` until a
/// scavenge removes them.
public struct AllReadPage: Hashable, Sendable {
    public var events: [RecordedEvent]
    /// Where the next page starts (pass it as `.position`), or nil at the end.
    public var nextPosition: GlobalPosition?
    /// The last position the read examined, matching or not (a filtered read
    /// examines at most `maximumScannedEventsPerRead`): a checkpoint that skips
    /// what the filter left out. Nil if it examined nothing.
    public var scannedThrough: GlobalPosition?
    /// The position the next appended event will get.
    public var headPosition: GlobalPosition

    public init(
        events: [RecordedEvent], nextPosition: GlobalPosition?, scannedThrough: GlobalPosition?, headPosition: GlobalPosition
    ) {
        self.events = events
        self.nextPosition = nextPosition
        self.scannedThrough = scannedThrough
        self.headPosition = headPosition
    }
}

/// What the store knows about a stream.
public struct StreamInfo: Hashable, Sendable {
    public var stream: StreamName
    public var state: ActualStreamState
    public var metadata: StreamMetadata
    /// The first revision reads see, and the first one still in memory.
    public var firstVisibleRevision: StreamRevision
    public var firstRetainedRevision: StreamRevision
    /// Revisions ever assigned (the next append's revision).
    public var nextRevision: StreamRevision

    public init(
        stream: StreamName, state: ActualStreamState, metadata: StreamMetadata, firstVisibleRevision: StreamRevision,
        firstRetainedRevision: StreamRevision, nextRevision: StreamRevision
    ) {
        self.stream = stream
        self.state = state
        self.metadata = metadata
        self.firstVisibleRevision = firstVisibleRevision
        self.firstRetainedRevision = firstRetainedRevision
        self.nextRevision = nextRevision
    }
}

public enum ParkedReadResult: Hashable, Sendable {
    case entries(ParkedPage)
    case groupNotFound(PersistentGroupKey)
}

/// One parked event: the reference in the parked stream and the event it
/// names (nil once that event was scavenged).
public struct ParkedEntry: Hashable, Sendable {
    public var parkedRevision: StreamRevision
    public var position: GlobalPosition
    public var reason: String
    public var event: RecordedEvent?

    public init(parkedRevision: StreamRevision, position: GlobalPosition, reason: String, event: RecordedEvent?) {
        self.parkedRevision = parkedRevision
        self.position = position
        self.reason = reason
        self.event = event
    }
}

public struct ParkedPage: Hashable, Sendable {
    public var entries: [ParkedEntry]
    /// Where the next page starts, or nil at the parked stream's end.
    public var nextRevision: StreamRevision?

    public init(entries: [ParkedEntry], nextRevision: StreamRevision?) {
        self.entries = entries
        self.nextRevision = nextRevision
    }
}
