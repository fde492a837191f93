/// What applying one command returns to the waiting writer. Every case has a
/// stable machine-readable `code` (the HTTP API's error codes).
public enum EventStoreResult: Hashable, Sendable, CustomStringConvertible {
    // MARK: Successes

    /// A single-stream append: written now, or an exact retry of a batch already
    /// written (then nothing was written and the original revisions and
    /// positions are returned).
    case appended(AppendOutcome)
    /// A multi-stream append: every written stream's outcome, in command order.
    case appendedMultiple(MultiStreamAppendOutcome)
    case deleted(StreamDeletion)
    case metadataSet(stream: StreamName)
    case keyValueChangesRecorded(KeyValueFeedOutcome)
    case groupCreated(PersistentGroup)
    case groupDeleted(PersistentGroupKey)
    /// The group's checkpoint now (unchanged when the proposal was older).
    case checkpointAdvanced(key: PersistentGroupKey, checkpoint: SubscriptionCursor)
    case eventParked(ParkOutcome)
    /// Parked-stream revisions below `through` are to be replayed.
    case replayRequested(key: PersistentGroupKey, through: StreamRevision)
    /// Parked-stream revisions below `through` are replayed and done.
    case replayAdvanced(key: PersistentGroupKey, through: StreamRevision)
    case scavenged(ScavengeReport)
    /// The store's clock now (it never goes back).
    case clockAdvanced(RecordedTime)

    // MARK: Refusals (nothing was changed)

    /// The expected state did not hold; `actual` names the stream's state.
    case wrongExpectedVersion(WrongExpectedVersion)
    /// A multi-stream append whose conditions did not all hold: every violation, in command order.
    case multiStreamConditionsFailed([ConditionViolation])
    /// The stream is tombstoned.
    case streamDeleted(StreamName)
    case appendTooLarge(AppendTooLarge)
    case invalidEvent(InvalidEvent)
    case invalidStreamName(StreamName, StreamNameProblem)
    case storeFull(StoreFull)
    case groupAlreadyExists(PersistentGroupKey)
    case groupNotFound(PersistentGroupKey)
    /// A group command with a bad name, filter, settings or bounds.
    case invalidGroup(PersistentGroupKey, reason: String)
    /// No retained event at this position (never written, or scavenged).
    case eventNotFound(GlobalPosition)
    /// The command bytes did not decode.
    case malformedCommand(String)

    /// The stable code of the outcome, as the API reports it.
    public var code: String {
        switch self {
        case .appended(let outcome): outcome.disposition == .written ? "appended" : "already_appended"
        case .appendedMultiple(let outcome): outcome.disposition == .written ? "appended" : "already_appended"
        case .deleted: "deleted"
        case .metadataSet: "metadata_set"
        case .keyValueChangesRecorded: "key_value_changes_recorded"
        case .groupCreated: "group_created"
        case .groupDeleted: "group_deleted"
        case .checkpointAdvanced: "checkpoint_advanced"
        case .eventParked: "event_parked"
        case .replayRequested: "replay_requested"
        case .replayAdvanced: "replay_advanced"
        case .scavenged: "scavenged"
        case .clockAdvanced: "clock_advanced"
        case .wrongExpectedVersion: "wrong_expected_version"
        case .multiStreamConditionsFailed: "wrong_expected_version"
        case .streamDeleted: "stream_deleted"
        case .appendTooLarge: "append_too_large"
        case .invalidEvent: "invalid_event"
        case .invalidStreamName: "invalid_stream_name"
        case .storeFull: "store_full"
        case .groupAlreadyExists: "group_already_exists"
        case .groupNotFound: "group_not_found"
        case .invalidGroup: "invalid_group"
        case .eventNotFound: "event_not_found"
        case .malformedCommand: "malformed_command"
        }
    }

