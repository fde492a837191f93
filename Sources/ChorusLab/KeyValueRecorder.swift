import ChorusCheck
import Synchronization

/// Records a key-value history from concurrent real clients in the terms of
/// ChorusCheck's property checkers (`KeyValueOperation`): one instant counter
/// and one clock for every client, both read under one lock, so that "A
/// completed before B was invoked" and the times the staleness checker
/// compares (a write's acknowledgement against a read's invocation) come from
/// the same total order.
///
/// Times are nanoseconds of `ContinuousClock` since the recorder was made:
/// one monotonic clock in one process, so the recorders' clocks never
/// disagree. Every operation carries a group (the level, or `writer`) that
/// picks which checker's history it belongs to.
public final class KeyValueRecorder: Sendable {
    /// An operation's place in the recorder, returned by `invoke`.
    public struct Handle: Sendable {
        let index: Int
    }

    public struct Entry: Sendable {
        public var group: String
        public var operation: KeyValueOperation
    }

    /// More operations than a bounded run can make: a runaway loop traps.
    public static let operationCountMaximum = 200_000

    private struct State {
        var entries: [Entry] = []
        var nextInstant = 0
    }

    private let start = ContinuousClock.now
    private let state = Mutex(State())

    public init() {}

    private func nanosecondsNow() -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    /// Records an invocation; complete it with `complete(_:…)`.
    public func invoke(
        group: String, process: Int, session: String? = nil, function: KeyValueFunction, key: String,
        value: HistoryValue = .null, rangeStartAfter: String? = nil
    ) -> Handle {
        state.withLock { state in
            precondition(state.entries.count < Self.operationCountMaximum, "the recorder's operation limit was reached")
            let instant = state.nextInstant
            state.nextInstant += 1
            let operation = KeyValueOperation(
                process: ProcessID(Int64(process)), session: session.map(HistoryValue.string), function: function,
                key: .string(key), value: value, rangeStartAfter: rangeStartAfter, outcome: .pending,
                invokedAt: instant, completedAt: nil, invokeTime: nanosecondsNow())
            state.entries.append(Entry(group: group, operation: operation))
            return Handle(index: state.entries.count - 1)
        }
    }

    /// Records a completion: `.ok` with what the operation returned, `.fail`
    /// (certainly no effect: a read), or `.info` (unknown: a write may have
    /// taken effect).
    public func complete(
        _ handle: Handle, outcome: Outcome, value: HistoryValue? = nil, version: Int64? = nil,
        range: RangeReadResult? = nil
    ) {
        precondition(outcome != .pending, "a completion has an outcome")
        state.withLock { state in
            let instant = state.nextInstant
            state.nextInstant += 1
            var operation = state.entries[handle.index].operation
            precondition(operation.completedAt == nil, "an operation completes once")
            operation.outcome = outcome
            operation.completedAt = instant
            operation.completeTime = nanosecondsNow()
            if let value { operation.value = value }
            operation.version = version
            operation.range = range
            state.entries[handle.index].operation = operation
        }
    }

    /// How many operations have been invoked so far.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Everything recorded so far, in invocation order.
    public var entries: [Entry] { state.withLock { $0.entries } }
}
