/// The Wing–Gong linearizability search with Lowe's memo (Wing & Gong,
/// "Testing and verifying concurrent objects", JPDC 1993; Lowe, "Testing for
/// linearizability", CCPE 2017, §3), the algorithm Porcupine also uses.
///
/// Every operation contributes a call entry and, when determinate, a return
/// entry; the entries sit in one doubly linked list in real-time order:
///
///     head → call a → call b → return a → call c → return b → return c
///
/// The search walks the list from the head. At a call entry it tries to
/// linearize that operation next: if the model accepts it and the pair
/// (linearized set, new state) is new, the operation's two entries are
/// unlinked ("lifted") and the walk restarts at the head. Reaching a return
/// entry means the operation it closes can no longer be placed in this
/// branch, so the last choice is undone (its entries relinked in place, as in
/// Knuth's dancing links) and the walk continues after it. Calls that precede
/// the first return entry are exactly the operations that may go next.
///
/// An indeterminate operation has no return entry: it may be linearized at
/// any point after its call, and the search succeeds as soon as every
/// determinate operation is placed, leaving the rest "never took effect".
///
/// Reads go first. If a determinate read-only operation r may go next and
/// the model accepts it in the current state, then whenever the node has a
/// solution it has one that starts with r: moving r to the front changes no
/// state (r changes none and sees the current one) and breaks no real-time
/// constraint (r's call precedes every pending return, and ops ordered after
/// r stay after it). So each node first commits to such a read, and when
/// that branch fails the node fails without trying its other options. This
/// cuts the search on read-heavy histories by orders of magnitude.
struct LinearizabilitySearch<M: Model> {
    let partition: PreparedPartition<M>
    let budget: SearchBudget

    func run(counters: inout SearchCounters) -> SearchOutcome {
        let model = partition.model
        let operationCount = partition.count
        var remainingDeterminate = partition.determinateCount
        if remainingDeterminate == 0 { return .consistent(order: []) }

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
        var entryOperation = [Int](repeating: -1, count: entryCount + 2)
        var entryIsCall = [Bool](repeating: false, count: entryCount + 2)
        var callNode = [Int](repeating: -1, count: operationCount)
        var returnNode = [Int](repeating: -1, count: operationCount)
        var next = [Int](repeating: 0, count: entryCount + 2)
        var previous = [Int](repeating: 0, count: entryCount + 2)
        for (position, key) in sortKeys.enumerated() {
            let node = position + 1
            entryOperation[node] = key.operation
            entryIsCall[node] = key.kind == 0
            if key.kind == 0 { callNode[key.operation] = node } else { returnNode[key.operation] = node }
        }
        for node in 0...tail {
            next[node] = node == tail ? tail : node + 1
            previous[node] = node == 0 ? 0 : node - 1
        }

        @inline(__always) func unlink(_ node: Int) {
            next[previous[node]] = next[node]
            previous[next[node]] = previous[node]
        }
        @inline(__always) func relink(_ node: Int) {
            next[previous[node]] = node
            previous[next[node]] = node
        }

        var state = model.initialState
        var linearized = BitSet(count: operationCount)
        var memo = Memo<M.State>(operationCount: operationCount)
        let zobrist = ZobristTable(operationCount: operationCount).keys
        var linearizedHash: UInt64 = 0
        var stack: [(operation: Int, stateBefore: M.State, forced: Bool)] = []
        stack.reserveCapacity(operationCount)
        var longestPrefix: [Int] = []
        var node = next[0]
        // A determinate read-only operation that is legal now can go first
        // in some solution whenever the node has one (see `run`'s notes), so
        // each new node first looks for one and commits to it.
        var lookForRead = true
        var backtracking = false
        var stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
        let readOnly = (0..<operationCount).map {
            partition.deadline[$0] != nil && model.isReadOnly(partition.inputs[$0])
        }
        defer { counters.memoEntries += memo.count }

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
                if returnNode[top.operation] >= 0 { relink(returnNode[top.operation]) }
                relink(callNode[top.operation])
                // Below a forced read the node has no other option: keep unwinding.
                if top.forced { continue }
                backtracking = false
                node = next[callNode[top.operation]]
                continue
            }
            var forced = false
            var candidate = -1
            var newState: M.State?
            if lookForRead {
                lookForRead = false
                var scan = next[0]
                while scan != tail && entryIsCall[scan] {
                    let operation = entryOperation[scan]
                    if readOnly[operation],
                        let readState = model.step(state, partition.inputs[operation], partition.outputs[operation])
                    {
                        forced = true
                        candidate = operation
                        newState = readState
                        break
                    }
                    scan = next[scan]
                }
            }
            if !forced {
                // A determinate operation's return entry is still linked while it
                // is unplaced, so the walk meets it before running off the end.
                precondition(node != tail, "walked past every return entry with determinate operations left")
                if !entryIsCall[node] {
                    backtracking = true
                    continue
                }
                candidate = entryOperation[node]
                newState = model.step(state, partition.inputs[candidate], partition.outputs[candidate])
            }
            if let accepted = newState {
                linearized.insert(candidate)
                if memo.insert(linearized, zobrist: linearizedHash ^ zobrist[candidate], state: accepted) {
                    linearizedHash ^= zobrist[candidate]
                    if memo.count > budget.memoEntriesMaximum {
                        return .unknown(.memoLimit(budget.memoEntriesMaximum))
                    }
                    stack.append((candidate, state, forced))
                    state = accepted
                    if partition.deadline[candidate] != nil { remainingDeterminate -= 1 }
                    unlink(callNode[candidate])
                    if returnNode[candidate] >= 0 { unlink(returnNode[candidate]) }
                    if stack.count > longestPrefix.count { longestPrefix = stack.map(\.operation) }
                    node = next[0]
                    lookForRead = true
                    continue
                }
                linearized.remove(candidate)
                if forced {
                    // The forced child was explored before and failed, so this node fails.
                    backtracking = true
                    continue
                }
            }
            node = next[node]
        }
        return .consistent(order: stack.map(\.operation))
    }
}
