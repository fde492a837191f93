/// Campaigns of leaderless seeds (`chorus simulate leaderless`), on the
/// shared `SeedCampaign` runner and `CampaignSummary`.
public enum LeaderlessCampaign {
    public typealias Summary = CampaignSummary<LeaderlessSeedOutcome>

    /// What a campaign holds fixed across its seeds; everything else each seed draws.
    public struct Options: Sendable, Hashable {
        public var injectedBug: LeaderlessInjectedBug?
        /// Shorter safety phases (as in `swift test`).
        public var quick: Bool
        /// `LeaderlessParameters.uniqueBootEpochs` (off reproduces a core bug).
        public var uniqueBootEpochs: Bool

        public init(injectedBug: LeaderlessInjectedBug? = nil, quick: Bool = false, uniqueBootEpochs: Bool = true) {
            self.injectedBug = injectedBug
            self.quick = quick
            self.uniqueBootEpochs = uniqueBootEpochs
        }
    }

    public static func runSeed(_ seed: UInt64, options: Options = Options(), trace: ((String) -> Void)? = nil) -> LeaderlessSeedOutcome {
        var parameters = LeaderlessParameters.draw(seed: seed, injectedBug: options.injectedBug, quick: options.quick)
        parameters.uniqueBootEpochs = options.uniqueBootEpochs
        return LeaderlessSimulation(seed: seed, parameters: parameters, trace: trace).run()
    }

    public static func runConcurrently(start: UInt64, count: Int, jobs: Int, options: Options = Options()) async -> Summary {
        await SeedCampaign.runConcurrently(start: start, count: count, jobs: jobs) { runSeed($0, options: options) }
    }

    /// The first violating seed in `start..<start+limit` (negative controls), or nil.
    public static func firstViolation(start: UInt64, limit: Int, options: Options, jobs: Int) async -> (outcome: LeaderlessSeedOutcome, seedsRun: Int)? {
        await SeedCampaign.firstViolation(start: start, limit: limit, jobs: jobs) { runSeed($0, options: options) }
    }
}
