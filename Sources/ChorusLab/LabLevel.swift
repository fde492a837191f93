import ChorusAPI

/// The levels the lab measures (issue 13, "The consistency lab"): every
/// Raft-group level, with bounded staleness twice, once by versions (K = 10)
/// and once by time (T = 100 ms), the bounds the figures name; and
/// two leaderless keyspace settings (issue 14), N = 3 with R = W = 1 (partial
/// quorums, PBS's subject) and R = W = 2 (strict quorums: R + W > N).
public enum LabLevel: String, CaseIterable, Sendable, Codable, Hashable {
    case linearizable
    case sequential
    case session
    case boundedStalenessVersions = "bounded-staleness-k10"
    case boundedStalenessLag = "bounded-staleness-t100"
    case consistentPrefix = "consistent-prefix"
    case eventual
    case leaderlessPartialQuorum = "leaderless-r1w1"
    case leaderlessStrictQuorum = "leaderless-r2w2"

    /// The quorums of a leaderless level (N = 3), nil for a Raft level.
    public var leaderlessQuorums: (read: Int, write: Int)? {
        switch self {
        case .leaderlessPartialQuorum: (1, 1)
        case .leaderlessStrictQuorum: (2, 2)
        default: nil
        }
    }

    public var isLeaderless: Bool { leaderlessQuorums != nil }

    /// K of `bounded-staleness-k10`.
    public static let maximumVersions: UInt64 = 10
    /// T of `bounded-staleness-t100`, in milliseconds.
    public static let maximumLagMilliseconds: UInt64 = 100
    /// D, the nodes' `clockDriftBoundPartsPerThousand` (50 ‰) of T: the
    /// time checker allows T + D. The recorder's one monotonic clock adds nothing.
    public static let clockDriftMilliseconds = Double(maximumLagMilliseconds) * 50 / 1_000

    /// The API's level.
    public var consistency: ConsistencyLevel {
        switch self {
        case .linearizable: .linearizable
        case .sequential: .sequential
        case .session: .session
        case .boundedStalenessVersions, .boundedStalenessLag: .boundedStaleness
        case .consistentPrefix: .consistentPrefix
        case .eventual, .leaderlessPartialQuorum, .leaderlessStrictQuorum: .eventual
        }
    }

    public var maximumVersions: UInt64? { self == .boundedStalenessVersions ? Self.maximumVersions : nil }
    public var maximumLagMilliseconds: UInt64? { self == .boundedStalenessLag ? Self.maximumLagMilliseconds : nil }

    /// The query parameters that ask for this level.
    public var query: String {
        if let (read, write) = leaderlessQuorums { return "r=\(read)&w=\(write)" }
        var query = "consistency=\(consistency.rawValue)"
        if let maximumVersions { query += "&max-versions=\(maximumVersions)" }
        if let maximumLagMilliseconds { query += "&max-lag=\(maximumLagMilliseconds)" }
        return query
    }

    /// The checks whose violations break this level's own promise
    /// (DESIGN.md §2); every other check is run too, and its violations are
    /// the measure of how much weaker the level is.
    ///
    /// Every Raft level serves some replica's applied state, which is a
    /// prefix of the log, so all but `eventual`'s single reads promise a
    /// prefix on range reads too; `eventual` promises only that what it
    /// returns was written (integrity). A leaderless keyspace has no range
    /// reads and no log; with R + W > N every read overlaps every acknowledged
    /// write's replicas, and a newer write's context supersedes the older, so
    /// R = W = 2 promises no stale read; R = W = 1 promises integrity only.
    public var ownChecks: Set<LabCheck> {
        switch self {
        case .linearizable: Set(LabCheck.allCases)
        case .sequential, .session:
            [.readYourWrites, .monotonicReads, .monotonicWrites, .writesFollowReads, .consistentPrefix, .integrity]
        case .boundedStalenessVersions: [.maximumVersions, .consistentPrefix, .integrity]
        case .boundedStalenessLag: [.maximumLag, .consistentPrefix, .integrity]
        case .consistentPrefix: [.consistentPrefix, .integrity]
        case .eventual, .leaderlessPartialQuorum: [.integrity]
        case .leaderlessStrictQuorum: [.staleReads, .integrity]
        }
    }

    /// The levels named in a comma-separated list, in the order given; an
    /// unknown or repeated name, or an empty list, is a usage error.
    public static func parseList(_ text: String) throws(LabUsageError) -> [LabLevel] {
        var levels: [LabLevel] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = name.trimmingSpaces()
            guard let level = LabLevel(rawValue: trimmed) else {
                throw LabUsageError(
                    "unknown level '\(trimmed)': the levels are \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !levels.contains(level) else { throw LabUsageError("level '\(trimmed)' is named twice") }
            levels.append(level)
        }
        return levels
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(String(drop { $0 == " " }.reversed().drop { $0 == " " }).reversed())
    }
}

/// The checks the lab runs on every level's history, each a ChorusCheck checker's property.
public enum LabCheck: String, CaseIterable, Sendable, Codable, Hashable, Comparable {
    /// No read misses a write acknowledged before it began: the freshness half
    /// of linearizability (`StalenessChecker` with K = 0).
    case staleReads = "stale-reads"
    /// At most K = 10 newer acknowledged versions missed (`StalenessChecker`).
    case maximumVersions = "max-versions-10"
    /// Superseded at most T + D = 105 ms before the read began (`StalenessChecker`).
    case maximumLag = "max-lag-100ms"
    case readYourWrites = "read-your-writes"
    case monotonicReads = "monotonic-reads"
    case monotonicWrites = "monotonic-writes"
    case writesFollowReads = "writes-follow-reads"
    /// Every range page is the state after a prefix of the log (`ConsistentPrefixChecker`).
    case consistentPrefix = "consistent-prefix"
    /// Every read returned a value some write wrote, at its version.
    case integrity

    public static func < (left: LabCheck, right: LabCheck) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }
}

/// A usage error of `chorus lab` (exit status 64).
public struct LabUsageError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
