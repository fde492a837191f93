import ChorusCore

/// Invariants asserted after every input (TigerBeetle style). The O(1) ones run
/// always, including release builds and the simulator's campaigns; the O(n)
/// ones run in debug builds.
extension RaftNode {
    func checkInvariants() {
        // Log bounds.
        precondition(log.snapshotIndex <= log.applied, "applied \(log.applied) below snapshot \(log.snapshotIndex)")
        precondition(log.applied <= log.committed, "applied \(log.applied) beyond commit \(log.committed)")
        precondition(log.committed <= log.lastIndex, "commit \(log.committed) beyond last index \(log.lastIndex)")
        precondition(log.snapshotIndex <= log.stableIndex && log.stableIndex <= log.lastIndex, "stable index out of range")
        precondition(log.lastTerm <= term, "last log term \(log.lastTerm) beyond current term \(term)")

        // A server whose votes are suspended stays a follower of a later term.
        precondition(
            votingSuspendedThrough == .zero || (role == .follower && votingSuspendedThrough < term),
            "votes suspended through \(votingSuspendedThrough) on a \(role) at term \(term)")

        // Role state matches the role.
        switch role {
        case .leader:
            precondition(leaderState != nil && electionTally == nil, "leader without leader state")
            precondition(leaderID == id, "a leader names itself as leader")
            precondition(vote == id || configuration.injectedBug == .unpersistedVote || vote == id, "a leader voted for itself")
            precondition(log.term(at: log.lastIndex) == term, "a leader's last entry is of its term")
        case .candidate:
            precondition(leaderState == nil && electionTally != nil, "candidate without a tally")
            precondition(vote == id, "a candidate votes for itself")
            precondition(leaderID == .none, "a candidate knows no leader")
        case .preCandidate:
            precondition(leaderState == nil && electionTally != nil, "pre-candidate without a tally")
            precondition(leaderID == .none, "a pre-candidate knows no leader")
        case .follower:
            precondition(leaderState == nil && electionTally == nil, "follower with role state")
            precondition(leaderID != id, "a follower does not name itself leader")
        }
        if let leaderState {
            precondition(leaderState.confirmedRound <= leaderState.heartbeatRound, "confirmed an unstarted round")
            precondition(leaderState.pendingReads.count <= configuration.maximumPendingReads, "pending reads over limit")
        }

        #if DEBUG
            checkExpensiveInvariants()
        #endif
    }

    /// O(n) invariants: the log's structure, and the leader's progress table.
    func checkExpensiveInvariants() {
        log.checkStructure()
        guard let leaderState else { return }
        let expected = log.configuration.members.filter { $0 != id }.sorted()
        precondition(leaderState.progress.map(\.node) == expected, "progress table out of step with the configuration")
        for progress in leaderState.progress {
            precondition(progress.match < progress.next, "\(progress.node): match \(progress.match) ≥ next \(progress.next)")
            precondition(progress.match <= log.lastIndex, "\(progress.node): match beyond the leader's log")
            precondition(progress.inflights.count <= configuration.maximumInflightMessages, "inflight window overflow")
        }
        var previousRound: UInt64 = 0
        for read in leaderState.pendingReads {
            precondition(read.requiredRound >= previousRound, "pending reads out of round order")
            precondition(read.index <= log.committed, "a read index beyond the commit index")
            previousRound = read.requiredRound
        }
    }
}
