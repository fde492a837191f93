/// Every deliberate bug Chorus can be built to have, in one place: the
/// negative controls that prove each checker can fail (STYLE.md habit 4; a
/// guarantee without a checker that has been seen to fail does not count).
///
/// A bug is off unless a configuration names it, and only two things do:
/// the simulator's `--inject-bug NAME` and the hidden `chorus node
/// --inject-bug NAME` used by the real-process negative control. Each case
/// says which protocol carries it and which check must catch it.
public enum InjectedBug: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    // Raft (`RaftConfiguration.injectedBug`), caught by the Raft simulator.

    /// A follower answers a read request at once with its own commit index,
    /// without asking the leader (breaks linearizable reads).
    case followerRead = "follower-read"
    /// The leader commits an entry of an earlier term once a quorum stores it,
    /// without the current-term rule (thesis §3.6.2, figure 3.7).
    case oldTermCommit = "old-term-commit"
    /// The vote is never written to stable storage, so a restarted server may
    /// vote twice in one term (thesis §3.8).
    case unpersistedVote = "unpersisted-vote"
    /// Recovery treats a complete final log record that fails its checksum as
    /// torn, as if never acknowledged, and resumes with no suspension of votes
    /// (in the runtime's start-up: the simulator's restart), so a vote or an
    /// acknowledged entry it held is forgotten.
    case uncertainTailTreatedAsTorn = "uncertain-tail-treated-as-torn"

    // The event store (`EventStore.injectedBug`), caught by `chorus simulate events`.

    /// An append with an exact expected revision is applied as if it expected
    /// `any` (the expected-versions property).
    case appendIgnoresExpectedVersion = "append-ignores-expected-version"
    /// A catch-up batch that reaches the head advances its cursor one event
    /// too far, so the first live event is never delivered (the catch-up
    /// subscriptions property).
    case subscriptionSkipsBoundary = "subscription-skips-boundary"

    // The replica driver's read levels (`ReplicaConfiguration.injectedBug`),
    // caught by `chorus simulate raft --consistency LEVEL`.

    /// A replica serves a bounded-staleness read from whatever it has applied,
    /// without proving the bound (the bounded-staleness checker).
    case stalenessBoundIgnored = "staleness-bound-ignored"
    /// A replica serves a session read before it has caught up to the
    /// session's token (the session checker).
    case sessionReadBeforeCatchUp = "session-read-before-catch-up"
    /// A replica's clock advances one tick per timer firing, however long
    /// the process was paused, so a stale confirmation looks recent (the
    /// bounded-staleness checker, under the simulator's pause fault).
    case pausedTimeUncounted = "paused-time-uncounted"

    // Leaderless replication, caught by `chorus simulate leaderless`. The
    // first and the last are in the core and its driver
    // (`ReplicationConfiguration.injectedBug`); the others break the
    // simulated runtime around it (`LeaderlessParameters.injectedBug`): the
    // front end that sends contexts, the delivery of messages to a replica,
    // the disk.

    /// A replica remembers the mints it made by boot and sequence alone, not
    /// by coordinator, so two coordinators' requests collide and the second
    /// write is acknowledged with the first's result and never applied (the
    /// real bug this simulator found). Caught by no-lost-acknowledged-write,
    /// or by the durability check when a crash comes first.
    case mintMemoryIgnoresCoordinator = "mint-memory-ignores-coordinator"
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
    /// The node's `ReplicationDriver` asks for the sync but lets a batch's
    /// messages and responses leave before it completes (the
    /// persist-before-release rule broken), so a crash loses a write already
    /// acknowledged as durable. Caught by the durability check, or by
    /// no-lost-acknowledged-write.
    case outputsBeforeDurable = "outputs-before-durable"

    // Sagas, caught by `chorus simulate sagas` (`SagaChecker`). The first
    // breaks the simulated runtime around the host (the simulator's driver of
    // `.call`); the others are in the saga core (`SagaHost.injectedBug`).

    /// The runtime sends every retry under a key with the attempt in it, so
    /// the participant applies the step again. Caught by the checker's
    /// applied-once property (a key no saga sent was applied).
    case sagaFreshKeyOnRetry = "saga-fresh-key-on-retry"
    /// The orchestrator compensates in forward order of completion (in
    /// `SagaState.nextCompensationEvent`). Caught by the reverse-order property.
    case sagaCompensateForward = "saga-compensate-forward"
    /// A new leader's host skips rebuilding the lock table from the streams
    /// (in `SagaHost.lead`), so a waiter's re-sent request is granted while
    /// the holder still holds the lock. Caught by the exclusive-locks property.
    case sagaLockTableNotRebuilt = "saga-lock-table-not-rebuilt"

    /// The bugs of one protocol, for `--inject-bug` help and validation.
    public static let raft: [InjectedBug] = [
        .followerRead, .oldTermCommit, .unpersistedVote, .uncertainTailTreatedAsTorn, .stalenessBoundIgnored, .sessionReadBeforeCatchUp,
        .pausedTimeUncounted,
    ]
    public static let eventStore: [InjectedBug] = [.appendIgnoresExpectedVersion, .subscriptionSkipsBoundary]
    public static let leaderless: [InjectedBug] = [
        .mintMemoryIgnoresCoordinator, .writeDropsContext, .visibleBeforeDependencies, .forgottenHints, .outputsBeforeDurable,
    ]
    public static let sagas: [InjectedBug] = [.sagaFreshKeyOnRetry, .sagaCompensateForward, .sagaLockTableNotRebuilt]

    public var description: String { rawValue }
}
