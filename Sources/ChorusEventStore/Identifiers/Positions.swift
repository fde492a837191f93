import ChorusCore

/// Newtypes for the numbers of the event store that must never mix.
///
/// A stream revision, a global position and a recorded time are all 64-bit
/// counters; a bug that passes one where another is meant would type-check if
/// they were bare integers. Each gets its own type, with only the operations
/// the store needs (the style guide's habit 6; the nouns are KurrentDB's).

/// The number of an event within its stream: the first event of a stream is
/// revision 0, and every append continues from the stream's last revision,
/// also after a soft delete. Revisions are never reused.
public struct StreamRevision: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public static let zero = StreamRevision(0)

    public static func < (lhs: StreamRevision, rhs: StreamRevision) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "r\(rawValue)" }
}

/// The place of an event in `$all`, the one order of every event of the store.
///
/// Positions are dense: the store's first event is at position 0 and each
/// appended event takes the next one, so every replica that applies the same
/// log assigns the same positions and `$all` has no gaps until a scavenge
/// physically removes deleted events (their positions are never reused).
public struct GlobalPosition: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    public static let zero = GlobalPosition(0)

    public static func < (lhs: GlobalPosition, rhs: GlobalPosition) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "p\(rawValue)" }
}

/// A wall-clock time in microseconds since the Unix epoch, as stamped by the
/// leader that proposed a command (it travels inside the command; no replica
/// reads its own clock). The store keeps its recorded times non-decreasing
/// along `$all`: a command stamped earlier than the latest one applied (a new
/// leader whose clock is behind) records the latest time instead.
public struct RecordedTime: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(microsecondsSinceEpoch: Int64) { self.rawValue = microsecondsSinceEpoch }

    public var microsecondsSinceEpoch: Int64 { rawValue }

    public static let epoch = RecordedTime(microsecondsSinceEpoch: 0)

    public static func < (lhs: RecordedTime, rhs: RecordedTime) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "t\(rawValue)us" }

    /// This time minus `duration`, saturating at `Int64.min`.
    func subtracting(_ duration: Microseconds) -> RecordedTime {
        let (difference, overflow) = rawValue.subtractingReportingOverflow(Int64(clamping: duration.rawValue))
        return RecordedTime(rawValue: overflow ? .min : difference)
    }
}

/// A length of time in microseconds (a stream's `maximumAge`, the id window's age).
public struct Microseconds: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func seconds(_ seconds: UInt64) -> Microseconds { Microseconds(seconds * 1_000_000) }

    public static func < (lhs: Microseconds, rhs: Microseconds) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(rawValue)us" }
}
