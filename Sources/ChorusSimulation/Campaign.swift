import ChorusCore
import ChorusRaft

/// Runs many seeds and sums them up. Each seed is independent, so a campaign
/// can be split across tasks without changing any seed's outcome.
public enum Campaign {
    /// The Raft campaign's sum (`CampaignSummary`, shared with every simulator).
    public typealias Summary = CampaignSummary<SeedOutcome>

    /// What a campaign holds fixed across its seeds; everything else each
    /// seed draws for itself.
    public struct Options: Sendable, Hashable {
        public var injectedBug: InjectedBug?
        /// Shorter safety phases (as in `swift test`).
        public var quick: Bool
        /// PreVote on or off for every seed; nil lets each seed draw it.
        public var preVote: Bool?
        public var workload: SimulationWorkload
        /// The level of the key-value workload's reads.
        public var level: SimulatedLevel

        public init(
            injectedBug: InjectedBug? = nil, quick: Bool = false, preVote: Bool? = nil, workload: SimulationWorkload = .keyValue,
            level: SimulatedLevel = .linearizable
        ) {
            self.injectedBug = injectedBug
            self.quick = quick
            self.preVote = preVote
            self.workload = workload
            self.level = level
        }
    }

    /// Runs one seed.
    public static func runSeed(_ seed: UInt64, options: Options = Options(), trace: ((String) -> Void)? = nil)
        -> SeedOutcome
    {
        var parameters = SimulationParameters.draw(seed: seed, injectedBug: options.injectedBug, quick: options.quick)
        if let preVote = options.preVote { parameters.preVoteEnabled = preVote }
        parameters.workload = options.workload
        parameters.readLevel = options.level
        if options.level != .linearizable {
            // Weaker levels read from any replica: that is what they are for.
            parameters.readAnywhereProbability = max(parameters.readAnywhereProbability, 0.5)
        }
        var boundRandom = SeededGenerator(seed: seed ^ 0xB0_0D_57A1)
        parameters.stalenessBound = StalenessBound.draw(&boundRandom)
        return Simulation(seed: seed, parameters: parameters, trace: trace).run()
    }

    /// Runs one seed on a thread of its own, off the cooperative pool (a test
    /// that waits for it leaves the pool to every other test in the process).
    public static func runSeedOnItsOwnThread(_ seed: UInt64, options: Options = Options()) async -> SeedOutcome {
        await DedicatedThread.run { runSeed(seed, options: options) }
    }

    /// Runs `count` seeds from `start`, in order. Stops after the first failing
    /// seed when `stopAtFirstViolation` is set (the negative-control tests).
    public static func run(
        start: UInt64, count: Int, options: Options = Options(), stopAtFirstViolation: Bool = false
    ) -> Summary {
        SeedCampaign.run(start: start, count: count, stopAtFirstViolation: stopAtFirstViolation) { runSeed($0, options: options) }
    }

    /// Runs `count` seeds from `start` on `jobs` concurrent tasks.
    public static func runConcurrently(
        start: UInt64, count: Int, jobs: Int, options: Options = Options()
    ) async -> Summary {
        await SeedCampaign.runConcurrently(start: start, count: count, jobs: jobs) { runSeed($0, options: options) }
    }

    /// The first seed in `start..<start+limit` whose run violates a property,
    /// searching `jobs` seeds at a time (the negative-control tests), or nil.
    /// Seeds are judged in order, so the answer does not depend on `jobs`.
    public static func firstViolation(
        start: UInt64, limit: Int, options: Options, jobs: Int
    ) async -> (outcome: SeedOutcome, seedsRun: Int)? {
        await SeedCampaign.firstViolation(start: start, limit: limit, jobs: jobs) { runSeed($0, options: options) }
    }
}
