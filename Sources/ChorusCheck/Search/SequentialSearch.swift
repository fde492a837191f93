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
///
/// As in `LinearizabilitySearch`, a legal read-only operation that may go
/// next is committed to first: moving it to the front of any solution keeps
/// every state and every process order intact.
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
        var stack: [(operation: Int, stateBefore: M.State, forced: Bool)] = []
        stack.reserveCapacity(operationCount)
        var longestPrefix: [Int] = []
        var candidate = 0
        var lookForRead = true
        var backtracking = false
        var stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
        let readOnly = (0..<operationCount).map {
            partition.deadline[$0] != nil && model.isReadOnly(partition.inputs[$0])
        }
        defer { counters.memoEntries += memo.count }

        func isAvailable(_ operation: Int) -> Bool {
            if linearized.contains(operation) { return false }
            let before = previousDeterminate[operation]
            return before < 0 || linearized.contains(before)
        }

        while remainingDeterminate > 0 {
            counters.steps += 1
            stepsUntilCheck -= 1
            if stepsUntilCheck == 0 {
                stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
                if let reason = budget.interruption() { return .unknown(reason) }
            }
            if backtracking {
                guard let top = stack.popLast() else { return .inconsistent(longestPrefix: longestPrefix) }
                state = top.stateBefore
                linearized.remove(top.operation)
                linearizedHash ^= zobrist[top.operation]
                if partition.deadline[top.operation] != nil { remainingDeterminate += 1 }
                if top.forced { continue }
                backtracking = false
                candidate = top.operation + 1
                continue
            }
            var forced = false
            var chosen = -1
            var newState: M.State?
            if lookForRead {
                lookForRead = false
                for operation in 0..<operationCount where readOnly[operation] && isAvailable(operation) {
                    if let readState = model.step(state, partition.inputs[operation], partition.outputs[operation]) {
                        forced = true
                        chosen = operation
                        newState = readState
                        break
                    }
                }
            }
            if !forced {
                // The next operation, at or after `candidate`, that may go next.
                while candidate < operationCount && !isAvailable(candidate) { candidate += 1 }
                if candidate == operationCount {
                    backtracking = true
                    continue
                }
                chosen = candidate
                newState = model.step(state, partition.inputs[chosen], partition.outputs[chosen])
            }
            if let accepted = newState {
                linearized.insert(chosen)
                if memo.insert(linearized, zobrist: linearizedHash ^ zobrist[chosen], state: accepted) {
                    linearizedHash ^= zobrist[chosen]
                    if memo.count > budget.memoEntriesMaximum {
                        return .unknown(.memoLimit(budget.memoEntriesMaximum))
                    }
                    stack.append((chosen, state, forced))
                    state = accepted
                    if partition.deadline[chosen] != nil { remainingDeterminate -= 1 }
                    if stack.count > longestPrefix.count { longestPrefix = stack.map(\.operation) }
                    candidate = 0
                    lookForRead = true
                    continue
                }
                linearized.remove(chosen)
                if forced {
                    backtracking = true
                    continue
                }
            }
            candidate = chosen + 1
        }
        return .consistent(order: stack.map(\.operation))
    }
}
