/// Why a history could not be read or assembled. Always names the line when
/// the history came from a file, so a person can open it there.
public struct HistoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// The line is not valid in its format.
        case malformed(String)
        /// A process invoked an operation while its previous one was still open.
        case invokeWhilePending(process: ProcessID, pendingLine: Int?)
        /// A process completed an operation it never invoked.
        case completionWithoutInvocation(process: ProcessID)
        /// A completion names another function than its invocation.
        case functionMismatch(invoked: String, completed: String)
        /// A completion names another key than its invocation.
        case keyMismatch(invoked: HistoryValue?, completed: HistoryValue)
        /// The history is larger than `CheckLimits.operationCountMaximum`.
        case tooManyOperations(limit: Int)
        /// The input has no events at all.
        case empty
    }

    public var reason: Reason
    /// The 1-based source line, when the history came from text.
    public var line: Int?

    public init(_ reason: Reason, line: Int?) {
        self.reason = reason
        self.line = line
    }

    public var description: String {
        let location = line.map { "line \($0): " } ?? ""
        switch reason {
        case .malformed(let detail):
            return location + "malformed: " + detail
        case .invokeWhilePending(let process, let pendingLine):
            let previous = pendingLine.map { " (still open since line \($0))" } ?? ""
            return location + "process \(process) invokes again while its previous operation is open\(previous)"
        case .completionWithoutInvocation(let process):
            return location + "process \(process) completes an operation it never invoked"
        case .functionMismatch(let invoked, let completed):
            return location + "completion :\(completed) does not match the invocation :\(invoked)"
        case .keyMismatch(let invoked, let completed):
            return location + "completion for key \(completed) does not match the invocation's key \(invoked.map { "\($0)" } ?? "nil")"
        case .tooManyOperations(let limit):
            return location + "more than \(limit) operations"
        case .empty:
            return "the history has no operations"
        }
    }
}

/// A concurrent history: operations with invocation and completion instants.
///
/// Real-time order is the order of the events: `History(events:)` gives the
/// i-th event the instant i, so an operation precedes another exactly when its
/// completion event comes before the other's invocation event (Herlihy & Wing,
/// "Linearizability", TOPLAS 1990, §2). Histories built with
/// `History(operations:)` supply their own instants, and equal instants count
/// as concurrent, which is the safe reading of a coarse clock.
///
/// Invariants: `operations[i].id == i`; every completion instant is at or
/// after its invocation instant.
public struct History: Sendable {
    public private(set) var operations: [Operation]

    /// The largest instant used, plus one: where indeterminate operations end
    /// when drawn.
    public private(set) var endInstant: Int

    /// Pairs each `:invoke` with the next completion (`:ok`, `:fail`, `:info`)
    /// of the same process. An invocation left open at the end is pending
    /// (indeterminate). Events of the Jepsen nemesis never reach here: the
    /// parsers drop them.
    public init(events: [HistoryEvent]) throws(HistoryError) {
        guard events.count / 2 <= CheckLimits.operationCountMaximum else {
            throw HistoryError(.tooManyOperations(limit: CheckLimits.operationCountMaximum), line: nil)
        }
        var operations: [Operation] = []
        operations.reserveCapacity(events.count / 2 + 1)
        var openOperationByProcess: [ProcessID: Int] = [:]
        for (instant, event) in events.enumerated() {
            if event.type == .invoke {
                if let open = openOperationByProcess[event.process] {
                    throw HistoryError(
                        .invokeWhilePending(process: event.process, pendingLine: operations[open].invokeLine),
                        line: event.line)
                }
                openOperationByProcess[event.process] = operations.count
                operations.append(
                    Operation(
                        id: operations.count, process: event.process, function: event.function,
                        key: event.key, input: event.value, output: nil, outcome: .pending,
                        invokedAt: instant, completedAt: nil, invokeTime: event.time, invokeLine: event.line))
                continue
            }
            guard let open = openOperationByProcess.removeValue(forKey: event.process) else {
                throw HistoryError(.completionWithoutInvocation(process: event.process), line: event.line)
            }
            guard operations[open].function == event.function else {
                throw HistoryError(
                    .functionMismatch(invoked: operations[open].function, completed: event.function),
                    line: event.line)
            }
            // A completion may leave the key out; if it names one, it must be the invocation's.
            if let key = event.key, key != operations[open].key {
                throw HistoryError(.keyMismatch(invoked: operations[open].key, completed: key), line: event.line)
            }
            operations[open].output = event.value
            operations[open].completedAt = instant
            operations[open].completeTime = event.time
            operations[open].completeLine = event.line
            switch event.type {
            case .ok: operations[open].outcome = .ok
            case .info: operations[open].outcome = .info
            case .fail:
                operations[open].outcome = event.value == .keyword("timed-out") ? .timedOut : .fail
            case .invoke: preconditionFailure("invocations are handled above")
            }
        }
        guard !operations.isEmpty else { throw HistoryError(.empty, line: nil) }
        self.operations = operations
        self.endInstant = events.count
    }

    /// A history from operations that carry their own instants (for example
    /// simulator ticks). Ids are reassigned to the positions in the array.
    /// Throws when an operation completes before it is invoked.
    public init(operations: [Operation]) throws(HistoryError) {
        guard operations.count <= CheckLimits.operationCountMaximum else {
            throw HistoryError(.tooManyOperations(limit: CheckLimits.operationCountMaximum), line: nil)
        }
        guard !operations.isEmpty else { throw HistoryError(.empty, line: nil) }
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
        }
        self.operations = renumbered
        self.endInstant = endInstant
    }

    /// The processes that appear, in increasing order.
    public var processes: [ProcessID] {
        var seen = Set<ProcessID>()
        for operation in operations { seen.insert(operation.process) }
        return seen.sorted()
    }

    /// The events of this history in real-time order, for writing it out
    /// (see `HistoryFormat.jsonLines(_:)`). Operations that never completed
    /// contribute their invocation only.
    public var events: [HistoryEvent] {
        var stamped: [(instant: Int, order: Int, event: HistoryEvent)] = []
        stamped.reserveCapacity(operations.count * 2)
        for operation in operations {
            stamped.append(
                (operation.invokedAt, stamped.count,
                 HistoryEvent(
                    process: operation.process, type: .invoke, function: operation.function, key: operation.key,
                    value: operation.input, time: operation.invokeTime, line: operation.invokeLine)))
            guard let completedAt = operation.completedAt else { continue }
            let type: EventType
            switch operation.outcome {
            case .ok: type = .ok
            case .fail, .timedOut: type = .fail
            case .info, .pending: type = .info
            }
            stamped.append(
                (completedAt, stamped.count,
                 HistoryEvent(
                    process: operation.process, type: type, function: operation.function, key: operation.key,
                    value: operation.output ?? .null, time: operation.completeTime, line: operation.completeLine)))
        }
        // Sorting by (instant, insertion order) keeps an operation's invocation
        // before its own completion when both share an instant.
        stamped.sort { ($0.instant, $0.order) < ($1.instant, $1.order) }
        return stamped.map(\.event)
    }
}
