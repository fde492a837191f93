/// The bounds a bounded-staleness read promises (issue 13): at most
/// `maximumVersions` versions of its key behind, and at most
/// `maximumLagMilliseconds` behind in time.
public struct StalenessOptions: Hashable, Sendable {
    /// K: the most acknowledged newer writes of the key a read may miss; nil checks no version bound.
    public var maximumVersions: Int?
    /// T: the longest a read may lag, in milliseconds; nil checks no time bound.
    public var maximumLagMilliseconds: Double?
    /// D: how far the recorders' clocks may disagree (plus the drift bound
    /// the servers assume), in milliseconds. A lag counts as a violation only
    /// past T + D, so a violation is never an artefact of the clocks.
    public var clockDriftMilliseconds: Double
    /// How many units of the history's `time` fields make a millisecond:
    /// 1,000,000 for nanoseconds (Jepsen's `:time`), 1,000 for microseconds
    /// (the simulator), 1 for milliseconds.
    public var timeUnitsPerMillisecond: Double

    public init(
        maximumVersions: Int? = nil, maximumLagMilliseconds: Double? = nil, clockDriftMilliseconds: Double = 0,
        timeUnitsPerMillisecond: Double = 1_000_000
    ) {
        precondition(maximumVersions.map { $0 >= 0 } ?? true, "a version bound is not negative")
        precondition(maximumLagMilliseconds.map { $0 >= 0 } ?? true, "a time bound is not negative")
        precondition(clockDriftMilliseconds >= 0, "a drift bound is not negative")
        precondition(timeUnitsPerMillisecond > 0, "time units must be positive")
        self.maximumVersions = maximumVersions
        self.maximumLagMilliseconds = maximumLagMilliseconds
        self.clockDriftMilliseconds = clockDriftMilliseconds
        self.timeUnitsPerMillisecond = timeUnitsPerMillisecond
    }
}
