import ChorusProjections
import CoreMetrics

/// The projections a node runs and their pacing (`chorus node --projections FILE`).
/// Every size and interval is named here and checked by `problems`.
public struct ProjectionServiceOptions: Sendable {
    public var definitions: [ProjectionDefinition]
    /// Where each projection keeps its SQLite files (`<directory>/<name>/`).
    public var directory: String
    public var limits: ProjectionLimits = .default
    public var retryPolicy: ProjectionRetryPolicy = .default
    /// Events one catch-up read fetches (and so at most one transaction folds).
    public var batchSize: Int = 2_048
    /// A query's wait for `min-position` when the request gives no `timeout-ms` …
    public var defaultWaitMilliseconds: Int = 5_000
    /// … and the most it may ask for.
    public var maximumWaitMilliseconds: Int = 60_000
    /// How often the lag gauges are measured.
    public var lagIntervalMilliseconds: Int = 1_000
    /// Where metrics go; nil is swift-metrics' global factory.
    public var metricsFactory: (any MetricsFactory)?

    public init(definitions: [ProjectionDefinition], directory: String) {
        self.definitions = definitions
        self.directory = directory
    }

    public var problems: [String] {
        var problems = limits.problems + retryPolicy.problems
        func positive(_ name: String, _ value: Int) { if value <= 0 { problems.append("\(name) must be positive (is \(value))") } }
        positive("batchSize", batchSize)
        positive("defaultWaitMilliseconds", defaultWaitMilliseconds)
        positive("maximumWaitMilliseconds", maximumWaitMilliseconds)
        positive("lagIntervalMilliseconds", lagIntervalMilliseconds)
        if defaultWaitMilliseconds > maximumWaitMilliseconds { problems.append("defaultWaitMilliseconds exceeds maximumWaitMilliseconds") }
        if definitions.count > limits.maximumProjections { problems.append("more than \(limits.maximumProjections) projections") }
        return problems
    }
}
