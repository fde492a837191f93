import ChorusCore

/// Campaigns of leaderless seeds (`chorus simulate leaderless`), on the
/// shared `SeedCampaign` runner and `CampaignSummary`.
public enum LeaderlessCampaign {
    public typealias Summary = CampaignSummary<LeaderlessSeedOutcome>

    /// What a campaign holds fixed across its seeds; everything else each seed draws.
    public struct Options: Sendable, Hashable {
        /// One of `InjectedBug.leaderless`, or nil.
        public var injectedBug: InjectedBug?
        /// Shorter safety phases (as in `swift test`).
        public var quick: Bool

        public init(injectedBug: InjectedBug? = nil, quick: Bool = false) {
            precondition(injectedBug.map(InjectedBug.leaderless.contains) ?? true, "\(injectedBug!) is not a leaderless bug")
            self.injectedBug = injectedBug
            self.quick = quick
        }
    }

    public static func runSeed(_ seed: UInt64, options: Options = Options(), trace: ((String) -> Void)? = nil) -> LeaderlessSeedOutcome {
        let parameters = LeaderlessParameters.draw(seed: seed, injectedBug: options.injectedBug, quick: options.quick)
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
