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

    /// The default bound on the memory of one partition's memo, in bytes.
    /// Each (linearized set, model state) entry is charged its bitset, its
    /// state with the state's heap buffers, and its share of the hash table.
    /// Partitions take turns in rounds (`PartitionRounds`): the paused ones
    /// hold at most about this much in all, and in the last round the
    /// searches running at once, one per core, hold up to this each; so a
    /// whole check holds at most this times one more than the core count,
    /// plus the array growth that doubles a buffer while the old one is
    /// copied.
    public static let memoBytesMaximumDefault = 2 << 30

    /// How many search steps pass between two looks at the clock and at task
    /// cancellation. Reading the clock is ~20 ns; a step is ~100 ns.
    public static let searchStepsPerDeadlineCheck = 4_096

    /// How many search steps every partition of a linearizability check may
    /// take in the first round; each round doubles it (`PartitionRounds`).
    /// A multiple of `searchStepsPerDeadlineCheck`, where searches pause, so
    /// that every round's limit is met exactly.
    public static let firstRoundSearchSteps = searchStepsPerDeadlineCheck

    /// How many violations of one property a report spells out; the rest
    /// are counted. Ten are enough to see a pattern and keep reports small.
    public static let violationExamplesMaximum = 10

    /// The bound on the reachability bit matrices of the session and causal
    /// checkers (operations × writes bits, 256 MiB). They are polynomial but
    /// quadratic in memory; a history past this bound gets `unknown` for the
    /// properties that need the matrix, never a guess.
    public static let reachabilityBitsMaximum = 1 << 31

    /// The largest version, revision or position a history may give. Far
    /// beyond any log index, and low enough that the checkers' arithmetic on
    /// them (next revision, last event of a batch) can never overflow.
    public static let versionMaximum: Int64 = 1 << 62

    static func validate() {
        precondition(lineLengthMaximum >= 1 << 10, "a line limit under 1 KiB rejects ordinary histories")
        precondition(valueNestingDepthMaximum >= 4, "histories nest values at least three deep ([key [from to]])")
        precondition(searchStepsPerDeadlineCheck > 0)
        precondition(
            firstRoundSearchSteps > 0 && firstRoundSearchSteps % searchStepsPerDeadlineCheck == 0,
            "searches pause only where they look at the clock")
        precondition(violationExamplesMaximum >= 1, "a violation report needs at least one example")
        precondition(reachabilityBitsMaximum >= 10_000 * 10_000, "the checkers promise 10,000-operation histories")
    }
}
