/// One key of a string key-value map with `get`, `put` and `append`: the
/// model of Porcupine's kv tests (and of MIT 6.824's lab 3). The map is
/// checked per key (see `Model`), so a state is one key's string.
///
/// `get` returns the string (a missing key reads as `""`, and so does `nil`);
/// `put v` sets it; `append v` appends to it.
public struct KeyValueModel: Model {
    public enum Input: Hashable, Sendable {
        case get
        case put(String)
        case append(String)
    }

    public enum Output: Hashable, Sendable {
        case value(String)
        case acknowledged
    }

    public typealias State = String

    public init() {}

    public var name: String { "kv" }
    public var initialState: String { "" }

    public func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?) {
        let determinate = operation.outcome == .ok
        switch operation.function {
        case "get", "read":
            guard determinate else { return (.get, nil) }
            let output = operation.output ?? .null
            if output.isNull { return (.get, .value("")) }
            guard let text = output.stringValue else {
                throw ModelError("get must return a string, not \(output)", operation: operation)
            }
            return (.get, .value(text))
        case "put", "write", "append":
            guard let text = operation.input.stringValue else {
                throw ModelError(":\(operation.function) needs a string value, not \(operation.input)", operation: operation)
            }
            let input: Input = operation.function == "append" ? .append(text) : .put(text)
            return (input, determinate ? .acknowledged : nil)
        default:
            throw ModelError.unknownFunction(operation, model: name, known: ":get, :put, :append")
        }
    }

    @inlinable
    public func step(_ state: String, _ input: Input, _ output: Output?) -> String? {
        switch input {
        case .get:
            guard let output else { return state }
            return output == .value(state) ? state : nil
        case .put(let value):
            return value
        case .append(let suffix):
            return state + suffix
        }
    }

    public func isReadOnly(_ input: Input) -> Bool { input == .get }

    public func describe(_ state: String, values: ValueTable) -> String { HistoryValue.string(state).description }

    /// Strings of up to 15 UTF-8 bytes are stored inline; longer ones own a
    /// buffer with a 32-byte header.
    public func heapBytes(_ state: String) -> Int {
        let length = state.utf8.count
        return length <= 15 ? 0 : 32 + length
    }
}
