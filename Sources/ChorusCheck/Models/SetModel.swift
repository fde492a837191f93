/// A grow-and-shrink set: `add v`, `remove v`, and `read`, which returns every
/// element (as a list or set, in any order). This is the object of Jepsen's
/// `set` workloads.
public struct SetModel: Model {
    public enum Input: Hashable, Sendable {
        case add(HistoryValue)
        case remove(HistoryValue)
        case read
    }

    public enum Output: Hashable, Sendable {
        case elements(Set<HistoryValue>)
        /// A read that listed some element twice: no state of a set explains it.
        case repeatedElement(HistoryValue)
        case acknowledged
    }

    public typealias State = Set<HistoryValue>

    public init() {}

    public var name: String { "set" }
    public var initialState: Set<HistoryValue> { [] }

    public func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?) {
        let determinate = operation.outcome == .ok
        switch operation.function {
        case "add":
            return (.add(operation.input), determinate ? .acknowledged : nil)
        case "remove":
            return (.remove(operation.input), determinate ? .acknowledged : nil)
        case "read":
            guard determinate else { return (.read, nil) }
            switch operation.output ?? .null {
            case .null: return (.read, .elements([]))
            case .list(let elements), .set(let elements):
                let distinct = Set(elements)
                if distinct.count != elements.count {
                    var seen = Set<HistoryValue>()
                    let repeated = elements.first { !seen.insert($0).inserted } ?? elements[0]
                    return (.read, .repeatedElement(repeated))
                }
                return (.read, .elements(distinct))
            default:
                throw ModelError("read must return a list or set, not \(operation.output ?? .null)", operation: operation)
            }
        default:
            throw ModelError.unknownFunction(operation, model: name, known: ":add, :remove, :read")
        }
    }

    public func step(_ state: Set<HistoryValue>, _ input: Input, _ output: Output?) -> Set<HistoryValue>? {
        switch input {
        case .add(let element):
            var next = state
            next.insert(element)
            return next
        case .remove(let element):
            var next = state
            next.remove(element)
            return next
        case .read:
            guard let output else { return state }
            return output == .elements(state) ? state : nil
        }
    }

    public func isReadOnly(_ input: Input) -> Bool { input == .read }

    public func describe(_ state: Set<HistoryValue>, values: ValueTable) -> String {
        // Sorted by rendering so that a report reads the same in every process.
        "#{" + state.map(\.description).sorted().joined(separator: " ") + "}"
    }

    /// A set's buffer: a header, one element and one bit of occupancy per bucket.
    public func heapBytes(_ state: Set<HistoryValue>) -> Int {
        state.isEmpty ? 0 : 48 + state.capacity * (MemoryLayout<HistoryValue>.stride + 1)
    }
}
