import ChorusCore
import ChorusReplica

/// The consistency level of the key-value workload's reads
/// (`chorus simulate raft --consistency LEVEL`), each with its own checker.
public enum SimulatedLevel: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// ReadIndex reads; the history is checked linearizable.
    case linearizable
    /// Reads of any replica's state at least as new as the session's; checked
    /// sequentially consistent.
    case sequential
    /// The same mechanism on Raft data, checked for read-your-writes,
    /// monotonic reads, monotonic writes and writes-follow-reads.
    case session
    /// Reads proven within K versions or T milliseconds; checked by the staleness checker.
    case boundedStaleness = "bounded-staleness"
    /// Range reads of any replica's applied state; checked consistent-prefix.
    case consistentPrefix = "consistent-prefix"
    /// Reads of any replica's applied state, no waiting; replicas must converge.
    case eventual

    public var description: String { rawValue }

    /// The level just above this one whose checker its reads should fail on
    /// some seeds (the levels are distinct, not just named), and the name of
    /// that checker.
    public var strongerCheckerName: String? {
        switch self {
        case .eventual: "session"
        case .session: "bounded-staleness with K=1"
        case .sequential: "linearizable"
        case .linearizable, .boundedStaleness, .consistentPrefix: nil
        }
    }
}

/// The bound a bounded-staleness campaign's reads ask for, drawn per seed.
public struct StalenessBound: Sendable, Hashable {
    public var maximumVersions: UInt64?
    public var maximumLagMilliseconds: UInt64?

    static func draw(_ random: inout SeededGenerator) -> StalenessBound {
        switch random.next() % 3 {
        case 0: StalenessBound(maximumVersions: 1 + random.next() % 5, maximumLagMilliseconds: nil)
        case 1: StalenessBound(maximumVersions: nil, maximumLagMilliseconds: 20 + random.next() % 181)
        default: StalenessBound(maximumVersions: 1 + random.next() % 5, maximumLagMilliseconds: 20 + random.next() % 181)
        }
    }

    func requirement(tickMicroseconds: UInt64) -> ReadRequirement {
        .boundedStaleness(
            maximumVersions: maximumVersions,
            maximumLagTicks: maximumLagMilliseconds.map { $0 * 1_000 / tickMicroseconds })
    }
}
