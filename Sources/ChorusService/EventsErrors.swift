import ChorusAPI
import ChorusCore
import ChorusEventStore

/// One expected-state condition that did not hold, as every front end
/// reports it: the stream, what was expected, and what the stream is.
public struct StreamConflict: Sendable, Hashable {
    public var stream: StreamName
    public var expected: ExpectedState?
    public var actual: ActualStreamState
    /// Nil when the stream is tombstoned (a written stream of a multi-stream append).
    public var cause: WrongExpectedVersionCause?
    /// True for a check-only condition of a multi-stream append.
    public var isCheckOnly: Bool

    public init(
        stream: StreamName, expected: ExpectedState?, actual: ActualStreamState, cause: WrongExpectedVersionCause?,
        isCheckOnly: Bool
    ) {
        self.stream = stream
        self.expected = expected
        self.actual = actual
        self.cause = cause
        self.isCheckOnly = isCheckOnly
    }

    /// The stream's last revision, if it has one (the `actualRevision` of the error).
    public var actualRevision: StreamRevision? {
        switch actual {
        case .revision(let revision), .softDeleted(let revision): revision
        case .absent, .tombstoned: nil
        }
    }

    /// `N`, `no_stream` (absent or soft-deleted with nothing to continue) or `deleted`: the
    /// `X-Chorus-Actual-Revision` text.
    public var actualText: String {
        switch actual {
        case .revision(let revision): "\(revision.rawValue)"
        case .softDeleted(let revision): "\(revision.rawValue)"
        case .absent: "no_stream"
        case .tombstoned: "deleted"
        }
    }

    var json: JSONValue {
        var object: JSONObject = ["stream": .string(stream.text)]
        if let expected { object["expected"] = .string(ExpectedState.text(of: expected)) }
        object["actual"] = .string(Self.stateName(actual))
        object["actualRevision"] = actualRevision.map { .number(JSONNumber($0.rawValue)) } ?? .null
        if let cause { object["cause"] = .string(Self.causeName(cause)) }
        object["checkOnly"] = .bool(isCheckOnly)
        return .object(object)
    }

    static func stateName(_ state: ActualStreamState) -> String {
        switch state {
        case .absent: "no_stream"
        case .revision: "exists"
        case .softDeleted: "soft_deleted"
        case .tombstoned: "deleted"
        }
    }

    static func causeName(_ cause: WrongExpectedVersionCause) -> String {
        switch cause {
        case .stateMismatch: "state_mismatch"
        case .partialRetry: "partial_retry"
        case .retryWithDifferentExpectation: "retry_with_different_expectation"
        }
    }
}

extension ServiceError {
    /// The event store's refusal of a command, with its code and facts.
    /// Successes never come here (`EventStoreResult.isSuccess`).
    init(refusal result: EventStoreResult) {
        switch result {
        case .wrongExpectedVersion(let failure):
            let conflict = StreamConflict(
                stream: failure.stream, expected: failure.expected, actual: failure.actual, cause: failure.cause,
                isCheckOnly: false)
            self.init(.wrongExpectedVersion, Self.sentence(failure))
            self.conflicts = [conflict]
            problem.details = conflict.json.objectValue ?? JSONObject()
        case .multiStreamConditionsFailed(let violations):
            let conflicts = violations.map { violation in
                switch violation.kind {
                case .wrongExpectedVersion(let expected, let actual, let cause):
                    StreamConflict(
                        stream: violation.stream, expected: expected, actual: actual, cause: cause,
                        isCheckOnly: violation.isCheckOnly)
                case .streamDeleted:
                    StreamConflict(
                        stream: violation.stream, expected: nil, actual: .tombstoned, cause: nil,
                        isCheckOnly: violation.isCheckOnly)
                }
            }
            let names = conflicts.map(\.stream.text).joined(separator: ", ")
            self.init(.wrongExpectedVersion, "\(conflicts.count) condition(s) of the multi-stream append failed: \(names)")
            self.conflicts = conflicts
            problem.details = ["violations": .array(conflicts.map(\.json))]
        case .streamDeleted(let stream):
            self.init(.streamDeleted, "the stream \(stream.text) is deleted (tombstoned) for good")
            problem.details = ["stream": .string(stream.text)]
        case .appendTooLarge(let tooLarge):
            self.init(.appendTooLarge, Self.sentence(tooLarge))
            problem.details = ["actual": .number(JSONNumber(tooLarge.actual)), "limit": .number(JSONNumber(tooLarge.limit))]
        case .invalidEvent(let invalid):
            self.init(.invalidEvent, Self.sentence(invalid))
            var details = JSONObject()
            if let stream = invalid.streamIndex { details["streamIndex"] = .number(JSONNumber(stream)) }
            if let event = invalid.eventIndex { details["eventIndex"] = .number(JSONNumber(event)) }
            problem.details = details
        case .invalidStreamName(let stream, let problem):
            self.init(.invalidStreamName, "\(problem) (\(JSONString.quoted(stream.text)))")
        case .storeFull(let full):
            self.init(.storeFull, "the event store holds its maximum of \(full.limit) \(Self.resourceName(full.resource))")
        case .groupAlreadyExists(let key):
            self.init(.groupAlreadyExists, "the group \(key.group) on \(key.stream.text) exists already")
        case .groupNotFound(let key):
            self.init(.groupNotFound, "there is no group \(key.group) on \(key.stream.text)")
        case .invalidGroup(let key, let reason):
            self.init(.invalidGroup, "group \(key.group) on \(key.stream.text): \(reason)")
        case .eventNotFound(let position):
            self.init(.eventNotFound, "no retained event at position \(position.rawValue)")
            problem.details = ["position": .number(JSONNumber(position.rawValue))]
        case .malformedCommand(let reason):
            self.init(.rejected, "the event store refused the command as malformed: \(reason)")
        default:
            preconditionFailure("\(result) is not a refusal")
        }
    }

