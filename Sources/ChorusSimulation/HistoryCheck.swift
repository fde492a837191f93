import ChorusCheck
import ChorusCore
import ChorusKeyValue

/// Judges a seed's client history with `ChorusCheck`: linearizability, per key,
/// against a compare-and-set register (`CASRegisterModel`).
///
/// The key-value store versions writes by log index, but every written value
/// is unique (`"c<client>-<n>"`), so a version names exactly one value and the
/// history can be judged on values alone:
///
/// | client operation                | register operation            |
/// |---------------------------------|-------------------------------|
/// | get → value v (absent: nil)     | read → v                      |
/// | put v                           | write v                       |
/// | delete                          | write nil                     |
/// | cas(version of x, v) → written  | cas [x v] → ok                |
/// | cas → version mismatch          | cas [x v] → fail (not applied)|
/// | no answer                       | indeterminate (`:info`)       |
enum HistoryCheck {
    enum Verdict: Sendable, Hashable {
        case linearizable
        case violated(String)
        /// The checker ran out of budget (not a violation, not a pass).
        case unknown(String)
    }

    static func operations(from history: [ClientOperation]) -> [Operation] {
        var operations: [Operation] = []
        operations.reserveCapacity(history.count)
        for operation in history {
            if case .range = operation.kind { continue }
            let key = HistoryValue.string(operation.kind.key)
            let invoked = Int(operation.invokedAt)
            let completed = operation.completedAt.map { Int($0) }
            let function: String
            let input: HistoryValue
            var output: HistoryValue? = nil
            var outcome: Outcome
            switch operation.kind {
            case .get:
                function = "read"
                input = .null
                outcome = .ok
                switch operation.outcome {
                case .read(let value, _): output = value.map { .string($0) } ?? .null
                default: outcome = .info
                }
            case .put(_, let value):
                function = "write"
                input = .string(value)
                outcome = .ok
            case .delete:
                function = "write"
                input = .null
                outcome = .ok
            case .compareAndSet(_, _, let expectedValue, let value):
                function = "cas"
                input = .list([expectedValue.map { .string($0) } ?? .null, .string(value)])
                outcome = .ok
                if case .compareAndSetFailed = operation.outcome { outcome = .fail }
            case .range:
                continue
            }
            if case .indeterminate = operation.outcome { outcome = .info }
            if completed == nil { outcome = .pending }
            operations.append(Operation(
                id: operations.count, process: ProcessID(Int64(operation.client)), function: function, key: key, input: input,
                output: output, outcome: outcome, invokedAt: invoked, completedAt: completed,
                invokeTime: Int64(operation.invokedAt), completeTime: operation.completedAt.map { Int64($0) }))
        }
        return operations
    }

    /// The checker's budget: memory, not time, so that a seed's verdict never
    /// depends on how busy the machine is (one seed, one outcome).
    static let memoBytesMaximum = 256 << 20

    static func check(_ history: [ClientOperation], condition: ConsistencyCondition = .linearizable) -> Verdict {
        guard history.contains(where: { if case .range = $0.kind { false } else { true } }) else { return .linearizable }
        do {
            let checked = try History(operations: operations(from: history))
            let result = try Checker.check(
                checked, model: CASRegisterModel(), condition: condition,
                options: CheckOptions(memoBytesMaximum: Self.memoBytesMaximum))
            switch result.verdict {
            case .satisfied:
                return .linearizable
            case .violated:
                let key = result.counterexample?.key.map { "\($0)" } ?? "?"
                var detail = "history not \(condition) on key \(key)"
                if let example = result.counterexample, let blocking = example.blockingOperationID,
                    blocking < checked.operations.count
                {
                    detail += "; cannot place \(checked.operations[blocking].summary)"
                }
                return .violated(detail)
            case .unknown:
                return .unknown("\(result.unknownReason.map { "\($0)" } ?? "budget exhausted")")
            }
        } catch {
            return .violated("history could not be checked: \(error)")
        }
    }
}
