/// A register with read, write and compare-and-set: the object of Jepsen's
/// etcd and Knossos `cas-register` tests.
///
/// Functions: `read` (the completion's value is what was read; `nil` reads the
/// initial, empty register), `write v`, and `cas [from to]`. A `:fail` cas did
/// not happen and never reaches the model. Values are compared as written
/// (`3` and `"3"` differ). The state is the number of the value in the
/// partition's `ValueTable` (0 is `nil`), so the search hashes an `Int32`.
public struct CASRegisterModel: Model {
    public enum Input: Hashable, Sendable {
        case read
        case write(Int32)
        case compareAndSet(expected: Int32, new: Int32)
    }

    public enum Output: Hashable, Sendable {
        /// A read returned the value with this number.
        case value(Int32)
        /// A write or a successful compare-and-set was acknowledged.
        case acknowledged
    }

    /// The number of the register's value; 0 is the initial, empty register.
    public typealias State = Int32

    public init() {}

    public var name: String { "cas-register" }
    public var initialState: Int32 { 0 }

    public func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?) {
        let determinate = operation.outcome == .ok
        switch operation.function {
        case "read":
            guard determinate else { return (.read, nil) }
            return (.read, .value(values.number(for: operation.output ?? .null)))
        case "write":
            return (.write(values.number(for: operation.input)), determinate ? .acknowledged : nil)
        case "cas":
            guard let pair = operation.input.listValue, pair.count == 2 else {
                throw ModelError("cas needs [expected new], not \(operation.input)", operation: operation)
            }
            let input = Input.compareAndSet(expected: values.number(for: pair[0]), new: values.number(for: pair[1]))
            return (input, determinate ? .acknowledged : nil)
        default:
            throw ModelError.unknownFunction(operation, model: name, known: ":read, :write, :cas")
        }
    }

    @inlinable
    public func step(_ state: Int32, _ input: Input, _ output: Output?) -> Int32? {
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

    public func isReadOnly(_ input: Input) -> Bool { input == .read }

    public func describe(_ state: Int32, values: ValueTable) -> String { "\(values.value(state))" }
}
