/// Every size the RESP codec accepts, named once. The parsers check each
/// length against its limit *before* they allocate or wait for the bytes it
/// announces, so a forged `$4294967296` or `*2147483647` costs a few bytes of
/// input and one error, never memory.
///
/// The defaults follow redis-server where Redis has a limit (64 KiB inline
/// lines and length lines, `PROTO_INLINE_MAX_SIZE`; 10 elements and 16 KiB
/// bulks before authentication, the fix of CVE-2021-32675) and are tighter
/// where Redis's are sized for one machine's memory rather than for a value
/// that must be replicated (`proto-max-bulk-len` is 512 MiB; a leaderless
/// value is at most 16 MiB, `ReplicationLimits.maximumValueBytes`).
public struct RESPLimits: Sendable, Hashable {
    /// The largest bulk string (one argument, or one reply string).
    public var maximumBulkBytes: Int
    /// The most elements of one array: the arguments of one command, or the
    /// elements (map and attribute entries count twice) of one reply aggregate.
    public var maximumArrayElements: Int
    /// The longest inline command line, and the longest `*`/`$` length line.
    public var maximumInlineLineBytes: Int
    /// The sum of all argument bytes of one command (an `MSET` of many
    /// maximal values is refused as a whole).
    public var maximumCommandBytes: Int
    /// How deep reply aggregates may nest (commands are flat arrays).
    public var maximumNestingDepth: Int
    /// Before a connection has authenticated (when the backend requires it):
    /// the most arguments, and the largest bulk, Redis's own pre-auth bounds.
    public var maximumUnauthenticatedArrayElements: Int
    public var maximumUnauthenticatedBulkBytes: Int

    public init(
        maximumBulkBytes: Int = 16 << 20 + 4096,
        maximumArrayElements: Int = 1 << 20,
        maximumInlineLineBytes: Int = 64 << 10,
        maximumCommandBytes: Int = 64 << 20,
        maximumNestingDepth: Int = 32,
        maximumUnauthenticatedArrayElements: Int = 10,
        maximumUnauthenticatedBulkBytes: Int = 16 << 10
    ) {
        self.maximumBulkBytes = maximumBulkBytes
        self.maximumArrayElements = maximumArrayElements
        self.maximumInlineLineBytes = maximumInlineLineBytes
        self.maximumCommandBytes = maximumCommandBytes
        self.maximumNestingDepth = maximumNestingDepth
        self.maximumUnauthenticatedArrayElements = maximumUnauthenticatedArrayElements
        self.maximumUnauthenticatedBulkBytes = maximumUnauthenticatedBulkBytes
    }

    public static let `default` = RESPLimits()

    /// The reasons these limits cannot work together, empty when they can.
    public func violations() -> [String] {
        var problems: [String] = []
        if maximumBulkBytes < 1 { problems.append("maximumBulkBytes must be positive") }
        if maximumArrayElements < 1 { problems.append("maximumArrayElements must be positive") }
        // A length line holds at most 21 bytes of digits and sign; an inline
        // line must fit at least "PING".
        if maximumInlineLineBytes < 32 { problems.append("maximumInlineLineBytes must be at least 32") }
        if maximumCommandBytes < maximumBulkBytes {
            problems.append("maximumCommandBytes must allow one maximal bulk")
        }
        if maximumNestingDepth < 1 { problems.append("maximumNestingDepth must be positive") }
        if maximumUnauthenticatedArrayElements < 7 || maximumUnauthenticatedArrayElements > maximumArrayElements {
            // `HELLO 3 AUTH user password SETNAME name` has seven arguments.
            problems.append("maximumUnauthenticatedArrayElements must lie in 7...maximumArrayElements")
        }
        if maximumUnauthenticatedBulkBytes < 1 || maximumUnauthenticatedBulkBytes > maximumBulkBytes {
            problems.append("maximumUnauthenticatedBulkBytes must lie in 1...maximumBulkBytes")
        }
        return problems
    }
}
