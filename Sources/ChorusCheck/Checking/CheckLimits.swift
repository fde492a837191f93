/// Every bound the history readers and the checkers enforce, in one place
/// (STYLE habit 5: a limit on everything).
///
/// The readers bound what a file can make them allocate; the search bounds
/// its memo so that a history too hard to decide ends as `unknown` instead of
/// exhausting memory.
public enum CheckLimits {
    /// The most operations one history may hold. Jepsen histories of an hour
    /// at high load stay well below this.
    public static let operationCountMaximum = 1_000_000

    /// The longest line a reader accepts, in bytes.
    public static let lineLengthMaximum = 1 << 20

    /// How deeply EDN or JSON values may nest; the value parsers recurse, so
    /// this also bounds their stack use.
    public static let valueNestingDepthMaximum = 64

    /// The default bound on memo entries (linearized set, model state) per
    /// partition. Each entry costs a bitset of one bit per operation plus the
    /// model state; at 10 million entries a 200-operation partition holds
    /// about 1 GiB, so this keeps the search bounded on a 24 GiB machine even
    /// with both cores searching.
    public static let memoEntriesMaximumDefault = 10_000_000

    /// How many search steps pass between two looks at the clock and at task
    /// cancellation. Reading the clock is ~20 ns; a step is ~100 ns.
    public static let searchStepsPerDeadlineCheck = 4_096

    static func validate() {
        precondition(lineLengthMaximum >= 1 << 10, "a line limit under 1 KiB rejects ordinary histories")
        precondition(valueNestingDepthMaximum >= 4, "histories nest values at least three deep ([key [from to]])")
        precondition(searchStepsPerDeadlineCheck > 0)
    }
}
