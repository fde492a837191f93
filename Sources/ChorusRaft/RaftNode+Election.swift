import ChorusCore

/// Leader election (thesis §3.4, §3.6.1), PreVote (§9.6) and the election
/// started by a leadership transfer (§3.10).
extension RaftNode {
    enum CampaignKind: Sendable {
        /// Ask whether we could win at term + 1, without moving to it.
        case preElection
        /// A real election at term + 1.
        case election
        /// A real election that voters grant despite hearing from the leader.
        case transfer
    }

    mutating func startCampaign(_ kind: CampaignKind) {
        guard isPromotable else { return }
        let campaignTerm: Term
        switch kind {
        case .preElection:
            role = .preCandidate
            leaderID = .none
            leaderState = nil
            campaignTerm = term.next
        case .election, .transfer:
            becomeFollower(term: term.next, leader: .none)
            role = .candidate
            vote = id
            campaignTerm = term
        }
        electionTally = ElectionTally(isLeadershipTransfer: kind == .transfer)
        electionTally!.record(id, granted: true)
        electionElapsedTicks = 0
        resetRandomizedElectionTimeout()
        if evaluateElection() { return }
        let request = RaftMessage.VoteRequest(
            isPreVote: kind == .preElection, lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm,
            isLeadershipTransfer: kind == .transfer)
        for voter in log.configuration.voters where voter != id {
            send(RaftMessage(from: id, to: voter, term: campaignTerm, payload: .requestVote(request)))
        }
    }

    /// Asks again every voter that has not answered this (pre-)election.
    mutating func resendVoteRequests() {
        guard let tally = electionTally else { return }
        let isPreVote = role == .preCandidate
        let request = RaftMessage.VoteRequest(
            isPreVote: isPreVote, lastLogIndex: log.lastIndex, lastLogTerm: log.lastTerm,
            isLeadershipTransfer: tally.isLeadershipTransfer)
        let campaignTerm = isPreVote ? term.next : term
        for voter in log.configuration.voters
        where voter != id && !tally.granted.contains(voter) && !tally.rejected.contains(voter) {
            // A request still waiting in the outbox (no Ready taken since) need not be repeated.
            let unsent = outbox.contains { $0.to == voter && $0.term == campaignTerm && $0.isVoteRequest }
            if !unsent { send(RaftMessage(from: id, to: voter, term: campaignTerm, payload: .requestVote(request))) }
        }
    }

    /// Decides the election if the tally allows. Returns true if it was decided.
    @discardableResult
    mutating func evaluateElection() -> Bool {
        guard let tally = electionTally else { return false }
        switch Quorum.voteResult(voters: log.configuration.voters, granted: tally.granted, rejected: tally.rejected) {
        case .pending:
            return false
        case .lost:
            becomeFollower(term: term, leader: .none)
            return true
        case .won:
            if role == .preCandidate {
                startCampaign(.election)
            } else {
                becomeLeader()
            }
            return true
        }
    }

    /// Grants or refuses a vote or pre-vote (§3.4, §3.6.1, §9.6).
    mutating func handleVoteRequest(_ message: RaftMessage, _ request: RaftMessage.VoteRequest) {
        // Already voted for this candidate in this term (a retransmission), or
        // free to vote; a pre-vote for a later term is always free.
        // A server whose votes are suspended may lack entries it acknowledged:
        // its vote could elect a leader without them. A candidate holding an
        // entry of a term after the suspension's is safe to vote for: a leader
        // of that term was elected without this server's vote, so its log, and
        // so the candidate's prefix up to that entry, holds every entry
        // committed in the terms this server may have lost entries of.
        let canVote =
            (votingSuspendedThrough == .zero || request.lastLogTerm > votingSuspendedThrough)
            && (vote == message.from
            || (vote == .none && leaderID == .none)
            || (request.isPreVote && message.term > term))
        if canVote && log.isUpToDate(lastIndex: request.lastLogIndex, lastTerm: request.lastLogTerm) {
            // The response carries the request's term so the candidate counts it
            // (for a pre-vote that is a term we have not entered ourselves).
            send(RaftMessage(
                from: id, to: message.from, term: message.term,
                payload: .requestVoteResponse(.init(isPreVote: request.isPreVote, granted: true))))
            if !request.isPreVote {
                // The vote must be durable before this response leaves: the Ready
                // contract orders persistence before sending.
                electionElapsedTicks = 0
                vote = message.from
            }
        } else {
            send(RaftMessage(
                from: id, to: message.from, term: term,
                payload: .requestVoteResponse(.init(isPreVote: request.isPreVote, granted: false))))
        }
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader (was \(role))")
        role = .leader
        leaderID = id
        electionTally = nil
        electionElapsedTicks = 0
        heartbeatElapsedTicks = 0
        var state = LeaderState()
        for member in log.configuration.members.sorted() where member != id {
            state.progress.append(
                Progress(node: member, next: log.lastIndex.next, inflightCapacity: configuration.maximumInflightMessages))
        }
        leaderState = state
        // An empty entry of the new term: committing it commits everything
        // before it and tells the leader its commit index (§3.6.2, §6.4).
        appendAsLeaderUnchecked([.empty])
        precondition(log.lastTerm == term, "a new leader's last entry is of its term")
    }
}
