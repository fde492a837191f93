/// A FIFO queue: `enqueue v` and `dequeue`, which returns the oldest element,
/// or `nil` when the queue is empty. This is the object of Jepsen's queue
/// workloads, where a dequeue of an empty queue is usually a `:fail` and so
/// never reaches the model.
public struct QueueModel: Model {
    public enum Input: Hashable, Sendable {
        case enqueue(HistoryValue)
        case dequeue
    }

    public enum Output: Hashable, Sendable {
        /// The dequeued element, or `.null` when the queue was empty.
        case element(HistoryValue)
        case acknowledged
    }

    public typealias State = [HistoryValue]

    public init() {}

    public var name: String { "queue" }
    public var initialState: [HistoryValue] { [] }

    public func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?) {
        let determinate = operation.outcome == .ok
        switch operation.function {
        case "enqueue":
            return (.enqueue(operation.input), determinate ? .acknowledged : nil)
        case "dequeue":
            return (.dequeue, determinate ? .element(operation.output ?? .null) : nil)
        default:
            throw ModelError.unknownFunction(operation, model: name, known: ":enqueue, :dequeue")
        }
    }

    public func step(_ state: [HistoryValue], _ input: Input, _ output: Output?) -> [HistoryValue]? {
        switch input {
        case .enqueue(let element):
            return state + [element]
        case .dequeue:
            guard let head = state.first else {
                return output == nil || output == .element(.null) ? state : nil
            }
            guard output == nil || output == .element(head) else { return nil }
            return Array(state.dropFirst())
        }
    }

    public func isReadOnly(_ input: Input) -> Bool { false }

    public func describe(_ state: [HistoryValue], values: ValueTable) -> String {
        "[" + state.map(\.description).joined(separator: " ") + "]"
    }

    public func heapBytes(_ state: [HistoryValue]) -> Int { arrayHeapBytes(state) }
}
