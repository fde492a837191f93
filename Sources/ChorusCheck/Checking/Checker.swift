/// Checks a history against a model for linearizability or sequential
/// consistency.
///
/// ```swift
/// let history = try History(events: recordedEvents)
/// let result = try Checker.check(history, model: CASRegisterModel(), condition: .linearizable)
/// if result.verdict == .violated { print(result.counterexample!) }
/// ```
///
/// Linearizability is checked per key (P-compositionality: Horn & Kroening,
/// "Faster linearizability checking via P-compositionality", FORTE 2015),
/// the keys taking turns in rounds of growing step limits so that a cheap
/// violation on one key is found before a hard key is decided
/// (`PartitionRounds`), and in parallel with `checkConcurrently`. Sequential consistency is not
/// compositional, so it is one search over every key (`KeyedModel`).
///
/// `:fail` operations are dropped; indeterminate ones may take effect at any
/// point after their invocation, or never. A verdict of `violated` or
/// `satisfied` is exact; `unknown` means the time or memo budget ran out.
public enum Checker {
    /// Checks partitions on the calling thread, taking turns in rounds
    /// (`PartitionRounds`). For callers without an async context, such as
    /// the single-threaded simulator. Gives the same verdict and
    /// counterexample as `checkConcurrently`.
    public static func check<M: Model>(
        _ history: History, model: M, condition: ConsistencyCondition, options: CheckOptions = CheckOptions()
    ) throws(ModelError) -> CheckResult {
        let start = ContinuousClock.now
        let deadline = options.timeout.map { start + $0 }
        if condition == .sequential {
            return try checkSequential(history, model: model, options: options, start: start)
        }
        let partitions = try linearizabilityPartitions(history, model: model)
        var rounds = PartitionRounds(
            partitions, deadline: deadline, memoBytesMaximum: options.memoBytesMaximum, signal: nil)
        while let turns = rounds.nextRound() {
            for turn in turns {
                rounds.record(turn.take())
                // The rest of the round is numbered higher: none of it can be the one reported.
                if rounds.hasViolation { break }
            }
        }
        let (results, violation) = rounds.conclusion()
        return finish(.linearizable, results: results, violation: violation, duration: ContinuousClock.now - start)
    }

    /// Checks partitions in parallel: each round's turns are child tasks.
    /// When a partition violates, the higher-numbered turns of the round stop
    /// (they can no longer be the one reported) and the lower-numbered ones
    /// finish theirs, so the counterexample is the one `check` reports.
    public static func checkConcurrently<M: Model>(
        _ history: History, model: M, condition: ConsistencyCondition, options: CheckOptions = CheckOptions()
    ) async throws(ModelError) -> CheckResult {
        let start = ContinuousClock.now
        let deadline = options.timeout.map { start + $0 }
        if condition == .sequential {
            return try checkSequential(history, model: model, options: options, start: start)
        }
        let partitions = try linearizabilityPartitions(history, model: model)
        if partitions.count == 1 {
            return try check(history, model: model, condition: condition, options: options)
        }
        var rounds = PartitionRounds(
            partitions, deadline: deadline, memoBytesMaximum: options.memoBytesMaximum, signal: ViolationSignal())
        while let turns = rounds.nextRound() {
            let outcomes = await withTaskGroup(
                of: PartitionTurnOutcome.self, returning: [PartitionTurnOutcome].self
            ) { group in
                for turn in turns { group.addTask { turn.take() } }
                var collected: [PartitionTurnOutcome] = []
                for await outcome in group { collected.append(outcome) }
                return collected
            }
            for outcome in outcomes { rounds.record(outcome) }
        }
        let (results, violation) = rounds.conclusion()
        return finish(.linearizable, results: results, violation: violation, duration: ContinuousClock.now - start)
    }

    // MARK: - Planning

    /// One partition per key, numbered in the order of each key's first
    /// operation, so partition numbers (and counterexamples) are deterministic.
    static func linearizabilityPartitions<M: Model>(
        _ history: History, model: M
    ) throws(ModelError) -> [PreparedPartition<M>] {
        var keys: [HistoryValue?] = []
        var operationsByKey: [HistoryValue?: [Operation]] = [:]
        for operation in history.operations {
            if operationsByKey[operation.key] == nil { keys.append(operation.key) }
            operationsByKey[operation.key, default: []].append(operation)
        }
        var partitions: [PreparedPartition<M>] = []
        partitions.reserveCapacity(keys.count)
        for key in keys {
            var partition = PreparedPartition(model: model, key: key)
            try partition.add(operationsByKey[key] ?? [])
            partitions.append(partition)
        }
        return partitions
    }

