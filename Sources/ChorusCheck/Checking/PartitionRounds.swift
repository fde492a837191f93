import Synchronization

/// The partitions (keys) of a linearizability check, searched in rounds of
/// growing step limits until one violates or all are decided.
///
/// Why rounds: a history is not linearizable as soon as one key is not
/// (locality: Herlihy & Wing 1990, theorem 1), and keys differ by orders of
/// magnitude in how long their searches take. In Porcupine's `c50-bad.txt`
/// key "3" fails within 11,000 steps, while key "0", which comes first, does
/// not decide within 46 million steps and 2 GiB of memo. Searching keys in
/// order (or one per core, waiting for every lower-numbered key so that the
/// counterexample is the lowest-numbered one) spends all its time on the
/// hard key first. Porcupine runs every key in its own goroutine and stops at
/// the first that fails, which finds the cheap violation but reports
/// whichever finished first. Rounds find it as soon and stay deterministic:
///
/// - Round r lets every undecided partition search up to
///   `CheckLimits.firstRoundSearchSteps` × 2^r steps in all. Searches pause
///   and resume rather than restart (`DepthFirstSearch.resume`), so no work
///   is repeated, and when the cheapest violation is found (before any last
///   round, below) no partition has searched more than twice its steps, or
///   the first limit: a check costs at most partitions × that.
/// - The first round in which some partition violates ends the check, and
///   its lowest-numbered violating partition gives the counterexample. Step
///   counts and memo sizes do not depend on timing, so a history always
///   gives the same counterexample, serially or in parallel, on any machine.
/// - Paused searches keep their memos. While they hold less than half of
///   `memoBytesMaximum` together, a round also pauses each partition once its
///   memo has grown by an equal share of the rest, so that the paused memos
///   stay within that budget in all. After that, or when one partition is
///   left, a last round runs every undecided partition to its verdict, each
///   under its own budget, with the lowest-numbered violation winning, as a
///   check without rounds would.
struct PartitionRounds<M: Model> {
    private let slots: [PartitionSearchSlot<M>]
    private let memoBytesMaximum: Int
    private var results: [PartitionResult?]
    private var memoBytesHeld: [Int]
    private var nextStepLimit = CheckLimits.firstRoundSearchSteps
    private var violation: (partition: Int, counterexample: Counterexample)?

    /// A violation found in the current round: later partitions of the round
    /// can no longer be the one reported.
    var hasViolation: Bool { violation != nil }

    init(
        _ partitions: [PreparedPartition<M>], deadline: ContinuousClock.Instant?, memoBytesMaximum: Int,
        signal: ViolationSignal?
    ) {
        slots = partitions.enumerated().map { index, partition in
            let budget = SearchBudget(
                deadline: deadline, memoBytesMaximum: memoBytesMaximum, signal: signal, partition: index)
            return PartitionSearchSlot(index: index, search: DepthFirstSearch(
                partition: partition, budget: budget, frontier: RealTimeFrontier(partition)))
        }
        self.memoBytesMaximum = memoBytesMaximum
        results = Array(repeating: nil, count: partitions.count)
        memoBytesHeld = Array(repeating: 0, count: partitions.count)
    }

    /// The turns of the next round, in partition order, or nil when the
    /// check is over.
    mutating func nextRound() -> [PartitionTurn<M>]? {
        if violation != nil { return nil }
        let undecided = results.indices.filter { results[$0] == nil }
        if undecided.isEmpty { return nil }
        let held = undecided.reduce(0) { $0 + memoBytesHeld[$1] }
        let isLast = undecided.count == 1 || held >= memoBytesMaximum / 2 || nextStepLimit > Int.max / 2
        if isLast {
            return undecided.map { PartitionTurn(slot: slots[$0], stepLimit: .max, memoBytesPause: .max) }
        }
        let share = (memoBytesMaximum - held) / undecided.count
        let stepLimit = nextStepLimit
        nextStepLimit *= 2
        return undecided.map {
            PartitionTurn(slot: slots[$0], stepLimit: stepLimit, memoBytesPause: memoBytesHeld[$0] + share)
        }
    }

    /// Takes in what one turn found. A round's turns may come in any order.
    mutating func record(_ outcome: PartitionTurnOutcome) {
        let index = outcome.partition
        precondition(results[index] == nil, "partition \(index) took a turn after its verdict")
        memoBytesHeld[index] = outcome.memoBytes
        guard let result = outcome.result else { return }
        results[index] = result
        if let counterexample = outcome.counterexample, index < (violation?.partition ?? Int.max) {
            violation = (index, counterexample)
        }
    }

    /// Every partition's result in partition order (a search still paused
    /// when a violation ended the check counts as cancelled), and the
    /// counterexample.
    func conclusion() -> (results: [PartitionResult], violation: Counterexample?) {
        let all = results.indices.map { results[$0] ?? slots[$0].cancelledResult() }
        return (all, violation?.counterexample)
    }
}

/// One partition's turn in a round: how far its search may go this time.
struct PartitionTurn<M: Model>: Sendable {
    let slot: PartitionSearchSlot<M>
    let stepLimit: Int
    let memoBytesPause: Int

    func take() -> PartitionTurnOutcome { slot.resume(stepLimit: stepLimit, memoBytesPause: memoBytesPause) }
}

/// What a turn found: a verdict (with a counterexample for a violation), or
/// nil for a search that paused.
struct PartitionTurnOutcome: Sendable {
    var partition: Int
    var result: PartitionResult?
    var counterexample: Counterexample?
    /// What the paused search's memo holds; 0 once decided (the memo is freed).
    var memoBytes: Int
}

/// One partition's search between turns. Rounds hand it to one turn at a time
/// (a round's turns all end before the next round starts); the mutex makes
/// that safe for child tasks without trusting it.
final class PartitionSearchSlot<M: Model>: Sendable {
    let index: Int
    private let search: Mutex<DepthFirstSearch<M, RealTimeFrontier>?>

    init(index: Int, search: DepthFirstSearch<M, RealTimeFrontier>) {
        self.index = index
        self.search = Mutex(search)
    }

    func resume(stepLimit: Int, memoBytesPause: Int) -> PartitionTurnOutcome {
        search.withLock { search in
            guard var current = search.take() else {
                preconditionFailure("partition \(index) took a turn after its verdict")
            }
            let progress = current.resume(stepLimit: stepLimit, memoBytesPause: memoBytesPause)
            guard case .decided(let outcome) = progress else {
                let memoBytes = current.memoBytes
                search = current
                return PartitionTurnOutcome(partition: index, result: nil, counterexample: nil, memoBytes: memoBytes)
            }
            // Dropping the search here frees its memo.
            let (result, counterexample) = Checker.conclude(
                current.partition, condition: .linearizable, outcome: outcome, steps: current.steps,
                memoEntries: current.memoEntries)
            if counterexample != nil { current.budget.signal?.report(partition: index) }
            return PartitionTurnOutcome(partition: index, result: result, counterexample: counterexample, memoBytes: 0)
        }
    }

    /// The result of a search that was still paused when the check ended.
    func cancelledResult() -> PartitionResult {
        search.withLock { search in
            guard let current = search else { preconditionFailure("partition \(index) has a verdict") }
            return Checker.conclude(
                current.partition, condition: .linearizable, outcome: .unknown(.cancelled), steps: current.steps,
                memoEntries: current.memoEntries
            ).result
        }
    }
}
