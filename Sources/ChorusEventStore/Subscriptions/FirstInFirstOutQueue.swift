/// A queue with O(1) amortized push and pop: an array and a head index,
/// compacted once the consumed prefix is at least half of it.
struct FirstInFirstOutQueue<Element: Sendable & Hashable>: Sendable, Hashable {
    private var elements: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == elements.count }
    var count: Int { elements.count - head }
    var first: Element? { isEmpty ? nil : elements[head] }

    mutating func append(_ element: Element) { elements.append(element) }

    mutating func popFirst() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        if head >= 64 && head * 2 >= elements.count {
            elements.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes every element for which `predicate` holds, keeping the order of the rest.
    mutating func removeAll(where predicate: (Element) -> Bool) {
        elements = elements[head...].filter { !predicate($0) }
        head = 0
    }

    /// Puts `front` before everything queued, in its order.
    mutating func prepend(_ front: [Element]) {
        elements = front + elements[head...]
        head = 0
    }

    var contents: ArraySlice<Element> { elements[head...] }
}
