/// A stream's retention rules, applied when it is read (KurrentDB's `$maxCount`,
/// `$maxAge` and `$tb`): each rule hides a prefix of the stream, and the
/// strictest wins. Hidden events stay in `$all` and in memory until a scavenge
/// removes them; loosening a rule before that scavenge shows them again.
public struct StreamMetadata: Hashable, Sendable {
    /// Only the latest `maximumCount` events are visible.
    public var maximumCount: UInt64?
    /// Only events recorded within `maximumAge` of the store's clock (the latest
    /// recorded time applied, see `EventStore.clock`) are visible.
    public var maximumAge: Microseconds?
    /// Events before this revision are hidden.
    public var truncateBefore: StreamRevision?

    public init(maximumCount: UInt64? = nil, maximumAge: Microseconds? = nil, truncateBefore: StreamRevision? = nil) {
        self.maximumCount = maximumCount
        self.maximumAge = maximumAge
        self.truncateBefore = truncateBefore
    }

    public static let none = StreamMetadata()
}
