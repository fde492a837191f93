import ChorusEventStore

/// One transaction the edge must run: the statements of a run of consecutive
/// events, then the checkpoint, committed together or not at all. That is
/// what makes "no event skipped, none applied twice" hold across crashes: the
/// tables and the checkpoint are one atomic state (issue 11).
public struct ProjectionWrite: Sendable, Hashable {
    /// In execution order; `eventIndex` says which event of the write each belongs to.
    public var statements: [BoundStatement]
    /// The checkpoint to store with the rows: every position up to it is folded.
    public var checkpoint: SubscriptionCursor
    /// The events this write folds (the first `eventCount` pending events).
    public var eventCount: Int
    /// The operator skipped this event: the write stores only the checkpoint past it.
    public var skipped: ParkedEvent?

    public init(statements: [BoundStatement], checkpoint: SubscriptionCursor, eventCount: Int, skipped: ParkedEvent? = nil) {
        self.statements = statements
        self.checkpoint = checkpoint
        self.eventCount = eventCount
        self.skipped = skipped
    }
}

/// A statement with its values for `?1…?n`.
public struct BoundStatement: Sendable, Hashable {
    public var sql: String
    public var values: [ProjectionValue]
    /// The event of the write (0-based) whose handler this statement belongs to.
    public var eventIndex: Int

    public init(sql: String, values: [ProjectionValue], eventIndex: Int) {
        self.sql = sql
        self.values = values
        self.eventIndex = eventIndex
    }
}

/// What the runner asks its edge to do next.
public enum ProjectionAction: Sendable, Hashable {
    /// Read the next batch of the source after this cursor (`EventStore.subscriptionBatch`).
    case read(after: SubscriptionCursor)
    /// Run this transaction, then report `committed()` or `failed(eventIndex:error:now:)`.
    case write(ProjectionWrite)
    /// Nothing until this time (a retry's backoff), on the edge's monotonic clock.
    case sleep(untilMilliseconds: Int64)
    /// Parked: nothing until an operator retries or skips.
    case awaitOperator(ParkedEvent)
}

/// An operator command the runner refuses.
public enum ProjectionCommandError: Error, Sendable, Hashable, CustomStringConvertible {
    case notParked

    public var description: String {
        switch self {
        case .notParked: "the projection is not parked: there is no event to retry or skip"
        }
    }
}
