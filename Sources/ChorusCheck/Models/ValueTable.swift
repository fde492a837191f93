/// Interns history values as small integers, so that a model whose state is
/// "one of the values in the history" (a register) holds an `Int32`: cheap to
/// hash, compare and copy in the search's memo. Number 0 is always `nil`.
public struct ValueTable: Sendable {
    private var values: [HistoryValue] = [.null]
    private var numbers: [HistoryValue: Int32] = [.null: 0]

    public init() {}

    /// The number of `value`, assigning the next one on first sight.
    public mutating func number(for value: HistoryValue) -> Int32 {
        if let known = numbers[value] { return known }
        precondition(values.count < Int(Int32.max), "more distinct values than Int32 can number")
        let assigned = Int32(values.count)
        values.append(value)
        numbers[value] = assigned
        return assigned
    }

    /// The value numbered `number`.
    public func value(_ number: Int32) -> HistoryValue {
        precondition(number >= 0 && Int(number) < values.count, "value number \(number) was never assigned")
        return values[Int(number)]
    }
}
