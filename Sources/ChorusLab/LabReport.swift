/// What `chorus lab` measured, level by level: the JSON report (`--json`,
/// stable keys), and the source of the terminal table and the HTML page.
public struct LabReport: Sendable, Codable, Hashable {
    public var configuration: Settings
    public var levels: [LevelReport]
    /// The levels that violated one of their own checks: a non-empty list is exit status 1.
    public var levelsViolatingOwnGuarantee: [LabLevel]

    public init(configuration: Settings, levels: [LevelReport]) {
        self.configuration = configuration
        self.levels = levels
        levelsViolatingOwnGuarantee = levels.filter { $0.ownViolations > 0 }.map(\.level)
    }

    /// The run's settings, as reported.
    public struct Settings: Sendable, Codable, Hashable {
        public var durationSeconds: Int
        public var clients: Int
        public var writers: Int
        public var nodes: Int
        public var peerDelayMilliseconds: Int
        public var phaseMilliseconds: Int

        public init(_ configuration: LabConfiguration) {
            durationSeconds = configuration.durationSeconds
            clients = configuration.clients
            writers = LabConfiguration.writerCount
            nodes = LabConfiguration.nodeCount
            peerDelayMilliseconds = configuration.peerDelayMilliseconds
            phaseMilliseconds = configuration.phaseMilliseconds
        }
    }
}

/// One level's figures and verdicts.
public struct LevelReport: Sendable, Codable, Hashable {
    public var level: LabLevel
    /// The query parameters its reads sent.
    public var query: String
    public var seconds: Double
    public var reads: Counts
    public var rangeReads: Counts
    public var writes: Counts
    /// Completed single-key reads per second.
    public var readsPerSecond: Double
    public var readLatencyMilliseconds: Percentiles
    public var writeLatencyMilliseconds: Percentiles
    /// Every check, the level's own and the others, in `LabCheck` order.
    public var checks: [CheckReport]
    /// The sum of the violations of the level's own checks.
    public var ownViolations: Int
    public var staleness: Staleness

    /// Operations by outcome: `ok`, `failed` (certainly no effect) and `unknown` (a write with no answer).
    public struct Counts: Sendable, Codable, Hashable {
        public var ok: Int
        public var failed: Int
        public var unknown: Int
        public var total: Int { ok + failed + unknown }

        public init(ok: Int, failed: Int, unknown: Int) {
            self.ok = ok
            self.failed = failed
            self.unknown = unknown
        }
    }

    public struct CheckReport: Sendable, Codable, Hashable {
        public var check: LabCheck
        /// Whether the level promises it.
        public var own: Bool
        /// `satisfied`, `violated` or `unknown`, as ChorusCheck says.
        public var verdict: String
        public var violations: Int
        /// The first violation's explanation, if any.
        public var example: String?
    }

    /// How stale the completed single-key reads were (`StalenessChecker.measure`).
    public struct Staleness: Sendable, Codable, Hashable {
        public var measuredReads: Int
        /// Reads that missed at least one write acknowledged before they began.
        public var staleReads: Int
        public var versions: Percentiles
        public var milliseconds: Percentiles
    }

    public func check(_ check: LabCheck) -> CheckReport? { checks.first { $0.check == check } }
}

/// Nearest-rank percentiles of a sample (all 0 for an empty one, with `count` 0).
public struct Percentiles: Sendable, Codable, Hashable {
    public var count: Int
    public var p50: Double
    public var p99: Double
    public var p999: Double
    public var max: Double

    public init(_ sample: [Double]) {
        let sorted = sample.sorted()
        count = sorted.count
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
            return sorted[Swift.min(Swift.max(index, 0), sorted.count - 1)]
        }
        p50 = rank(0.5)
        p99 = rank(0.99)
        p999 = rank(0.999)
        max = sorted.last ?? 0
    }
}