    public var isSuccess: Bool {
        switch self {
        case .appended, .appendedMultiple, .deleted, .metadataSet, .keyValueChangesRecorded, .groupCreated, .groupDeleted,
            .checkpointAdvanced, .eventParked, .replayRequested, .replayAdvanced, .scavenged, .clockAdvanced:
            true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .appended(let outcome): "\(code) \(outcome)"
        case .wrongExpectedVersion(let failure): "\(code) \(failure)"
        case .multiStreamConditionsFailed(let violations): "\(code) \(violations)"
        case .streamDeleted(let stream): "\(code) \(stream)"
        case .invalidStreamName(let stream, let problem): "\(code) \(stream): \(problem)"
        case .invalidGroup(let key, let reason): "\(code) \(key): \(reason)"
        case .malformedCommand(let reason): "\(code): \(reason)"
        default: code
        }
    }
}

/// Whether an append wrote events or recognised a retry of events it had written.
public enum AppendDisposition: Hashable, Sendable {
    case written
    /// An exact retry: nothing was written; the revisions and positions are the original ones.
    case alreadyWritten
}

/// Where one stream's events of an append went.
public struct AppendOutcome: Hashable, Sendable, CustomStringConvertible {
    public var stream: StreamName
    public var firstRevision: StreamRevision
    public var lastRevision: StreamRevision
    public var firstPosition: GlobalPosition
    public var lastPosition: GlobalPosition
    public var disposition: AppendDisposition
    /// How far back the id window reached when this append was checked: a retry
    /// with `any` or `stream_exists` of a batch written before this horizon is
    /// not recognised and is written again (see README, "Idempotency").
    /// Nil when the window was empty.
    public var idempotencyHorizon: IdempotencyHorizon?

    public init(
        stream: StreamName, firstRevision: StreamRevision, lastRevision: StreamRevision, firstPosition: GlobalPosition,
        lastPosition: GlobalPosition, disposition: AppendDisposition, idempotencyHorizon: IdempotencyHorizon?
    ) {
        self.stream = stream
        self.firstRevision = firstRevision
        self.lastRevision = lastRevision
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.disposition = disposition
        self.idempotencyHorizon = idempotencyHorizon
    }

    public var description: String {
        "\(stream) \(firstRevision)...\(lastRevision) at \(firstPosition)...\(lastPosition)\(disposition == .written ? "" : " (retry)")"
    }
}

/// The oldest event whose id the window still held.
public struct IdempotencyHorizon: Hashable, Sendable {
    public var oldestPosition: GlobalPosition
    public var oldestRecordedTime: RecordedTime

    public init(oldestPosition: GlobalPosition, oldestRecordedTime: RecordedTime) {
        self.oldestPosition = oldestPosition
        self.oldestRecordedTime = oldestRecordedTime
    }
}

public struct MultiStreamAppendOutcome: Hashable, Sendable {
    /// One outcome per written stream, in command order.
    public var streams: [AppendOutcome]
    public var disposition: AppendDisposition

    public init(streams: [AppendOutcome], disposition: AppendDisposition) {
        self.streams = streams
        self.disposition = disposition
    }
}

/// Why an expected-state check failed.
public enum WrongExpectedVersionCause: Hashable, Sendable {
    /// The stream is not in the expected state.
    case stateMismatch
    /// Some of the batch's ids are already in the stream, but the batch is not
    /// exactly one batch written before (it overlaps partly, its first id
    /// differs, or it is a part of an earlier batch).
    case partialRetry
    /// The batch was written before, but under a state this request's
    /// expectation would not have accepted (a different expected revision).
    case retryWithDifferentExpectation
}

public struct WrongExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    public var stream: StreamName
    public var expected: ExpectedState
    public var actual: ActualStreamState
    public var cause: WrongExpectedVersionCause

    public init(stream: StreamName, expected: ExpectedState, actual: ActualStreamState, cause: WrongExpectedVersionCause) {
        self.stream = stream
        self.expected = expected
        self.actual = actual
        self.cause = cause
    }

    public var description: String { "\(stream): expected \(expected), actual \(actual) (\(cause))" }
}