    /// Sequential consistency is not a local property (Herlihy & Wing 1990,
    /// §3.3 give the counterexample), so in general every key goes into one
    /// search, with the model wrapped in `KeyedModel`. That search grows with
    /// the product of the keys' states, so two sound shortcuts come first:
    ///
    /// 1. A linearizable history is sequentially consistent: a real-time order
    ///    keeps each process's order, since a process's operations do not
    ///    overlap. Linearizability *is* local, so it is checked key by key, and
    ///    the keys' orders are merged into one witness (`mergeLinearizations`).
    /// 2. If one key's operations alone are not sequentially consistent, the
    ///    whole history is not: a witness for the whole, restricted to that
    ///    key, would be one for the key.
    ///
    /// Only when neither settles it does the combined search run. The second
    /// shortcut runs on a sixty-fourth of the memo budget: on one key without
    /// real-time order the search can wander for long without finding the
    /// violation the combined search finds at once (`c10-bad.edn` takes 0.8 s
    /// this way, 28 s with the whole budget), and when it gives up the
    /// combined search still decides.
    private static func checkSequential<M: Model>(
        _ history: History, model: M, options: CheckOptions, start: ContinuousClock.Instant
    ) throws(ModelError) -> CheckResult {
        let deadline = options.timeout.map { start + $0 }
        func budget(_ partition: Int, share: Int = 1) -> SearchBudget {
            SearchBudget(
                deadline: deadline, memoBytesMaximum: max(1, options.memoBytesMaximum / share), signal: nil,
                partition: partition)
        }
        let firstKey = history.operations.first?.key
        if history.operations.allSatisfy({ $0.key == firstKey }) {
            var partition = PreparedPartition(model: model, key: firstKey)
            try partition.add(history.operations)
            let (result, counterexample) = search(partition, condition: .sequential, budget: budget(0))
            return finish(.sequential, results: [result], violation: counterexample, duration: ContinuousClock.now - start)
        }

        let keyPartitions = try linearizabilityPartitions(history, model: model)
        let allOperationIDs = history.operations.map(\.id)
        var steps = 0
        var memoEntries = 0
        var orders: [[Int]] = []
        for (index, partition) in keyPartitions.enumerated() {
            let (result, _) = search(partition, condition: .linearizable, budget: budget(index))
            steps += result.searchSteps
            memoEntries += result.memoEntries
            guard result.verdict == .satisfied, let witness = result.witness else { break }
            orders.append(witness)
        }
        if orders.count == keyPartitions.count, let merged = mergeLinearizations(orders, of: history) {
            let result = PartitionResult(
                key: nil, operationIDs: allOperationIDs, verdict: .satisfied, witness: merged, unknownReason: nil,
                searchSteps: steps, memoEntries: memoEntries)
            return finish(.sequential, results: [result], violation: nil, duration: ContinuousClock.now - start)
        }

        for (index, partition) in keyPartitions.enumerated() {
            let (result, counterexample) = search(partition, condition: .sequential, budget: budget(index, share: 64))
            steps += result.searchSteps
            memoEntries += result.memoEntries
            if let counterexample {
                let whole = PartitionResult(
                    key: nil, operationIDs: allOperationIDs, verdict: .violated, witness: nil, unknownReason: nil,
                    searchSteps: steps, memoEntries: memoEntries)
                return finish(.sequential, results: [whole], violation: counterexample, duration: ContinuousClock.now - start)
            }
        }

        var partition = PreparedPartition(model: KeyedModel(base: model, operations: history.operations), key: nil)
        try partition.add(history.operations)
        var (result, counterexample) = search(partition, condition: .sequential, budget: budget(0))
        result.searchSteps += steps
        result.memoEntries += memoEntries
        return finish(.sequential, results: [result], violation: counterexample, duration: ContinuousClock.now - start)
    }

    /// One real-time order of the whole history from the keys' own
    /// linearizations, or nil if they cannot be merged.
    ///
    /// Linearizability is local (Herlihy & Wing 1990, theorem 1), so a merge
    /// always exists. It is built greedily: the next operation is the head of
    /// some key's order that no remaining operation must precede, that is,
    /// one invoked no later than the earliest completion among the operations
    /// still to place. Placing any such head keeps a merge of the rest
    /// possible (the rest of the global linearization still is one), so the
    /// greedy never needs to back up. Ties go to the earliest invocation, then
    /// the lowest key number, so the witness is deterministic.
    static func mergeLinearizations(_ orders: [[Int]], of history: History) -> [Int]? {
        let operations = history.operations
        var completions: [(instant: Int, id: Int)] = []
        for order in orders {
            for id in order { if let deadline = operations[id].deadline { completions.append((deadline, id)) } }
        }
        completions.sort { ($0.instant, $0.id) < ($1.instant, $1.id) }
        var placed = [Bool](repeating: false, count: operations.count)
        var heads = [Int](repeating: 0, count: orders.count)
        var nextCompletion = 0
        var merged: [Int] = []
        let total = orders.reduce(0) { $0 + $1.count }
        merged.reserveCapacity(total)
        while merged.count < total {
            while nextCompletion < completions.count && placed[completions[nextCompletion].id] { nextCompletion += 1 }
            let bound = nextCompletion < completions.count ? completions[nextCompletion].instant : Int.max
            var choice: (key: Int, invokedAt: Int)?
            for key in orders.indices where heads[key] < orders[key].count {
                let invokedAt = operations[orders[key][heads[key]]].invokedAt
                if invokedAt <= bound && (choice == nil || invokedAt < choice!.invokedAt) { choice = (key, invokedAt) }
            }
            guard let key = choice?.key else { return nil }
            let id = orders[key][heads[key]]
            heads[key] += 1
            placed[id] = true
            merged.append(id)
        }
        return merged
    }

