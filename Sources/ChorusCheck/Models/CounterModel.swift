/// A counter: `add n` (or `increment`, which adds its value or 1) and `read`.
/// Jepsen's counter workloads use it. Arithmetic wraps rather than trapping,
/// so a hostile history cannot crash the checker.
public struct CounterModel: Model {
    public enum Input: Hashable, Sendable {
        case add(Int64)
        case read
    }

    public enum Output: Hashable, Sendable {
        case value(Int64)
        case acknowledged
    }

    public typealias State = Int64

    public init() {}

    public var name: String { "counter" }
    public var initialState: Int64 { 0 }

    public func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?) {
        let determinate = operation.outcome == .ok
        switch operation.function {
        case "add", "increment", "inc":
            let amount: Int64
            switch operation.input {
            case .integer(let value): amount = value
            case .null where operation.function != "add": amount = 1
            default: throw ModelError(":\(operation.function) needs an integer, not \(operation.input)", operation: operation)
            }
            return (.add(amount), determinate ? .acknowledged : nil)
        case "read":
            guard determinate else { return (.read, nil) }
            let output = operation.output ?? .null
            if output.isNull { return (.read, .value(0)) }
            guard let value = output.integerValue else {
                throw ModelError("read must return an integer, not \(output)", operation: operation)
            }
            return (.read, .value(value))
        default:
            throw ModelError.unknownFunction(operation, model: name, known: ":add, :increment, :read")
        }
    }

    public func step(_ state: Int64, _ input: Input, _ output: Output?) -> Int64? {
        switch input {
        case .add(let amount):
            return state &+ amount
        case .read:
            guard let output else { return state }
            return output == .value(state) ? state : nil
        }
    }

    public func isReadOnly(_ input: Input) -> Bool { input == .read }

    public func describe(_ state: Int64, values: ValueTable) -> String { String(state) }
}
