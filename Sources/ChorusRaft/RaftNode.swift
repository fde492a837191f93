import ChorusCore

/// One Raft server as a sans-IO state machine (Ongaro, "Consensus: Bridging
/// Theory and Practice", 2014; interface after etcd raft's `RawNode`).
///
/// Inputs: `step(_:)` for a message from a peer, `tick()` for the passage of
/// one time unit, and the client requests `propose(_:)`, `readIndex(context:)`,
/// `proposeMembershipChange(_:)` and `transferLeadership(to:)`. Outputs: a
/// `Ready` batch (see its documentation for the persist-before-send contract),
/// acknowledged by `advance(_:)`. The core reads no clock, draws randomness only
/// from the generator seeded at construction, and touches no file or socket.
///
/// Role state lives in two optionals rather than in the associated values of
/// `role`, so the hot paths (appends, acknowledgements) mutate the leader's
/// progress in place without copying it out of an enum; the invariant
/// `role == .leader ⇔ leaderState != nil` (and its candidate twin) is asserted
/// after every input.
public struct RaftNode: Sendable {
    public let configuration: RaftConfiguration
    public var id: NodeID { configuration.nodeID }

    var log: RaftLog
    public internal(set) var term: Term
    public internal(set) var vote: NodeID
    /// Non-zero while this server may lack entries it acknowledged before a
    /// lossy recovery: no votes, no campaigns (`HardState.votingSuspendedThrough`).
    public internal(set) var votingSuspendedThrough: Term
    public internal(set) var role: RaftRole = .follower
    /// The leader of the current term as far as this server knows, or `.none`.
    public internal(set) var leaderID: NodeID = .none

    var random: SeededGenerator
    var electionElapsedTicks = 0
    var heartbeatElapsedTicks = 0
    var randomizedElectionTimeoutTicks: Int
    /// Ticks since this process started. Volatile, so after a restart it starts
    /// again from zero (which the lease's start-up stickiness relies on).
    var tickCount: UInt64 = 0

    var electionTally: ElectionTally?
    var leaderState: LeaderState?

    /// The leader's state, in place: for code that runs only on a leader.
    /// Reaching it on another role is a bug, and traps naming the role.
    var leader: LeaderState {
        get {
            guard let leaderState else { preconditionFailure("leader state read by a \(role)") }
            return leaderState
        }
        _modify {
            precondition(leaderState != nil, "leader state changed by a \(role)")
            yield &leaderState!
        }
    }

    var outbox: [RaftMessage] = []
    var pendingReadStates: [ReadState] = []
    var pendingSnapshot: Snapshot?
    var persistedHardState: HardState
    var lastSoftState: SoftState
    var readySequence: UInt64 = 0
    /// Heartbeat rounds that confirmed at least one ReadIndex read (thesis
    /// §6.4), over this process's life: the runtime's "read-index rounds"
    /// metric. Reads that arrive while a round is out wait for the next one, so
    /// under load this grows far slower than the reads it serves.
    public internal(set) var readRoundsConfirmed: UInt64 = 0
    var readyInFlight: UInt64?

    /// Resumes (or starts) a server from the state its runtime recovered.
    /// `randomSeed` seeds the election-timeout randomization; give each server
    /// (and each restart) a different one.
    public init(
        configuration: RaftConfiguration, persistentState: RaftPersistentState, randomSeed: UInt64
    ) throws(RaftRecoveryError) {
        do {
            try configuration.validate()
        } catch {
            throw .inconsistent(error.description)
        }
        self.configuration = configuration
        var persistentState = persistentState
        if let lastTerm = persistentState.entries.last?.term, lastTerm > persistentState.hardState.term {
            // A torn tail kept entries whose hard-state record (written after
            // them) was lost. Neither was synced, so nothing that depends on
            // them was ever acknowledged: adopt their term with no vote.
            persistentState.hardState = HardState(
                term: lastTerm, vote: .none, commit: persistentState.hardState.commit,
                votingSuspendedThrough: persistentState.hardState.votingSuspendedThrough)
        }
        guard persistentState.hardState.votingSuspendedThrough < persistentState.hardState.term
            || persistentState.hardState.votingSuspendedThrough == .zero
        else {
            throw .inconsistent(
                "votes suspended through term \(persistentState.hardState.votingSuspendedThrough), not below the current term \(persistentState.hardState.term)")
        }
        self.log = try RaftLog(recovering: persistentState)
        self.term = persistentState.hardState.term
        self.vote = persistentState.hardState.vote
        self.votingSuspendedThrough = persistentState.hardState.votingSuspendedThrough
        self.random = SeededGenerator(seed: randomSeed)
        self.randomizedElectionTimeoutTicks = configuration.electionTimeoutTicks
        self.persistedHardState = HardState(
            term: persistentState.hardState.term, vote: persistentState.hardState.vote, commit: log.committed,
            votingSuspendedThrough: persistentState.hardState.votingSuspendedThrough)
        self.lastSoftState = SoftState(role: .follower, leader: .none)
        resetRandomizedElectionTimeout()
        resumeVotingIfCaughtUp()
        checkInvariants()
    }

