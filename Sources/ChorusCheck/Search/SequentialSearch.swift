/// The search for a sequentially consistent order (Lamport, "How to make a
/// multiprocessor computer that correctly executes multiprocess programs",
/// IEEE TC 1979): one total order, legal for the model, that keeps each
/// process's operations in the order the process issued them, with no
/// real-time constraint between processes.
///
/// It is the same depth-first search with the same memo as the
/// linearizability search; only the set of operations that may go next
/// differs. An operation may go next once every earlier determinate operation
/// of its process is placed. An indeterminate operation orders after its
/// process's earlier operations but constrains nothing after it (the process
/// moved on without knowing whether it took effect), and it may stay unplaced.
struct SequentialSearch<M: Model> {
    let partition: PreparedPartition<M>
    let budget: SearchBudget

    func run(counters: inout SearchCounters) -> SearchOutcome {
        let model = partition.model
        let operationCount = partition.count
        var remainingDeterminate = partition.determinateCount
        if remainingDeterminate == 0 { return .consistent(order: []) }

        // The nearest earlier determinate operation of the same process, or -1.
        var previousDeterminate = [Int](repeating: -1, count: operationCount)
        var lastDeterminateByProcess: [ProcessID: Int] = [:]
        for operation in 0..<operationCount {
            let process = partition.processes[operation]
            previousDeterminate[operation] = lastDeterminateByProcess[process] ?? -1
            if partition.deadline[operation] != nil { lastDeterminateByProcess[process] = operation }
        }

        var state = model.initialState
        var linearized = BitSet(count: operationCount)
        var memo = Memo<M.State>(operationCount: operationCount)
        let zobrist = ZobristTable(operationCount: operationCount).keys
        var linearizedHash: UInt64 = 0
        var stack: [(operation: Int, stateBefore: M.State)] = []
        stack.reserveCapacity(operationCount)
        var longestPrefix: [Int] = []
        var candidate = 0
        var stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
        defer { counters.memoEntries += memo.count }

        while remainingDeterminate > 0 {
            counters.steps += 1
            stepsUntilCheck -= 1
            if stepsUntilCheck == 0 {
                stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
                if let reason = budget.interruption() { return .unknown(reason) }
            }
            // The next operation, at or after `candidate`, that may go next.
            while candidate < operationCount {
                if !linearized.contains(candidate) {
                    let before = previousDeterminate[candidate]
                    if before < 0 || linearized.contains(before) { break }
                }
                candidate += 1
            }
            if candidate == operationCount {
                guard let top = stack.popLast() else { return .inconsistent(longestPrefix: longestPrefix) }
                state = top.stateBefore
                linearized.remove(top.operation)
                linearizedHash ^= zobrist[top.operation]
                if partition.deadline[top.operation] != nil { remainingDeterminate += 1 }
                candidate = top.operation + 1
                continue
            }
            let operation = candidate
            if let newState = model.step(state, partition.inputs[operation], partition.outputs[operation]) {
                linearized.insert(operation)
                if memo.insert(linearized, zobrist: linearizedHash ^ zobrist[operation], state: newState) {
                    linearizedHash ^= zobrist[operation]
                    if memo.count > budget.memoEntriesMaximum {
                        return .unknown(.memoLimit(budget.memoEntriesMaximum))
                    }
                    stack.append((operation, state))
                    state = newState
                    if partition.deadline[operation] != nil { remainingDeterminate -= 1 }
                    if stack.count > longestPrefix.count { longestPrefix = stack.map(\.operation) }
                    candidate = 0
                    continue
                }
                linearized.remove(operation)
            }
            candidate = operation + 1
        }
        return .consistent(order: stack.map(\.operation))
    }
}
