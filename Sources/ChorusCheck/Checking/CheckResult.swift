/// Which consistency condition to check.
public enum ConsistencyCondition: String, Hashable, Sendable, CaseIterable {
    /// Herlihy & Wing's linearizability: one legal order that respects real time.
    case linearizable
    /// Lamport's sequential consistency: one legal order that respects each
    /// process's own order, with no real-time constraint between processes.
    case sequential

    /// How a verdict reads for this condition: `linearizable`,
    /// `not sequentially consistent`, …
    public func phrase(for verdict: Verdict) -> String {
        let adjective = self == .linearizable ? "linearizable" : "sequentially consistent"
        switch verdict {
        case .satisfied: return adjective
        case .violated: return "not " + adjective
        case .unknown: return "unknown"
        }
    }
}

/// The answer of a check. `unknown` is an honest "ran out of budget", never a guess.
public enum Verdict: String, Hashable, Sendable {
    case satisfied
    case violated
    case unknown
}

/// How long and how hard a check may search.
public struct CheckOptions: Sendable {
    /// The time budget for the whole history; nil searches until it decides.
    public var timeout: Duration?
    /// The bound on the memory of each partition's search memo, in bytes;
    /// reaching it gives `unknown`.
    public var memoBytesMaximum: Int

    public init(timeout: Duration? = nil, memoBytesMaximum: Int = CheckLimits.memoBytesMaximumDefault) {
        precondition(memoBytesMaximum > 0, "the memo must be allowed some memory")
        self.timeout = timeout
        self.memoBytesMaximum = memoBytesMaximum
    }
}

/// One step of a counterexample's consistent prefix.
public struct LinearizedStep: Hashable, Sendable {
    /// The history operation placed at this step.
    public var operationID: Int
    /// The model state after it, rendered for people.
    public var stateAfter: String
}

/// Why a history is not consistent, in terms a person can check by hand.
///
/// The search reached at most `prefix.count` operations in a legal order.
/// From there, `candidates` are the operations that could have gone next,
/// and `unplaceable` are those of them the model rejects in `stateAtEnd`.
/// For linearizability, `blockingOperationID` is the operation that had to be
/// placed before its completion and could not be: every candidate invoked
/// after its completion is out of reach.
public struct Counterexample: Hashable, Sendable {
    /// The partition's key, or nil for unkeyed histories.
    public var key: HistoryValue?
    /// Every operation of the violating partition (ids), failed ones included.
    public var partitionOperationIDs: [Int]
    /// The longest legal prefix the search found, in order.
    public var prefix: [LinearizedStep]
    /// The model state after the prefix.
    public var stateAtEnd: String
    /// The operations that could go next after the prefix.
    public var candidates: [Int]
    /// The candidates the model rejects after the prefix.
    public var unplaceable: [Int]
    /// Linearizability only: the earliest-completing unplaced operation.
    public var blockingOperationID: Int?
}

/// The verdict of one partition (one key, or the whole history).
public struct PartitionResult: Sendable {
    public var key: HistoryValue?
    /// The partition's operations (ids), failed and dropped ones included.
    public var operationIDs: [Int]
    public var verdict: Verdict
    /// For a satisfied partition, operation ids in a legal order; operations
    /// absent from it were failed, or indeterminate and never took effect.
    public var witness: [Int]?
    public var unknownReason: UnknownReason?
    public var searchSteps: Int
    public var memoEntries: Int
}

/// The outcome of checking one history.
public struct CheckResult: Sendable {
    public var condition: ConsistencyCondition
    public var verdict: Verdict
    /// Set when the verdict is `violated`: from the lowest-numbered partition
    /// that violated in the first round that found a violation
    /// (`PartitionRounds`); the same for `check` and `checkConcurrently`.
    public var counterexample: Counterexample?
    /// Set when the verdict is `unknown`.
    public var unknownReason: UnknownReason?
    /// Every partition, in order of its first operation in the history. When
    /// a violation ended the check, partitions still undecided are `unknown`
    /// (cancelled), with the steps they took.
    public var partitions: [PartitionResult]
    /// Wall time of the search (translation included).
    public var duration: Duration

    /// `linearizable`, `not sequentially consistent`, `unknown`, …
    public var phrase: String { condition.phrase(for: verdict) }
}