    // MARK: Inspection

    public var commitIndex: LogIndex { log.committed }
    public var appliedIndex: LogIndex { log.applied }
    public var lastIndex: LogIndex { log.lastIndex }
    public var lastTerm: Term { log.lastTerm }
    public var firstIndex: LogIndex { log.firstIndex }
    public var snapshotMetadata: SnapshotMetadata { log.snapshot.metadata }
    /// The configuration in force (the latest in the log, committed or not).
    public var membership: MembershipConfiguration { log.configuration }
    /// The entries after the latest snapshot.
    public var entries: [LogEntry] { log.entries }
    public func entry(at index: LogIndex) -> LogEntry? { log.entry(at: index) }
    public func term(at index: LogIndex) -> Term? { log.term(at: index) }
    /// Whether this server counts as a voter in its own configuration.
    public var isVoter: Bool { log.configuration.isVoter(id) }
    /// A snapshot received from the leader that the runtime has not yet taken
    /// in a `Ready`: the core already counts it as applied.
    public var pendingSnapshotIndex: LogIndex? {
        // Not inlined: Swift 6.3's release optimizer miscompiles (an ownership
        // verifier failure) the borrow of the optional snapshot when this is
        // inlined into a caller in another module.
        @inline(never) get { pendingSnapshot.map(\.metadata.index) }
    }
    /// Whether a leadership transfer is under way (leader only).
    public var leadershipTransferTarget: NodeID? { leaderState?.transferTarget }

    public var status: RaftStatus {
        RaftStatus(
            node: id, term: term, vote: vote, role: role, leader: leaderID, commitIndex: log.committed,
            appliedIndex: log.applied, lastIndex: log.lastIndex, snapshotIndex: log.snapshotIndex,
            configuration: log.configuration, votingSuspendedThrough: votingSuspendedThrough,
            followers: leaderState?.progress.map {
                RaftStatus.FollowerStatus(node: $0.node, matchIndex: $0.match, nextIndex: $0.next, state: $0.state.description)
            } ?? [])
    }

    // MARK: Client requests

    /// Proposes one application command.
    public mutating func propose(_ command: [UInt8]) throws(RaftError) -> ProposalOutcome {
        try propose(batch: [command])
    }

    /// Proposes several commands as consecutive entries (one replication round
    /// for all of them). On a leader the outcome names the *last* entry.
    public mutating func propose(batch commands: [[UInt8]]) throws(RaftError) -> ProposalOutcome {
        precondition(!commands.isEmpty, "propose(batch:) with no commands")
        defer { checkInvariants() }
        guard role == .leader else {
            if configuration.proposalForwardingEnabled && leaderID != .none {
                send(RaftMessage(from: id, to: leaderID, term: .zero, payload: .proposal(commands)))
                return .forwarded(to: leaderID)
            }
            throw .notLeader(leaderHint: leaderID == .none ? nil : leaderID)
        }
        let last = try appendAsLeader(commands.map { .command($0) })
        return .appended(index: last, term: term)
    }

    /// Asks for a linearizable read (thesis §6.4). When the read is confirmed, a
    /// `ReadState` with this `context` appears in a later `Ready`; the caller
    /// serves the read once the state machine has applied its index. On a
    /// follower the request is forwarded to the leader. If leadership changes
    /// before confirmation the request is dropped; callers time out and retry.
    public mutating func readIndex(context: UInt64) throws(RaftError) {
        defer { checkInvariants() }
        if role == .leader {
            try handleReadRequest(context: context, requester: id)
            return
        }
        if configuration.injectedBug == .followerRead {
            // Negative control: answer from the local commit index, unconfirmed.
            pendingReadStates.append(ReadState(index: log.committed, context: context))
            return
        }
        guard leaderID != .none else { throw .notLeader(leaderHint: nil) }
        send(RaftMessage(from: id, to: leaderID, term: .zero, payload: .readIndex(context: context)))
    }

