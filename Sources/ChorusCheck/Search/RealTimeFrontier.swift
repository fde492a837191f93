/// The linearizability frontier: an operation may go next if no unplaced
/// operation returned before it was invoked (Herlihy & Wing's real-time order).
///
/// Every operation contributes a call entry and, when determinate, a return
/// entry; the entries sit in one doubly linked list in real-time order:
///
///     head → call a → call b → return a → call c → return b → return c
///
/// The calls before the first return entry are exactly the operations that
/// may go next. Placing an operation unlinks ("lifts") its entries; unplacing
/// relinks them in place, as in Knuth's dancing links, which is O(1) because
/// the search undoes placements in stack order.
struct RealTimeFrontier: SearchFrontier, Sendable {
    private var next: [Int]
    private var previous: [Int]
    private let entryOperation: [Int]
    private let entryIsCall: [Bool]
    private let callNode: [Int]
    private let returnNode: [Int]
    private let tail: Int

    init<M: Model>(_ partition: PreparedPartition<M>) {
        let operationCount = partition.count
        // Entries sorted by (instant, call before return, operation). A call
        // and a return at the same instant are concurrent, so the call sorts first.
        var sortKeys: [(instant: Int, kind: Int, operation: Int)] = []
        sortKeys.reserveCapacity(operationCount * 2)
        for operation in 0..<operationCount {
            sortKeys.append((partition.invokedAt[operation], 0, operation))
            if let deadline = partition.deadline[operation] { sortKeys.append((deadline, 1, operation)) }
        }
        sortKeys.sort { ($0.instant, $0.kind, $0.operation) < ($1.instant, $1.kind, $1.operation) }

        // Node 0 is the head sentinel, nodes 1...n the entries, node n+1 the tail sentinel.
        let entryCount = sortKeys.count
        let tail = entryCount + 1
        self.tail = tail
        var entryOperation = [Int](repeating: -1, count: entryCount + 2)
        var entryIsCall = [Bool](repeating: false, count: entryCount + 2)
        var callNode = [Int](repeating: -1, count: operationCount)
        var returnNode = [Int](repeating: -1, count: operationCount)
        for (position, key) in sortKeys.enumerated() {
            let node = position + 1
            entryOperation[node] = key.operation
            entryIsCall[node] = key.kind == 0
            if key.kind == 0 { callNode[key.operation] = node } else { returnNode[key.operation] = node }
        }
        self.entryOperation = entryOperation
        self.entryIsCall = entryIsCall
        self.callNode = callNode
        self.returnNode = returnNode
        next = (0...tail).map { $0 == tail ? tail : $0 + 1 }
        previous = (0...tail).map { $0 == 0 ? 0 : $0 - 1 }
    }

    func first() -> Int? { operation(at: next[0]) }

    func next(after operation: Int) -> Int? { self.operation(at: next[callNode[operation]]) }

    /// The operation whose call entry is `node`, or nil at a return entry: an
    /// operation that has returned must be placed before anything after it.
    private func operation(at node: Int) -> Int? {
        // A determinate operation's return entry stays linked while it is
        // unplaced, so while any is left the walk meets it before the tail.
        guard node != tail, entryIsCall[node] else { return nil }
        return entryOperation[node]
    }

    mutating func place(_ operation: Int) {
        unlink(callNode[operation])
        if returnNode[operation] >= 0 { unlink(returnNode[operation]) }
    }

    mutating func unplace(_ operation: Int) {
        if returnNode[operation] >= 0 { relink(returnNode[operation]) }
        relink(callNode[operation])
    }

    private mutating func unlink(_ node: Int) {
        next[previous[node]] = next[node]
        previous[next[node]] = previous[node]
    }

    private mutating func relink(_ node: Int) {
        next[previous[node]] = node
        previous[next[node]] = node
    }
}
