import ChorusCore
import ChorusRaft

/// Runs many seeds and sums them up. Each seed is independent, so a campaign
/// can be split across tasks without changing any seed's outcome.
public enum Campaign {
    public struct Summary: Sendable {
        public var seeds = 0
        public var operations = 0
        public var completedOperations = 0
        public var simulatedMicroseconds: UInt64 = 0
        public var events = 0
        public var failures: [SeedOutcome] = []
        /// Seeds whose history the checker could not decide in its budget.
        public var linearizabilityUnknown = 0

        public init() {}

        public var simulatedSeconds: Double { Double(simulatedMicroseconds) / 1_000_000 }

        public mutating func add(_ outcome: SeedOutcome) {
            seeds += 1
            operations += outcome.operations
            completedOperations += outcome.completedOperations
            simulatedMicroseconds += outcome.simulatedMicroseconds
            events += outcome.events
            if outcome.linearizabilityUnknown { linearizabilityUnknown += 1 }
            if outcome.violation != nil { failures.append(outcome) }
        }

        mutating func merge(_ other: Summary) {
            seeds += other.seeds
            operations += other.operations
            completedOperations += other.completedOperations
            simulatedMicroseconds += other.simulatedMicroseconds
            events += other.events
            linearizabilityUnknown += other.linearizabilityUnknown
            failures += other.failures
        }
    }

    /// What a campaign holds fixed across its seeds; everything else each
    /// seed draws for itself.
    public struct Options: Sendable, Hashable {
        public var injectedBug: InjectedBug?
        /// Shorter safety phases (as in `swift test`).
        public var quick: Bool
        /// PreVote on or off for every seed; nil lets each seed draw it.
        public var preVote: Bool?

        public init(injectedBug: InjectedBug? = nil, quick: Bool = false, preVote: Bool? = nil) {
            self.injectedBug = injectedBug
            self.quick = quick
            self.preVote = preVote
        }
    }

    /// Runs one seed.
    public static func runSeed(_ seed: UInt64, options: Options = Options(), trace: ((String) -> Void)? = nil)
        -> SeedOutcome
    {
        var parameters = SimulationParameters.draw(seed: seed, injectedBug: options.injectedBug, quick: options.quick)
        if let preVote = options.preVote { parameters.preVoteEnabled = preVote }
        return Simulation(seed: seed, parameters: parameters, trace: trace).run()
    }

    /// Runs `count` seeds from `start`, in order. Stops after the first failing
    /// seed when `stopAtFirstViolation` is set (the negative-control tests).
    public static func run(
        start: UInt64, count: Int, options: Options = Options(), stopAtFirstViolation: Bool = false
    ) -> Summary {
        var summary = Summary()
        for offset in 0..<count {
            let outcome = runSeed(start &+ UInt64(offset), options: options)
            summary.add(outcome)
            if stopAtFirstViolation && outcome.violation != nil { break }
        }
        return summary
    }

    /// Runs `count` seeds from `start` on `jobs` concurrent tasks.
    public static func runConcurrently(
        start: UInt64, count: Int, jobs: Int, options: Options = Options()
    ) async -> Summary {
        let jobCount = max(1, min(jobs, count))
        return await withTaskGroup(of: Summary.self) { group in
            for job in 0..<jobCount {
                group.addTask {
                    var summary = Summary()
                    var offset = job
                    while offset < count {
                        summary.add(runSeed(start &+ UInt64(offset), options: options))
                        offset += jobCount
                    }
                    return summary
                }
            }
            var total = Summary()
            for await partial in group { total.merge(partial) }
            total.failures.sort { $0.seed < $1.seed }
            return total
        }
    }

    /// The first seed in `start..<start+limit` whose run violates a property,
    /// searching `jobs` seeds at a time (the negative-control tests), or nil.
    /// Seeds are judged in order, so the answer does not depend on `jobs`.
    public static func firstViolation(
        start: UInt64, limit: Int, options: Options, jobs: Int
    ) async -> (outcome: SeedOutcome, seedsRun: Int)? {
        let width = max(1, jobs)
        var offset = 0
        while offset < limit {
            let batch = min(width, limit - offset)
            let base = offset
            let outcomes = await withTaskGroup(of: SeedOutcome.self) { group in
                for index in 0..<batch {
                    group.addTask { runSeed(start &+ UInt64(base + index), options: options) }
                }
                var collected: [SeedOutcome] = []
                for await outcome in group { collected.append(outcome) }
                return collected.sorted { $0.seed < $1.seed }
            }
            if let failing = outcomes.first(where: { $0.violation != nil }) {
                return (failing, Int(failing.seed - start) + 1)
            }
            offset += batch
        }
        return nil
    }
}