    /// Proposes a single-server membership change (thesis §4.1–§4.3).
    @discardableResult
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(RaftError) -> ProposalOutcome {
        defer { checkInvariants() }
        guard role == .leader, let leaderState else { throw .notLeader(leaderHint: leaderID == .none ? nil : leaderID) }
        if let target = leaderState.transferTarget { throw .leadershipTransferInProgress(target: target) }
        guard log.configurationIndex <= log.committed else {
            throw .membershipChangeInProgress(pendingIndex: log.configurationIndex)
        }
        guard log.term(at: log.committed) == term else { throw .leaderHasNotCommittedInCurrentTerm }
        let next: MembershipConfiguration
        switch log.configuration.applying(change) {
        case .success(let configuration): next = configuration
        case .failure(let error): throw error
        }
        precondition(log.configuration.differsByAtMostOneVoter(from: next), "a single-server change changed two voters")
        if case .promoteLearner(let learner) = change {
            let match = leaderState.progress.first { $0.node == learner }?.match ?? .zero
            let margin = UInt64(configuration.learnerCatchUpMarginEntries)
            guard match.rawValue + margin >= log.lastIndex.rawValue else {
                throw .learnerNotCaughtUp(learner: learner, matchIndex: match, leaderLastIndex: log.lastIndex)
            }
        }
        let index = try appendAsLeader([.configuration(next)])
        return .appended(index: index, term: term)
    }

