/// The position of a record in a write-ahead log.
///
/// The first record a log ever holds is number 1; every append takes the next
/// number, and numbers are never reused, even after the segments that held them
/// are deleted. Zero means "before the first record": a snapshot that covers
/// nothing covers everything below 1.
///
/// A sequence number is not a Raft `LogIndex`: a Raft node writes hard states,
/// entries and markers as records, so one log index may appear in several
/// records and some records carry no index at all. Keeping the two types apart
/// stops one from being passed where the other is meant.
public struct SequenceNumber: RawRepresentable, Hashable, Comparable, Strideable, Sendable,
    CustomStringConvertible, ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// The number of the first record of a new log.
    public static let first = SequenceNumber(1)

    /// The number after this one. Traps on overflow, which 2^64 appends cannot reach.
    public var next: SequenceNumber { SequenceNumber(rawValue + 1) }

    public static func < (lhs: SequenceNumber, rhs: SequenceNumber) -> Bool { lhs.rawValue < rhs.rawValue }
    public func distance(to other: SequenceNumber) -> Int { Int(other.rawValue) - Int(rawValue) }
    public func advanced(by n: Int) -> SequenceNumber { SequenceNumber(UInt64(Int(rawValue) + n)) }
    public var description: String { "#\(rawValue)" }
}