    static func sentence(_ failure: WrongExpectedVersion) -> String {
        let actual: String
        switch failure.actual {
        case .absent: actual = "it has no events"
        case .revision(let revision): actual = "its last revision is \(revision.rawValue)"
        case .softDeleted(let revision): actual = "it was soft-deleted after revision \(revision.rawValue)"
        case .tombstoned: actual = "it is deleted"
        }
        let cause: String
        switch failure.cause {
        case .stateMismatch: cause = ""
        case .partialRetry:
            cause = "; some of these event ids are in the stream already, but not as exactly this batch (a partial or overlapping retry)"
        case .retryWithDifferentExpectation:
            cause = "; this batch was written before, under a state this expectation would not have accepted"
        }
        return "stream \(failure.stream.text) was expected to be \(ExpectedState.text(of: failure.expected)), but \(actual)\(cause)"
    }

    static func sentence(_ tooLarge: AppendTooLarge) -> String {
        switch tooLarge.measure {
        case .eventBytes(let stream, let event):
            "event \(event) (stream \(stream)) has \(tooLarge.actual) bytes of type, data and metadata; the limit is \(tooLarge.limit)"
        case .appendBytes: "the append has \(tooLarge.actual) bytes of events; the limit is \(tooLarge.limit)"
        case .eventCount: "the append has \(tooLarge.actual) events; the limit is \(tooLarge.limit)"
        case .commandBytes: "the append encodes to \(tooLarge.actual) bytes; the limit is \(tooLarge.limit)"
        }
    }

    static func sentence(_ invalid: InvalidEvent) -> String {
        let what: String
        switch invalid.problem {
        case .duplicateEventID(let id): what = "the event id \(id) appears twice"
        case .emptyType: what = "an event type must not be empty"
        case .typeTooLong(let bytes, let limit): what = "an event type of \(bytes) bytes exceeds the limit of \(limit)"
        case .typeControlCharacter: what = "an event type must not contain control characters"
        case .schemaVersionZero: what = "a schema version must be at least 1"
        case .noEvents: what = "an append must carry at least one event"
        case .duplicateStream(let stream): what = "the stream \(stream.text) is named twice"
        case .tooManyStreams(let count, let limit): what = "\(count) streams exceed the limit of \(limit)"
        case .invalidKeyValueChange(let reason): what = reason
        }
        var place = ""
        if let event = invalid.eventIndex { place += " (event \(event)" + (invalid.streamIndex.map { ", stream \($0))" } ?? ")") }
        return what + place
    }

    static func resourceName(_ resource: StoreFull.Resource) -> String {
        switch resource {
        case .streams: "streams"
        case .events: "retained events"
        case .payloadBytes: "payload bytes"
        }
    }
}
