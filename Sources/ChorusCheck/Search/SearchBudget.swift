import Synchronization

/// Why a search gave up without a verdict. A search that gives up reports
/// `unknown`; it never guesses.
public enum UnknownReason: Hashable, Sendable, CustomStringConvertible {
    /// The time budget ran out.
    case timeout
    /// The memo reached its bound in bytes (`CheckOptions.memoBytesMaximum`).
    case memoLimit(bytes: Int)
    /// The search was cancelled (its task was, or another partition already
    /// found a violation).
    case cancelled

    public var description: String {
        switch self {
        case .timeout: return "the time budget ran out"
        case .memoLimit(let bytes):
            let mebibytes = Double(bytes) / Double(1 << 20)
            let shown = mebibytes >= 10 ? "\(Int(mebibytes.rounded())) MiB" : "\(bytes) bytes"
            return "the search memo reached its bound of \(shown)"
        case .cancelled: return "the search was cancelled"
        }
    }
}

/// Lets partitions searched in parallel stop early once a lower-numbered
/// partition has found a violation in the same round (`PartitionRounds`),
/// while keeping the reported counterexample deterministic: the
/// lowest-numbered partition that violates within the round always finishes
/// its turn.
final class ViolationSignal: Sendable {
    private let lowestViolatingPartition = Atomic<Int>(Int.max)

    func report(partition: Int) {
        _ = lowestViolatingPartition.min(partition, ordering: .relaxed)
    }

    func shouldStop(partition: Int) -> Bool {
        lowestViolatingPartition.load(ordering: .relaxed) < partition
    }
}

/// The limits one search runs under.
struct SearchBudget: Sendable {
    var deadline: ContinuousClock.Instant?
    var memoBytesMaximum: Int
    var signal: ViolationSignal?
    var partition: Int

    /// Whether to stop now, and why. Called every
    /// `CheckLimits.searchStepsPerDeadlineCheck` steps.
    func interruption() -> UnknownReason? {
        if let deadline, ContinuousClock.now >= deadline { return .timeout }
        if Task.isCancelled { return .cancelled }
        if let signal, signal.shouldStop(partition: partition) { return .cancelled }
        return nil
    }
}

/// What one partition's search found.
enum SearchOutcome: Sendable {
    /// A witness: partition-local operation indices in linearization order
    /// (indeterminate operations that never took effect are absent).
    case consistent(order: [Int])
    /// No order exists; the longest consistent prefix the search reached.
    case inconsistent(longestPrefix: [Int])
    case unknown(UnknownReason)
}

/// Where a search stands after `DepthFirstSearch.resume`.
enum SearchProgress: Sendable {
    case decided(SearchOutcome)
    /// It reached its step limit or memo allowance and can be resumed.
    case paused
}
