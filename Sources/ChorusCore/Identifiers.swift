/// Newtypes for the numbers that must never mix.
///
/// A `Term` and a `LogIndex` are both unsigned 64-bit counters, and a bug that
/// passes one where the other is meant type-checks if both are `UInt64`. Each
/// gets its own type, with only the operations the protocols need.

/// A cluster member's stable identity. Zero is reserved for "none" (no leader,
/// no vote), as in etcd raft.
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// No node: no leader known, no vote cast.
    public static let none = NodeID(0)

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "n\(rawValue)" }
}

/// A Raft term (Ongaro §3.3): a logical clock that increases with every election.
public struct Term: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public static let zero = Term(0)

    /// The term after this one. Traps on overflow, which 2^64 elections cannot reach.
    public var next: Term { Term(rawValue + 1) }

    public static func < (lhs: Term, rhs: Term) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "t\(rawValue)" }
}

/// A position in a replicated log. Index 0 is the empty prefix; the first
/// entry is at index 1 (Ongaro §3.5).
public struct LogIndex: RawRepresentable, Hashable, Comparable, Strideable, Sendable,
    CustomStringConvertible, ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public static let zero = LogIndex(0)

    public var next: LogIndex { LogIndex(rawValue + 1) }
    /// The index before this one. Traps below zero: there is no entry before the empty prefix.
    public var previous: LogIndex {
        precondition(rawValue > 0, "LogIndex.zero has no predecessor")
        return LogIndex(rawValue - 1)
    }

    public static func < (lhs: LogIndex, rhs: LogIndex) -> Bool { lhs.rawValue < rhs.rawValue }
    /// Spelled out: without it, `Strideable`'s default `==` (by `distance(to:)`,
    /// an `Int`) would be chosen and trap for indices of 2^63 or more, which a
    /// decoder can read from hostile bytes.
    public static func == (lhs: LogIndex, rhs: LogIndex) -> Bool { lhs.rawValue == rhs.rawValue }
    public func distance(to other: LogIndex) -> Int { Int(other.rawValue) - Int(rawValue) }
    public func advanced(by n: Int) -> LogIndex { LogIndex(UInt64(Int(rawValue) + n)) }
    public var description: String { "i\(rawValue)" }
}
