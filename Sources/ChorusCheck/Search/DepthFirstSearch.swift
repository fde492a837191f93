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
///
/// A search can pause and resume (`resume(stepLimit:memoBytesPause:)`), so
/// that the partitions of one history can take turns (`PartitionRounds`).
/// Pausing changes nothing about what the search does: it stops between two
/// steps and carries on from there, so the steps it takes, and its outcome,
/// are the same however it is paused.
struct DepthFirstSearch<M: Model, Frontier: SearchFrontier> {
    let partition: PreparedPartition<M>
    let budget: SearchBudget
    /// Nil only while `explore` holds it.
    private var frontier: Frontier?

    private var state: M.State
    private var placed: BitSet
    private var memo: Memo<M.State>
    private let zobrist: [UInt64]
    private var placedHash: UInt64 = 0
    private var stack: [(operation: Int, stateBefore: M.State, forced: Bool)] = []
    private var longestPrefix: [Int] = []
    private var candidate: Int?
    private var lookForRead = true
    private var backtracking = false
    private var remainingDeterminate: Int
    private var stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
    /// Whether each operation is a determinate read-only one (see "Reads go first").
    private let readOnly: [Bool]
    private var isFinished = false

    /// Steps taken so far: one per candidate tried or placement undone.
    private(set) var steps = 0
    /// What the memo holds, as the memory budget counts it.
    private(set) var memoBytes = 0
    var memoEntries: Int { memo.count }

    init(partition: PreparedPartition<M>, budget: SearchBudget, frontier: Frontier) {
        let model = partition.model
        let operationCount = partition.count
        self.partition = partition
        self.budget = budget
        self.frontier = frontier
        state = model.initialState
        placed = BitSet(count: operationCount)
        memo = Memo<M.State>(operationCount: operationCount)
        zobrist = ZobristTable(operationCount: operationCount).keys
        stack.reserveCapacity(operationCount)
        candidate = frontier.first()
        remainingDeterminate = partition.determinateCount
        readOnly = (0..<operationCount).map {
            partition.deadline[$0] != nil && model.isReadOnly(partition.inputs[$0])
        }
    }

    /// Searches until the outcome is known.
    mutating func run() -> SearchOutcome {
        guard case .decided(let outcome) = resume() else {
            preconditionFailure("a search without limits paused")
        }
        return outcome
    }

    /// Searches until the outcome is known, or until a pause: once `steps`
    /// reaches `stepLimit`, or the memo holds more than `memoBytesPause`
    /// bytes. Both are looked at every `CheckLimits.searchStepsPerDeadlineCheck`
    /// steps, so a step limit that is a multiple of it is met exactly.
    /// Must not be called again once it has returned an outcome.
    mutating func resume(stepLimit: Int = .max, memoBytesPause: Int = .max) -> SearchProgress {
        precondition(!isFinished, "a search was advanced after it had decided")
        let outcome = explore(stepLimit: stepLimit, memoBytesPause: memoBytesPause)
        if outcome != nil { isFinished = true }
        return outcome.map { .decided($0) } ?? .paused
    }

    /// The search loop; nil when it paused. It works on locals, moved out of
    /// `self` and back (swapped, so that no buffer is shared and copied):
    /// the optimizer keeps locals in registers, but not stored properties
    /// once the loop has passed one of them to a call.
    private mutating func explore(stepLimit: Int, memoBytesPause: Int) -> SearchOutcome? {
        let model = partition.model
        guard var frontier = self.frontier.take() else { preconditionFailure("a search loop is already running") }
        var memo = Memo<M.State>()
        swap(&memo, &self.memo)
        var placed = BitSet(count: 0)
        swap(&placed, &self.placed)
        var stack: [(operation: Int, stateBefore: M.State, forced: Bool)] = []
        swap(&stack, &self.stack)
        var longestPrefix: [Int] = []
        swap(&longestPrefix, &self.longestPrefix)
        var state = self.state
        var placedHash = self.placedHash
        var candidate = self.candidate
        var lookForRead = self.lookForRead
        var backtracking = self.backtracking
        var remainingDeterminate = self.remainingDeterminate
        var stepsUntilCheck = self.stepsUntilCheck
        var steps = self.steps
        var memoBytes = self.memoBytes
        defer {
            self.frontier = frontier
            swap(&memo, &self.memo)
            swap(&placed, &self.placed)
            swap(&stack, &self.stack)
            swap(&longestPrefix, &self.longestPrefix)
            self.state = state
            self.placedHash = placedHash
            self.candidate = candidate
            self.lookForRead = lookForRead
            self.backtracking = backtracking
            self.remainingDeterminate = remainingDeterminate
            self.stepsUntilCheck = stepsUntilCheck
            self.steps = steps
            self.memoBytes = memoBytes
        }
        let memoBytesPerEntry = memo.bytesPerEntry
        let inputs = partition.inputs
        let outputs = partition.outputs
        let deadline = partition.deadline
        let readOnly = self.readOnly
        let zobrist = self.zobrist
        while remainingDeterminate > 0 {
            if stepsUntilCheck == 0 {
                // Pause before resetting the countdown, so that resuming
                // comes back here and looks again.
                if steps >= stepLimit || memoBytes > memoBytesPause { return nil }
                stepsUntilCheck = CheckLimits.searchStepsPerDeadlineCheck
                if let reason = budget.interruption() { return .unknown(reason) }
            }
            steps += 1
            stepsUntilCheck -= 1
            if backtracking {
                guard let top = stack.popLast() else { return .inconsistent(longestPrefix: longestPrefix) }
                state = top.stateBefore
                placed.remove(top.operation)
                placedHash ^= zobrist[top.operation]
                if deadline[top.operation] != nil { remainingDeterminate += 1 }
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
                        let readState = model.step(state, inputs[operation], outputs[operation])
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
                newState = model.step(state, inputs[chosen], outputs[chosen])
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
                    if deadline[chosen] != nil { remainingDeterminate -= 1 }
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

extension DepthFirstSearch: Sendable where Frontier: Sendable {}