    // MARK: - Searching one partition

    static func search<N: Model>(
        _ partition: PreparedPartition<N>, condition: ConsistencyCondition, budget: SearchBudget
    ) -> (PartitionResult, Counterexample?) {
        switch condition {
        case .linearizable:
            var search = DepthFirstSearch(partition: partition, budget: budget, frontier: RealTimeFrontier(partition))
            let outcome = search.run()
            return conclude(partition, condition: condition, outcome: outcome, steps: search.steps, memoEntries: search.memoEntries)
        case .sequential:
            var search = DepthFirstSearch(partition: partition, budget: budget, frontier: ProcessOrderFrontier(partition))
            let outcome = search.run()
            return conclude(partition, condition: condition, outcome: outcome, steps: search.steps, memoEntries: search.memoEntries)
        }
    }

    /// A partition's result from its search's outcome, with the
    /// counterexample of a violation.
    static func conclude<N: Model>(
        _ partition: PreparedPartition<N>, condition: ConsistencyCondition, outcome: SearchOutcome, steps: Int,
        memoEntries: Int
    ) -> (result: PartitionResult, counterexample: Counterexample?) {
        var result = PartitionResult(
            key: partition.key, operationIDs: (partition.operationIDs + partition.droppedOperationIDs).sorted(),
            verdict: .unknown, witness: nil, unknownReason: nil, searchSteps: steps, memoEntries: memoEntries)
        switch outcome {
        case .consistent(let order):
            result.verdict = .satisfied
            result.witness = order.map { partition.operationIDs[$0] }
            return (result, nil)
        case .unknown(let reason):
            result.unknownReason = reason
            return (result, nil)
        case .inconsistent(let prefix):
            result.verdict = .violated
            return (result, counterexample(partition, condition: condition, prefix: prefix, operationIDs: result.operationIDs))
        }
    }

    /// Replays the longest legal prefix and lists what could have come next.
    static func counterexample<N: Model>(
        _ partition: PreparedPartition<N>, condition: ConsistencyCondition, prefix: [Int], operationIDs: [Int]
    ) -> Counterexample {
        let model = partition.model
        var state = model.initialState
        var placed = BitSet(count: partition.count)
        var steps: [LinearizedStep] = []
        for operation in prefix {
            guard let next = model.step(state, partition.inputs[operation], partition.outputs[operation]) else {
                preconditionFailure("the search recorded a prefix the model rejects")
            }
            state = next
            placed.insert(operation)
            steps.append(LinearizedStep(operationID: partition.operationIDs[operation], stateAfter: model.describe(state, values: partition.values)))
        }
        var candidates: [Int] = []
        var blocking: Int?
        switch condition {
        case .linearizable:
            // The unplaced determinate operation that completes first bounds
            // which operations can still go before it.
            for operation in 0..<partition.count where !placed.contains(operation) {
                guard let deadline = partition.deadline[operation] else { continue }
                if let current = blocking, let currentDeadline = partition.deadline[current], currentDeadline <= deadline {
                    continue
                }
                blocking = operation
            }
            if let blocking, let bound = partition.deadline[blocking] {
                candidates = (0..<partition.count).filter { !placed.contains($0) && partition.invokedAt[$0] <= bound }
            }
        case .sequential:
            var blockedProcesses = Set<ProcessID>()
            for operation in 0..<partition.count where !placed.contains(operation) {
                let process = partition.processes[operation]
                if blockedProcesses.contains(process) { continue }
                candidates.append(operation)
                if partition.deadline[operation] != nil { blockedProcesses.insert(process) }
            }
        }
        let unplaceable = candidates.filter {
            model.step(state, partition.inputs[$0], partition.outputs[$0]) == nil
        }
        return Counterexample(
            key: partition.key, partitionOperationIDs: operationIDs, prefix: steps, stateAtEnd: model.describe(state, values: partition.values),
            candidates: candidates.map { partition.operationIDs[$0] },
            unplaceable: unplaceable.map { partition.operationIDs[$0] },
            blockingOperationID: blocking.map { partition.operationIDs[$0] })
    }

    private static func finish(
        _ condition: ConsistencyCondition, results: [PartitionResult], violation: Counterexample?, duration: Duration
    ) -> CheckResult {
        var verdict = Verdict.satisfied
        var reason: UnknownReason?
        if violation != nil {
            verdict = .violated
        } else if let unknown = results.first(where: { $0.verdict == .unknown }) {
            verdict = .unknown
            reason = unknown.unknownReason
        }
        return CheckResult(
            condition: condition, verdict: verdict, counterexample: violation, unknownReason: reason,
            partitions: results, duration: duration)
    }
}
