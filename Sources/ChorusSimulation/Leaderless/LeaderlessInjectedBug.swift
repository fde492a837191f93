/// Deliberate bugs in the simulated runtime around the leaderless cores, for
/// negative controls: each proves that a checker of `chorus simulate
/// leaderless` can fail, and is caught within 1,000 seeds (tested).
///
/// They live here rather than in `ChorusCore.InjectedBug` because no core's
/// configuration carries them: the simulator plays the front end that sends
/// contexts, the delivery of messages to a replica and the disk, and breaks
/// exactly one of those. Off unless `--inject-bug NAME` names one.
public enum LeaderlessInjectedBug: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The front end drops the client's causal context from versioned writes
    /// and sends a blind overwrite instead (Redis `SET`), superseding siblings
    /// the client never read. Caught by no-lost-acknowledged-write.
    case writeDropsContext = "write-drops-context"
    /// Replicas make a causal write visible on arrival, before its
    /// dependencies (the delivery strips them). Caught by the causal checker
    /// (CC) or the session guarantees of the causal keyspace.
    case visibleBeforeDependencies = "visible-before-dependencies"
    /// A fallback's hints are not recovered after a crash, although it
    /// acknowledged them as durable. Caught by the durability check (a write
    /// acknowledged by d durable replicas is in d durable logs).
    case forgottenHints = "forgotten-hints"

    public var description: String { rawValue }
}
