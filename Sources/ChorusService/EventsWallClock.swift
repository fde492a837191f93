import ChorusEventStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The proposing node's wall clock, in microseconds since the Unix epoch.
///
/// The event store's core never reads a clock (DESIGN.md §3): every command
/// carries the time the proposing leader stamped on it, and that is the only
/// time any replica sees (recorded times, `maximumAge`, the id window's age). The
/// service layer is the edge that may read one, so it stamps here; tests pass
/// a clock of their own.
public struct WallClock: Sendable {
    public let now: @Sendable () -> RecordedTime

    public init(now: @escaping @Sendable () -> RecordedTime) { self.now = now }

    /// `CLOCK_REALTIME`, truncated to microseconds.
    public static let system = WallClock {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return RecordedTime(microsecondsSinceEpoch: Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1_000)
    }
}