    /// Hands leadership to `target` (thesis §3.10): the leader stops accepting
    /// proposals, brings the target's log up to date, then sends it `timeoutNow`
    /// so it starts an election at once. The transfer is abandoned after an
    /// election timeout.
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        defer { checkInvariants() }
        guard role == .leader, leaderState != nil else {
            throw .notLeader(leaderHint: leaderID == .none ? nil : leaderID)
        }
        guard target != id, log.configuration.isVoter(target) else { throw .invalidTransferTarget(target) }
        if leader.transferTarget == target { return }
        leader.transferTarget = target
        leader.transferElapsedTicks = 0
        if let progress = leader.progress.first(where: { $0.node == target }), progress.match == log.lastIndex {
            sendTimeoutNow(to: target)
        } else {
            _ = sendAppend(to: target, sendIfEmpty: true)
        }
    }

    /// Discards the log through `index`, which the application has applied and
    /// captured in `snapshotData` (thesis §5.1). The runtime persists the
    /// snapshot itself (it produced it) before deleting log segments it covers;
    /// the core keeps it to send to followers that fall behind the new first index.
    public mutating func compactLog(through index: LogIndex, snapshotData: [UInt8]) throws(RaftError) {
        defer { checkInvariants() }
        guard index > log.snapshotIndex, index <= log.applied else {
            throw .compactionOutOfRange(requested: index, snapshotIndex: log.snapshotIndex, appliedIndex: log.applied)
        }
        log.compact(through: index, data: snapshotData)
    }

    /// Starts an election now, as if the election timer had fired (tests and operators).
    public mutating func campaign() {
        defer { checkInvariants() }
        guard role != .leader else { return }
        startCampaign(configuration.preVoteEnabled ? .preElection : .election)
    }

    // MARK: Ready / advance

    /// Whether `ready()` has anything for the runtime.
    public var hasReady: Bool {
        if readyInFlight != nil { return false }
        if currentSoftState != lastSoftState { return true }
        if hardStateForPersistence != persistedHardState { return true }
        if pendingSnapshot != nil || log.stableIndex < log.lastIndex { return true }
        if log.applied < log.committed { return true }
        return !outbox.isEmpty || !pendingReadStates.isEmpty
    }

    /// Takes the next batch of work. See `Ready` for what the runtime must do with it.
    public mutating func ready() -> Ready {
        precondition(readyInFlight == nil, "ready() called again before advance()")
        readySequence += 1
        readyInFlight = readySequence

        let soft = currentSoftState
        let softState = soft != lastSoftState ? soft : nil
        lastSoftState = soft

        let hard = hardStateForPersistence
        let hardState = hard != persistedHardState ? hard : nil

        let unstable = log.stableIndex < log.lastIndex
            ? log.entries(from: log.stableIndex.next, through: log.lastIndex, maximumCount: Int.max, maximumBytes: Int.max) ?? []
            : []

        var committed: [LogEntry] = []
        if log.applied < log.committed {
            let first = max(log.applied.next, log.firstIndex)
            committed = log.entries(
                from: first, through: log.committed,
                maximumCount: configuration.maximumCommittedEntriesPerReady, maximumBytes: Int.max) ?? []
        }

        let snapshot = pendingSnapshot
        let messages = outbox
        outbox.removeAll(keepingCapacity: true)
        leaderState?.latestRoundUnsent = false
        let reads = pendingReadStates
        pendingReadStates.removeAll(keepingCapacity: true)

        // A resumed vote is synced too, so that a crash soon after does not
        // suspend the server again (safe, but it costs the cluster a voter).
        let termOrVoteChanged =
            hardState.map {
                $0.term != persistedHardState.term || $0.vote != persistedHardState.vote
                    || $0.votingSuspendedThrough != persistedHardState.votingSuspendedThrough
            } ?? false
        let mustSync = !unstable.isEmpty || snapshot != nil || termOrVoteChanged

        return Ready(
            softState: softState, hardState: hardState, entries: unstable, snapshot: snapshot,
            committedEntries: committed, messages: messages, readStates: reads, mustSync: mustSync,
            messagesMayPrecedePersistence: role == .leader && !termOrVoteChanged && snapshot == nil,
            sequence: readySequence, lastEntry: unstable.last.map { ($0.index, $0.term) },
            lastCommittedIndex: committed.last?.index)
    }

    /// Acknowledges that the runtime has carried out `ready` (persisted, sent, applied).
    public mutating func advance(_ ready: Ready) {
        precondition(readyInFlight == ready.sequence, "advance() with a Ready that is not the one in flight")
        readyInFlight = nil
        defer { checkInvariants() }
        if let hardState = ready.hardState { persistedHardState = hardState }
        if let snapshot = ready.snapshot, pendingSnapshot == snapshot { pendingSnapshot = nil }
        if let last = ready.lastEntry, log.term(at: last.index) == last.term, last.index > log.stableIndex {
            log.stableIndex = last.index
        }
        if let lastCommitted = ready.lastCommittedIndex, lastCommitted > log.applied {
            log.applied = lastCommitted
        }
        if role == .leader && ready.lastEntry != nil {
            // The leader's own entries count toward a quorum only once durable here.
            if maybeCommit() { broadcastAppend() }
        }
    }

    var currentSoftState: SoftState { SoftState(role: role, leader: leaderID) }

    /// The hard state as it goes to disk. The `unpersisted-vote` negative
    /// control drops the vote here, as a runtime that forgot to write it would.
    var hardStateForPersistence: HardState {
        let persistedVote = configuration.injectedBug == .unpersistedVote ? NodeID.none : vote
        return HardState(
            term: term, vote: persistedVote, commit: log.committed, votingSuspendedThrough: votingSuspendedThrough)
    }

    // MARK: Helpers shared by the aspects

    mutating func send(_ message: RaftMessage) {
        precondition(message.to != id, "a server never sends to itself")
        outbox.append(message)
    }

    mutating func resetRandomizedElectionTimeout() {
        let timeout = configuration.electionTimeoutTicks
        randomizedElectionTimeoutTicks = timeout + Int(random.next() % UInt64(timeout))
    }

    /// Enters `newTerm` (or stays in the current one) as a follower of `leader`.
    mutating func becomeFollower(term newTerm: Term, leader: NodeID) {
        precondition(newTerm >= term, "terms never decrease")
        if newTerm > term {
            term = newTerm
            vote = .none
        }
        role = .follower
        leaderID = leader
        electionTally = nil
        leaderState = nil
        electionElapsedTicks = 0
        heartbeatElapsedTicks = 0
        resetRandomizedElectionTimeout()
    }
}

/// Votes gathered in a (pre-)election.
struct ElectionTally: Sendable, Hashable {
    /// Whether this election was started by `timeoutNow` (its requests say so).
    var isLeadershipTransfer: Bool
    var granted: [NodeID] = []
    var rejected: [NodeID] = []

    mutating func record(_ node: NodeID, granted isGranted: Bool) {
        guard !granted.contains(node), !rejected.contains(node) else { return }
        if isGranted { granted.append(node) } else { rejected.append(node) }
    }
}
