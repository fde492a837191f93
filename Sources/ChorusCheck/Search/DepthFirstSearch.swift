/// Which operations may take effect next, for one consistency condition.
///
/// The depth-first search is the same for every condition Chorus checks; what
/// differs is only the frontier: real-time order for linearizability
/// (`RealTimeFrontier`), per-process order for sequential consistency
/// (`ProcessOrderFrontier`). The search places and unplaces operations in
/// stack order, so a frontier may undo a placement in O(1).
protocol SearchFrontier {
    /// The first operation that may go next, or nil if none may.
    func first() -> Int?
    /// The next operation after `operation` (which is unplaced) in the
    /// frontier's order that may go next, or nil when the candidates are exhausted.
    func next(after operation: Int) -> Int?
    /// Marks `operation` as taking effect now. It must be a current candidate.
    mutating func place(_ operation: Int)
    /// Undoes the most recent `place`, which placed `operation`.
    mutating func unplace(_ operation: Int)
}

/// The Wing–Gong search with Lowe's memo (Wing & Gong, "Testing and verifying
/// concurrent objects", JPDC 1993; Lowe, "Testing for linearizability", CCPE
/// 2017, §3), the algorithm Porcupine also uses, over any `SearchFrontier`.
///
/// From the current state the search tries each operation that may go next.
/// If the model accepts it and the pair (placed set, new state) is new to the
/// memo, the operation is placed and the search goes deeper; when no candidate
/// is left, the last placement is undone and the search moves to the candidate
/// after it. An indeterminate operation may take effect at any point after its
/// invocation, or never: the search succeeds as soon as every determinate
/// operation is placed. A memo hit is a dead end, because the search returns
/// at its first success, so every memoized pair has already failed.
///
/// Reads go first. If a determinate read-only operation r may go next and
/// the model accepts it in the current state, then whenever the node has a
/// solution it has one that starts with r: moving r to the front changes no
/// state (r changes none and sees the current one) and breaks no ordering
/// constraint (nothing unplaced must precede r, and what follows r still
/// does). So each node first commits to such a read, and when that branch
/// fails the node fails without trying its other options. This cuts the search
/// on read-heavy histories by orders of magnitude.
struct DepthFirstSearch<M: Model, Frontier: SearchFrontier> {
    let partition: PreparedPartition<M>
    let budget: SearchBudget
    var frontier: Frontier

    mutating func run(counters: inout SearchCounters) -> SearchOutcome {
        let model = partition.model
        let operationCount = partition.count
        var remainingDeterminate = partition.determinateCount
        if remainingDeterminate == 0 { return .consistent(order: []) }

        var state = model.initialState
        var placed = BitSet(count: operationCount)
        var memo = Memo<M.State>(operationCount: operationCount)
        let zobrist = ZobristTable(operationCount: operationCount).keys
        var placedHash: UInt64 = 0
        var stack: [(operation: Int, stateBefore: M.State, forced: Bool)] = []
        stack.reserveCapacity(operationCount)
        var longestPrefix: [Int] = []
        var candidate = frontier.first()
        var lookForRead = true
        var backtracking = false
        var stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
        let readOnly = (0..<operationCount).map {
            partition.deadline[$0] != nil && model.isReadOnly(partition.inputs[$0])
        }
        let memoBytesPerEntry = memo.bytesPerEntry
        var memoBytes = 0
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
                placed.remove(top.operation)
                placedHash ^= zobrist[top.operation]
                if partition.deadline[top.operation] != nil { remainingDeterminate += 1 }
                frontier.unplace(top.operation)
                // Below a forced read the node has no other option: keep unwinding.
                if top.forced { continue }
                backtracking = false
                candidate = frontier.next(after: top.operation)
                continue
            }
            var forced = false
            var chosen = -1
            var newState: M.State?
            if lookForRead {
                lookForRead = false
                var scan = candidate
                while let operation = scan {
                    if readOnly[operation],
                        let readState = model.step(state, partition.inputs[operation], partition.outputs[operation])
                    {
                        forced = true
                        chosen = operation
                        newState = readState
                        break
                    }
                    scan = frontier.next(after: operation)
                }
            }
            if !forced {
                guard let next = candidate else {
                    backtracking = true
                    continue
                }
                chosen = next
                newState = model.step(state, partition.inputs[chosen], partition.outputs[chosen])
            }
            if let accepted = newState {
                placed.insert(chosen)
                if memo.insert(placed, zobrist: placedHash ^ zobrist[chosen], state: accepted) {
                    placedHash ^= zobrist[chosen]
                    memoBytes += memoBytesPerEntry + model.heapBytes(accepted)
                    if memoBytes > budget.memoBytesMaximum {
                        return .unknown(.memoLimit(bytes: budget.memoBytesMaximum))
                    }
                    stack.append((chosen, state, forced))
                    state = accepted
                    if partition.deadline[chosen] != nil { remainingDeterminate -= 1 }
                    frontier.place(chosen)
                    if stack.count > longestPrefix.count { longestPrefix = stack.map(\.operation) }
                    candidate = frontier.first()
                    lookForRead = true
                    continue
                }
                placed.remove(chosen)
                if forced {
                    // The forced child was explored before and failed, so this node fails.
                    backtracking = true
                    continue
                }
            }
            candidate = frontier.next(after: chosen)
        }
        return .consistent(order: stack.map(\.operation))
    }
}
