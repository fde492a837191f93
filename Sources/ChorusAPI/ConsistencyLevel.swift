/// The consistency an operation asks for (DESIGN.md §2), by the names the API
/// uses. An operation that names none gets its keyspace's default level.
public enum ConsistencyLevel: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The latest write acknowledged anywhere: a ReadIndex round confirmed by a
    /// quorum (thesis §6.4), then served once the replica has applied that far.
    case linearizable
    /// From one replica's applied state, never older than the session's token:
    /// one total order (the log's), monotonic per session.
    case sequential
    /// Within K versions of the key and/or T milliseconds of real time, proven
    /// by the replica from its leader's confirmations and the clock-drift bound.
    case boundedStaleness = "bounded-staleness"
    /// Read-your-writes, monotonic reads, monotonic writes, writes-follow-reads
    /// within the session the token carries.
    case session
    /// A prefix of the write order with no gaps (observable on range reads).
    case consistentPrefix = "consistent-prefix"
    /// Any replica's applied state, no waiting.
    case eventual

    /// The level of a keyspace that names none.
    public static let `default` = ConsistencyLevel.linearizable

    /// The level named `text`, or an error listing the levels.
    public static func parse(_ text: String) throws(APIProblem) -> ConsistencyLevel {
        guard let level = ConsistencyLevel(rawValue: text) else {
            throw APIProblem(
                .invalidConsistency,
                "consistency must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return level
    }

    public var description: String { rawValue }
}

/// A read's level with its parameters: the bound of a bounded-staleness read.
public struct ReadConsistency: Sendable, Hashable, CustomStringConvertible {
    /// The largest K a bounded-staleness read may name.
    public static let maximumVersionsBound: UInt64 = 1_000_000
    /// The largest T, in milliseconds (one hour).
    public static let maximumLagBound: UInt64 = 3_600_000

    public var level: ConsistencyLevel
    /// K: at most this many newer versions of the key may exist than the one returned.
    public var maximumVersions: UInt64?
    /// T: what was acknowledged this long ago must be visible.
    public var maximumLagMilliseconds: UInt64?

    public init(_ level: ConsistencyLevel, maximumVersions: UInt64? = nil, maximumLagMilliseconds: UInt64? = nil) {
        self.level = level
        self.maximumVersions = maximumVersions
        self.maximumLagMilliseconds = maximumLagMilliseconds
    }

    /// A level with its bounds, validated: bounded staleness needs K or T (or
    /// both) within range, and no other level takes either.
    public static func parse(level: String, maximumVersions: String?, maximumLagMilliseconds: String?) throws(APIProblem)
        -> ReadConsistency
    {
        let parsed = try ConsistencyLevel.parse(level)
        let versions = try bound(maximumVersions, name: "max-versions", limit: maximumVersionsBound)
        let lag = try bound(maximumLagMilliseconds, name: "max-lag", limit: maximumLagBound)
        if parsed == .boundedStaleness {
            guard versions != nil || lag != nil else {
                throw APIProblem(.invalidConsistency, "bounded-staleness needs max-versions=K and/or max-lag=T (milliseconds)")
            }
        } else if versions != nil || lag != nil {
            throw APIProblem(.invalidConsistency, "max-versions and max-lag belong to bounded-staleness, not \(parsed)")
        }
        return ReadConsistency(parsed, maximumVersions: versions, maximumLagMilliseconds: lag)
    }

    static func bound(_ text: String?, name: String, limit: UInt64) throws(APIProblem) -> UInt64? {
        guard let text else { return nil }
        guard let value = UInt64(text), (1...limit).contains(value) else {
            throw APIProblem(.invalidConsistency, "\(name) must be an integer in 1...\(limit), not '\(text)'")
        }
        return value
    }

    public var description: String {
        var text = level.rawValue
        if let maximumVersions { text += ";max-versions=\(maximumVersions)" }
        if let maximumLagMilliseconds { text += ";max-lag=\(maximumLagMilliseconds)" }
        return text
    }
}
