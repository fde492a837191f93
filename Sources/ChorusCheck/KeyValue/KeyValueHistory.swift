/// What a key-value operation did.
public enum KeyValueFunction: String, Hashable, Sendable, CaseIterable {
    case read
    case write
    case delete
    /// A read of every key under a prefix (issue 13's `GET /v1/kv?prefix=P`).
    case rangeRead = "range"
}

/// One key and the version a range read returned for it.
public struct RangeEntry: Hashable, Sendable {
    public var key: String
    public var version: Int64

    public init(key: String, version: Int64) {
        self.key = key
        self.version = version
    }
}

/// What a range read returned: the keys present under its prefix, in key
/// order, each with the version it held.
public struct RangeReadResult: Hashable, Sendable {
    public var entries: [RangeEntry]
    /// True when the read stopped early (at its limit): it then says nothing
    /// about keys after its last entry.
    public var truncated: Bool

    public init(entries: [RangeEntry], truncated: Bool = false) {
        self.entries = entries
        self.truncated = truncated
    }
}

/// One operation of a key-value history, as the session, staleness,
/// consistent-prefix and causal checkers read it.
///
/// Writes name a unique value and, once acknowledged, the version the store
/// gave them (the Raft log index in Chorus), which orders a key's writes.
/// Reads return a value (`.null`: the key is absent) and the version of that
/// value. A session groups operations that carry one session token; it is
/// the process when the history names none.
public struct KeyValueOperation: Hashable, Sendable {
    /// The operation's index in `KeyValueHistory.operations`, and its id in
    /// the display history of reports.
    public var id: Int
    public var process: ProcessID
    public var session: HistoryValue
    public var function: KeyValueFunction
    /// The key; for a range read, the prefix (a string).
    public var key: HistoryValue
    /// A write's value, or the value a read returned (`.null` when absent).
    public var value: HistoryValue
    /// A write's or delete's version once known; the version a read returned.
    public var version: Int64?
    /// A range read's continuation: it covers only keys after this one.
    public var rangeStartAfter: String?
    /// What a completed range read returned.
    public var range: RangeReadResult?
    public var outcome: Outcome
    /// Instants, as in `Operation`: A precedes B exactly when `A.completedAt < B.invokedAt`.
    public var invokedAt: Int
    public var completedAt: Int?
    /// Recorded times, in the recorder's unit (see `StalenessOptions.timeUnitsPerMillisecond`).
    public var invokeTime: Int64?
    public var completeTime: Int64?
    public var invokeLine: Int?
    public var completeLine: Int?

    public init(
        id: Int = 0, process: ProcessID, session: HistoryValue? = nil, function: KeyValueFunction, key: HistoryValue,
        value: HistoryValue = .null, version: Int64? = nil, rangeStartAfter: String? = nil,
        range: RangeReadResult? = nil, outcome: Outcome, invokedAt: Int, completedAt: Int?,
        invokeTime: Int64? = nil, completeTime: Int64? = nil, invokeLine: Int? = nil, completeLine: Int? = nil
    ) {
        self.id = id
        self.process = process
        self.session = session ?? KeyValueOperation.defaultSession(process)
        self.function = function
        self.key = key
        self.value = value
        self.version = version
        self.rangeStartAfter = rangeStartAfter
        self.range = range
        self.outcome = outcome
        self.invokedAt = invokedAt
        self.completedAt = completedAt
        self.invokeTime = invokeTime
        self.completeTime = completeTime
        self.invokeLine = invokeLine
        self.completeLine = completeLine
    }

    /// The session of an operation that names none: its process's own.
    public static func defaultSession(_ process: ProcessID) -> HistoryValue {
        .list([.keyword("process"), .integer(process.rawValue)])
    }

    var isWrite: Bool { function == .write || function == .delete }

    /// The value a write leaves in its key: `.null` for a delete.
    var writtenValue: HistoryValue { function == .delete ? .null : value }

    /// `line 12` or `operation 3`, for explanations.
    var location: String {
        if let invokeLine { return "line \(invokeLine)" }
        return "operation \(id)"
    }

    /// `session a read x = 5 (v3)`: what it did, for explanations.
    var phrase: String {
        let version = self.version.map { " (v\($0))" } ?? ""
        switch function {
        case .read:
            return value.isNull ? "read \(key) as absent\(version)" : "read \(key) = \(value)\(version)"
        case .write: return "wrote \(key) = \(value)\(version)"
        case .delete: return "deleted \(key)\(version)"
        case .rangeRead: return "range-read prefix \(key)"
        }
    }
}

