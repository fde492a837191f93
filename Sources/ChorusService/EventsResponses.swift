import ChorusCore
import ChorusEventStore

/// The answers of the event-store operations. Every write answer carries the
/// log index it was applied at and the replica's applied index (the front
/// end's `X-Chorus-Index`); every read answer the applied index it was served at.

/// A single-stream append's answer.
public struct AppendResponse: Sendable, Hashable {
    /// Revisions and positions; `disposition` says whether the events were
    /// written now or recognised as an exact retry (then nothing was written).
    public var outcome: AppendOutcome
    /// The events' ids in order, including the ones the service assigned.
    public var eventIDs: [EventID]
    public var index: LogIndex
    public var appliedIndex: LogIndex
}

/// A multi-stream append's answer: one outcome per written stream, in request order.
public struct MultiStreamAppendResponse: Sendable, Hashable {
    public var outcome: MultiStreamAppendOutcome
    /// Per written stream, its events' ids in order.
    public var eventIDs: [[EventID]]
    public var index: LogIndex
    public var appliedIndex: LogIndex
}

public struct StreamReadResponse: Sendable, Hashable {
    public var page: StreamReadPage
    public var appliedIndex: LogIndex
}

public struct AllReadResponse: Sendable, Hashable {
    public var page: AllReadPage
    public var appliedIndex: LogIndex
}

public struct DeleteStreamResponse: Sendable, Hashable {
    public var deletion: StreamDeletion
    public var index: LogIndex
    public var appliedIndex: LogIndex
}

/// The answer of a metadata write, or of any write that returns no more than where it was applied.
public struct EventWriteAcknowledgement: Sendable, Hashable {
    public var index: LogIndex
    public var appliedIndex: LogIndex
}

/// What the store knows of a stream: its state, revisions and retention rules.
public struct StreamInfoResponse: Sendable, Hashable {
    public var info: StreamInfo
    public var appliedIndex: LogIndex
}

public struct GroupResponse: Sendable, Hashable {
    public var group: PersistentGroup
    public var appliedIndex: LogIndex
}

public struct GroupListResponse: Sendable, Hashable {
    public var groups: [PersistentGroup]
    public var appliedIndex: LogIndex
}

public struct ParkedEventsResponse: Sendable, Hashable {
    public var page: ParkedPage
    public var appliedIndex: LogIndex
}

/// A replay of parked events was requested: revisions of the parked stream
/// below `through` will be delivered again.
public struct ReplayParkedResponse: Sendable, Hashable {
    public var through: StreamRevision
    public var index: LogIndex
    public var appliedIndex: LogIndex
}