/// One failed condition of a multi-stream append.
public struct ConditionViolation: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case wrongExpectedVersion(expected: ExpectedState, actual: ActualStreamState, cause: WrongExpectedVersionCause)
        case streamDeleted
    }

    public var stream: StreamName
    /// True for a check-only condition, false for a stream the append writes.
    public var isCheckOnly: Bool
    public var kind: Kind

    public init(stream: StreamName, isCheckOnly: Bool, kind: Kind) {
        self.stream = stream
        self.isCheckOnly = isCheckOnly
        self.kind = kind
    }

    public var description: String { "\(stream)\(isCheckOnly ? " (check)" : ""): \(kind)" }
}

public struct AppendTooLarge: Hashable, Sendable {
    public enum Measure: Hashable, Sendable {
        /// One event's type + data + metadata bytes (the event's index in its stream's batch).
        case eventBytes(streamIndex: Int, eventIndex: Int)
        /// All events of the append together.
        case appendBytes
        /// The number of events of the append.
        case eventCount
        /// The encoded command.
        case commandBytes
    }

    public var measure: Measure
    public var actual: Int
    public var limit: Int

    public init(measure: Measure, actual: Int, limit: Int) {
        self.measure = measure
        self.actual = actual
        self.limit = limit
    }
}

public struct InvalidEvent: Hashable, Sendable {
    public enum Problem: Hashable, Sendable {
        /// An id appears twice in one batch (or twice across the streams' batches of one stream).
        case duplicateEventID(EventID)
        case emptyType
        case typeTooLong(bytes: Int, limit: Int)
        case typeControlCharacter
        case schemaVersionZero
        /// An append must carry at least one event.
        case noEvents
        /// A stream named twice in one multi-stream append.
        case duplicateStream(StreamName)
        case tooManyStreams(count: Int, limit: Int)
        /// A key-value change with a bad keyspace or key.
        case invalidKeyValueChange(String)
    }

    /// The stream's index in the command (0 for a single-stream append), if the problem is in one.
    public var streamIndex: Int?
    /// The event's index in its stream's batch, if the problem is one event's.
    public var eventIndex: Int?
    public var problem: Problem

    public init(streamIndex: Int?, eventIndex: Int?, problem: Problem) {
        self.streamIndex = streamIndex
        self.eventIndex = eventIndex
        self.problem = problem
    }
}

public struct StoreFull: Hashable, Sendable {
    public enum Resource: Hashable, Sendable {
        case streams, events, payloadBytes
    }

    public var resource: Resource
    public var limit: Int

    public init(resource: Resource, limit: Int) {
        self.resource = resource
        self.limit = limit
    }
}

public struct StreamDeletion: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case soft, hard }

    public var stream: StreamName
    public var kind: Kind
    /// The stream's last revision when it was deleted (nil if it had no events).
    public var lastRevision: StreamRevision?

    public init(stream: StreamName, kind: Kind, lastRevision: StreamRevision?) {
        self.stream = stream
        self.kind = kind
        self.lastRevision = lastRevision
    }
}

public struct KeyValueFeedOutcome: Hashable, Sendable {
    /// The position of each change's feed event, in order.
    public var positions: [GlobalPosition]

    public init(positions: [GlobalPosition]) { self.positions = positions }
}

public struct ParkOutcome: Hashable, Sendable {
    public var key: PersistentGroupKey
    /// The parked event's position in its source.
    public var position: GlobalPosition
    /// The revision of the reference in the parked stream.
    public var parkedRevision: StreamRevision

    public init(key: PersistentGroupKey, position: GlobalPosition, parkedRevision: StreamRevision) {
        self.key = key
        self.position = position
        self.parkedRevision = parkedRevision
    }
}

public struct ScavengeReport: Hashable, Sendable {
    public var removedEvents: Int
    public var removedPayloadBytes: Int
    public var retainedEvents: Int
    /// True when the store ran it by itself (see `automaticScavengeMinimumReclaimableEvents`).
    public var automatic: Bool

    public init(removedEvents: Int, removedPayloadBytes: Int, retainedEvents: Int, automatic: Bool) {
        self.removedEvents = removedEvents
        self.removedPayloadBytes = removedPayloadBytes
        self.retainedEvents = retainedEvents
        self.automatic = automatic
    }
}