/// A key's write order stated outright, for stores that do not return
/// versions: the values written to `key`, in the order the store applied
/// them. A write's version is then its 1-based position in the list.
public struct WriteOrder: Hashable, Sendable {
    public var key: HistoryValue
    public var values: [HistoryValue]
    public var line: Int?

    public init(key: HistoryValue, values: [HistoryValue], line: Int? = nil) {
        self.key = key
        self.values = values
        self.line = line
    }
}

/// A key-value history for the session, staleness, consistent-prefix and
/// causal checkers.
///
/// Invariants: `operations[i].id == i`; completions are at or after invocations.
public struct KeyValueHistory: Sendable {
    public private(set) var operations: [KeyValueOperation]
    public private(set) var writeOrders: [WriteOrder]
    /// The largest instant used, plus one.
    public private(set) var endInstant: Int

    /// A history from operations with their own instants. Ids are reassigned
    /// to array positions.
    public init(operations: [KeyValueOperation], writeOrders: [WriteOrder] = []) throws(HistoryError) {
        guard operations.count <= CheckLimits.operationCountMaximum else {
            throw HistoryError(.tooManyOperations(limit: CheckLimits.operationCountMaximum), line: nil)
        }
        guard !operations.isEmpty else { throw HistoryError(.empty, line: nil) }
        var renumbered = operations
        var endInstant = 0
        for index in renumbered.indices {
            renumbered[index].id = index
            // Version 0 of an absent key (Chorus's store returns it) says nothing.
            if renumbered[index].function == .read && renumbered[index].value.isNull && renumbered[index].version == 0 {
                renumbered[index].version = nil
            }
            let operation = renumbered[index]
            if let completedAt = operation.completedAt, completedAt < operation.invokedAt {
                throw HistoryError(
                    .malformed("operation \(index) completes at \(completedAt), before its invocation at \(operation.invokedAt)"),
                    line: operation.completeLine)
            }
            let versions = [operation.version].compactMap { $0 } + (operation.range?.entries.map(\.version) ?? [])
            if let bad = versions.first(where: { $0 <= 0 || $0 > CheckLimits.versionMaximum }) {
                throw HistoryError(
                    .malformed("operation \(index): version \(bad) is not between 1 and 2^62"), line: operation.completeLine)
            }
            if operation.function == .rangeRead, operation.key.stringValue == nil {
                throw HistoryError(.malformed("a range read's key must be a string prefix, not \(operation.key)"), line: operation.invokeLine)
            }
            endInstant = max(endInstant, (operation.completedAt ?? operation.invokedAt) + 1)
        }
        self.operations = renumbered
        self.writeOrders = writeOrders
        self.endInstant = endInstant
    }

    /// The history as the generic timeline of reports draws it: the same
    /// ids, with versions shown beside values.
    public var displayHistory: History {
        var display: [Operation] = []
        display.reserveCapacity(operations.count)
        for operation in operations {
            var input = HistoryValue.null
            var output: HistoryValue?
            switch operation.function {
            case .write:
                input = operation.value
                output = operation.version.map { .symbol("v\($0)") } ?? .keyword("ok")
            case .delete:
                output = operation.version.map { .symbol("v\($0)") } ?? .keyword("ok")
            case .read:
                let text = operation.value.description + (operation.version.map { " v\($0)" } ?? "")
                output = .symbol(text)
            case .rangeRead:
                if let after = operation.rangeStartAfter { input = .list([.keyword("after"), .string(after)]) }
                if let range = operation.range {
                    var text = range.entries.map { "\($0.key)@v\($0.version)" }.joined(separator: " ")
                    if range.truncated { text += " …" }
                    output = .symbol("{" + text + "}")
                }
            }
            if operation.outcome != .ok { output = operation.completedAt == nil ? nil : .null }
            display.append(
                Operation(
                    id: operation.id, process: operation.process, function: operation.function.rawValue,
                    key: operation.key, input: input, output: output, outcome: operation.outcome,
                    invokedAt: operation.invokedAt, completedAt: operation.completedAt,
                    invokeTime: operation.invokeTime, completeTime: operation.completeTime,
                    invokeLine: operation.invokeLine, completeLine: operation.completeLine))
        }
        do {
            return try History(operations: display)
        } catch {
            preconditionFailure("a valid key-value history always makes a valid display history: \(error)")
        }
    }
}
