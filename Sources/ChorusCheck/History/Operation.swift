/// Identifies a client process in a history (Jepsen's `:process`). A Jepsen
/// process that times out is never reused: the client continues under a new
/// number, which is why a lane in a report belongs to a process, not a thread.
public struct ProcessID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public init(integerLiteral value: Int64) { self.rawValue = value }
    public static func < (lhs: ProcessID, rhs: ProcessID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// The `:type` of a history event.
public enum EventType: String, Hashable, Sendable, CaseIterable {
    /// The client sent the request.
    case invoke
    /// The request completed and took effect, with this response.
    case ok
    /// The request definitely did not take effect.
    case fail
    /// The client does not know whether the request took effect.
    case info
}

/// One line of a recorded history: an invocation or a completion.
///
/// This is the form the simulator and the real-cluster tests build in memory
/// and the form every file format is parsed into. `History(events:)` pairs
/// each invocation with the next completion of the same process.
public struct HistoryEvent: Hashable, Sendable {
    public var process: ProcessID
    public var type: EventType
    /// The operation's function, such as `read`, `write`, `cas`, `get`, `append`.
    public var function: String
    /// The key, for models partitioned per key (Jepsen's `:key`); nil for a single object.
    public var key: HistoryValue?
    /// The invocation's argument, or the completion's response.
    public var value: HistoryValue
    /// The recorded time, in whatever unit the recorder used. Informational:
    /// real-time order is the order of the events (see `History`).
    public var time: Int64?
    /// The line of the source file, for error messages and reports.
    public var line: Int?

    public init(
        process: ProcessID, type: EventType, function: String, key: HistoryValue? = nil,
        value: HistoryValue = .null, time: Int64? = nil, line: Int? = nil
    ) {
        self.process = process
        self.type = type
        self.function = function
        self.key = key
        self.value = value
        self.time = time
        self.line = line
    }
}

/// How an operation ended.
///
/// The search treats `.ok` as "took effect, with this response", `.fail` as
/// "did not happen" (the operation is dropped), and the three indeterminate
/// outcomes alike: the operation may take effect at any point after its
/// invocation, or never (Jepsen's semantics for `:info`; Kingsbury & Alvaro,
/// "Elle", VLDB 2020, §2 summarise it).
public enum Outcome: Hashable, Sendable {
    case ok
    case fail
    /// Completed with `:info`: the client does not know.
    case info
    /// Completed with `:fail` and the value `:timed-out`. Jepsen's older etcd
    /// tests log a read whose response never came this way; it is not a
    /// definite failure, so it is treated as indeterminate.
    case timedOut
    /// Invoked, never completed.
    case pending

    /// True when the operation may or may not have taken effect.
    public var isIndeterminate: Bool {
        switch self {
        case .ok, .fail: return false
        case .info, .timedOut, .pending: return true
        }
    }
}

/// One operation of a history: an invocation paired with its completion.
public struct Operation: Hashable, Sendable {
    /// The operation's index in `History.operations`.
    public var id: Int
    public var process: ProcessID
    public var function: String
    public var key: HistoryValue?
    /// The value at invocation (`:value` of the `:invoke` event).
    public var input: HistoryValue
    /// The value at completion, or nil when the operation never completed.
    public var output: HistoryValue?
    public var outcome: Outcome
    /// When the operation was invoked, as a position in the history's
    /// real-time order. Operation A precedes B in real time exactly when
    /// `A.completedAt < B.invokedAt`; equal instants are concurrent.
    public var invokedAt: Int
    /// When the operation completed, in the same order; nil when it never did.
    public var completedAt: Int?
    /// Recorded times of the two events, when the recorder gave them.
    public var invokeTime: Int64?
    public var completeTime: Int64?
    /// Source lines of the two events, when parsed from a file.
    public var invokeLine: Int?
    public var completeLine: Int?

    public init(
        id: Int, process: ProcessID, function: String, key: HistoryValue? = nil, input: HistoryValue,
        output: HistoryValue?, outcome: Outcome, invokedAt: Int, completedAt: Int?,
        invokeTime: Int64? = nil, completeTime: Int64? = nil, invokeLine: Int? = nil, completeLine: Int? = nil
    ) {
        self.id = id
        self.process = process
        self.function = function
        self.key = key
        self.input = input
        self.output = output
        self.outcome = outcome
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.invokeTime = invokeTime
        self.completeTime = completeTime
        self.invokeLine = invokeLine
        self.completeLine = completeLine
    }

    /// The instant after which the operation can no longer take effect:
    /// its completion for a determinate operation, never for an indeterminate one.
    public var deadline: Int? { outcome.isIndeterminate ? nil : completedAt }

    /// A one-line summary for reports: `p3 cas [1 2] → ok`.
    public var summary: String {
        var text = "p\(process) \(function)"
        if let key { text += " \(key)" }
        text += " \(input)"
        switch outcome {
        case .ok: text += " → " + (output.map { "\($0)" } ?? "ok")
        case .fail: text += " → fail"
        case .info: text += " → info (indeterminate)"
        case .timedOut: text += " → timed out (indeterminate)"
        case .pending: text += " → no response (indeterminate)"
        }
        return text
    }
}
