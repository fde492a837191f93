/// A register with read, write and compare-and-set: the object of Jepsen's
/// etcd and Knossos `cas-register` tests.
///
/// Functions: `read` (the completion's value is what was read; `nil` reads the
/// initial, empty register), `write v`, and `cas [from to]`. A `:fail` cas did
/// not happen and never reaches the model. Values are compared as written
/// (`3` and `"3"` differ).
public struct CASRegisterModel: Model {
    public enum Input: Hashable, Sendable {
        case read
        case write(HistoryValue)
        case compareAndSet(expected: HistoryValue, new: HistoryValue)
    }

    public enum Output: Hashable, Sendable {
        /// A read returned this value.
        case value(HistoryValue)
        /// A write or a successful compare-and-set was acknowledged.
        case acknowledged
    }

    /// The register's contents; `.null` is the initial, empty register.
    public typealias State = HistoryValue

    public init() {}

    public var name: String { "cas-register" }
    public var initialState: HistoryValue { .null }

    public func translate(_ operation: Operation) throws(ModelError) -> (input: Input, output: Output?) {
        let determinate = operation.outcome == .ok
        switch operation.function {
        case "read":
            return (.read, determinate ? .value(operation.output ?? .null) : nil)
        case "write":
            return (.write(operation.input), determinate ? .acknowledged : nil)
        case "cas":
            guard let pair = operation.input.listValue, pair.count == 2 else {
                throw ModelError("cas needs [expected new], not \(operation.input)", operation: operation)
            }
            return (.compareAndSet(expected: pair[0], new: pair[1]), determinate ? .acknowledged : nil)
        default:
            throw ModelError.unknownFunction(operation, model: name, known: ":read, :write, :cas")
        }
    }

    @inlinable
    public func step(_ state: HistoryValue, _ input: Input, _ output: Output?) -> HistoryValue? {
        switch input {
        case .read:
            guard let output else { return state }
            return output == .value(state) ? state : nil
        case .write(let value):
            return value
        case .compareAndSet(let expected, let new):
            // An indeterminate cas that found another value changed nothing,
            // which is the same as never having happened.
            if state == expected { return new }
            return output == nil ? state : nil
        }
    }

    public func isReadOnly(_ input: Input) -> Bool {
        if case .read = input { return true }
        return false
    }

    public func describe(_ state: HistoryValue) -> String { "\(state)" }
}
