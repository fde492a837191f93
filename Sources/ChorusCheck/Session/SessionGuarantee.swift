/// The four session guarantees of Terry, Demers, Petersen, Spreitzer,
/// Theimer and Welch, "Session Guarantees for Weakly Consistent Replicated
/// Data" (PDIS 1994), §3. Each is a property of one session's operations;
/// `SessionChecker` decides each one separately.
public enum SessionGuarantee: String, CaseIterable, Hashable, Sendable {
    /// A read sees every write its own session made before it (§3.1).
    case readYourWrites = "read-your-writes"
    /// A read sees every write an earlier read of the session saw (§3.2).
    case monotonicReads = "monotonic-reads"
    /// A session's writes are ordered as it made them, and a replica that
    /// holds a later one holds the earlier ones (§3.4).
    case monotonicWrites = "monotonic-writes"
    /// A session's write is ordered after, and visible only with, the writes
    /// its earlier reads saw (§3.3).
    case writesFollowReads = "writes-follow-reads"
}
