/// A sequential specification of one object, as pure functions in the style
/// of Porcupine's `Model` (Athalye, github.com/anishathalye/porcupine):
/// an initial state and a `step` that says whether an operation with this
/// input may return this output in this state, and what state follows.
///
/// A model describes a single object. Histories whose operations carry keys
/// are checked per key, each key an independent object: linearizability is
/// a local property (Herlihy & Wing 1990, §3.3, Theorem 1), so checking each
/// key alone is exact and lets the keys be searched in parallel. Sequential
/// consistency is not local, so the sequential checker runs all keys in one
/// search over `KeyedModel`.
///
/// States must be cheap `Hashable` values: the search memoizes every
/// (set of linearized operations, state) pair it has seen (Lowe, "Testing for
/// linearizability", CCPE 2017, §3).
public protocol Model: Sendable {
    associatedtype State: Hashable & Sendable
    associatedtype Input: Hashable & Sendable
    associatedtype Output: Hashable & Sendable

    /// The name the CLI uses, such as `cas-register`.
    var name: String { get }

    /// The state before any operation.
    var initialState: State { get }

    /// Translates an operation's function and values into this model's input,
    /// and, when the operation completed `:ok`, its output. Called once per
    /// operation before the search; never called for `:fail` operations.
    /// Throws when the operation does not belong to this model.
    /// `values` interns history values for models whose states hold them.
    func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?)

    /// The state after applying `input` in `state` and observing `output`, or
    /// nil when the model cannot produce that output in that state. A nil
    /// `output` means the response is unknown (the operation is indeterminate):
    /// the step applies the operation with whatever output it would produce,
    /// and never returns nil.
    func step(_ state: State, _ input: Input, _ output: Output?) -> State?

    /// True when an operation with this input never changes the state. An
    /// indeterminate read-only operation constrains nothing, so the checker
    /// drops it before searching.
    func isReadOnly(_ input: Input) -> Bool

    /// A short human-readable rendering of a state, for counterexamples.
    func describe(_ state: State, values: ValueTable) -> String

    /// About how many bytes `state` holds outside its own inline storage
    /// (string and array buffers), so that the memo's memory bound counts
    /// what the states really cost. An overestimate is safe; the default, 0,
    /// suits states that are plain numbers.
    func heapBytes(_ state: State) -> Int
}

extension Model {
    public func heapBytes(_ state: State) -> Int { 0 }
}

/// The bytes an array's heap buffer holds: its header and its elements.
@inline(__always)
func arrayHeapBytes<Element>(_ array: [Element]) -> Int {
    array.isEmpty ? 0 : 32 + array.count * MemoryLayout<Element>.stride
}

/// An operation that does not fit the chosen model.
public struct ModelError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    /// The line of the operation's invocation, when it came from a file.
    public var line: Int?

    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    public init(_ message: String, operation: Operation) {
        self.message = message
        self.line = operation.invokeLine
    }

    public var description: String { (line.map { "line \($0): " } ?? "") + message }

    static func unknownFunction(_ operation: Operation, model: String, known: String) -> ModelError {
        ModelError("model \(model) has no function :\(operation.function) (it knows \(known))", operation: operation)
    }
}

/// Several independent objects of one model, one per key, as one object
/// whose state is the list of the per-key states. The sequential-consistency
/// search uses it because that condition, unlike linearizability, cannot be
/// checked key by key.
public struct KeyedModel<Base: Model>: Model {
    public typealias State = [Base.State]

    public struct Input: Hashable, Sendable {
        public var keyIndex: Int
        public var base: Base.Input
    }

    public let base: Base
    /// The distinct keys, in order of first appearance; `Input.keyIndex` indexes this.
    public let keys: [HistoryValue?]
    private let keyIndexByKey: [HistoryValue?: Int]

    /// A keyed model over the keys of `operations`.
    public init(base: Base, operations: [Operation]) {
        var keys: [HistoryValue?] = []
        var index: [HistoryValue?: Int] = [:]
        for operation in operations where index[operation.key] == nil {
            index[operation.key] = keys.count
            keys.append(operation.key)
        }
        self.base = base
        self.keys = keys
        self.keyIndexByKey = index
    }

    public var name: String { base.name }
    public var initialState: State { Array(repeating: base.initialState, count: keys.count) }

    public func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Base.Output?) {
        guard let keyIndex = keyIndexByKey[operation.key] else {
            throw ModelError("key \(operation.key.map { "\($0)" } ?? "nil") was not in the history", operation: operation)
        }
        let translated = try base.translate(operation, values: &values)
        return (Input(keyIndex: keyIndex, base: translated.input), translated.output)
    }

    public func step(_ state: State, _ input: Input, _ output: Base.Output?) -> State? {
        guard let next = base.step(state[input.keyIndex], input.base, output) else { return nil }
        var result = state
        result[input.keyIndex] = next
        return result
    }

    public func isReadOnly(_ input: Input) -> Bool { base.isReadOnly(input.base) }

    public func describe(_ state: State, values: ValueTable) -> String {
        if keys.count == 1 { return base.describe(state[0], values: values) }
        var parts: [String] = []
        for (index, key) in keys.enumerated() {
            parts.append("\(key.map { "\($0)" } ?? "nil"): \(base.describe(state[index], values: values))")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    public func heapBytes(_ state: State) -> Int {
        state.reduce(arrayHeapBytes(state)) { $0 + base.heapBytes($1) }
    }
}
