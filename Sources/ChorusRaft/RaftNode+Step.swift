import ChorusCore

extension RaftNode {
    /// Advances time by one tick: election timeouts on followers and candidates,
    /// heartbeats, CheckQuorum and transfer/snapshot timeouts on the leader.
    public mutating func tick() {
        defer { checkInvariants() }
        tickCount += 1
        if role == .leader {
            tickLeader()
        } else {
            electionElapsedTicks += 1
            if isPromotable && electionElapsedTicks >= randomizedElectionTimeoutTicks {
                electionElapsedTicks = 0
                startCampaign(configuration.preVoteEnabled ? .preElection : .election)
            } else if electionTally != nil && electionElapsedTicks % configuration.heartbeatIntervalTicks == 0 {
                // Servers retry RPCs that get no answer (thesis §3.4): a lost
                // request or response must not cost a whole election timeout.
                resendVoteRequests()
            }
        }
    }

    /// A voter in its own configuration may campaign; learners, removed
    /// servers and a server whose votes are suspended may not.
    var isPromotable: Bool { log.configuration.isVoter(id) && votingSuspendedThrough == .zero }

    /// Ends a vote suspension once this server holds a committed entry of a
    /// term after the suspension's (`RaftPersistentState.suspendingVotes`).
    /// The commit index a follower learns covers only entries that match the
    /// leader's log, so the entry there is the leader's. A sole voter ends it
    /// at once: no other server can hold what it lost, and suspended it could
    /// never elect itself again.
    mutating func resumeVotingIfCaughtUp() {
        guard votingSuspendedThrough != .zero else { return }
        let isSoleVoter = log.configuration.voters == [id]
        guard isSoleVoter || log.term(at: log.committed).map({ $0 > votingSuspendedThrough }) == true else { return }
        votingSuspendedThrough = .zero
    }

    /// Whether this server refuses to take part in an election because it has
    /// heard from a leader within the minimum election timeout (thesis §4.2.3,
    /// §6.2). In lease mode it also refuses for one election timeout after it
    /// starts, since it may have acknowledged a heartbeat just before it crashed.
    var isWithinLeaderStickiness: Bool {
        guard configuration.checkQuorumEnabled else { return false }
        if leaderID != .none && electionElapsedTicks < configuration.electionTimeoutTicks { return true }
        if configuration.readMode == .lease && tickCount < UInt64(configuration.electionTimeoutTicks) { return true }
        return false
    }

    /// Handles one message from a peer.
    public mutating func step(_ message: RaftMessage) {
        precondition(message.to == id, "message for \(message.to) stepped into \(id)")
        defer {
            resumeVotingIfCaughtUp()
            checkInvariants()
        }
        guard message.from != id, message.from != .none else { return }

        if message.term == .zero {
            // Forwarded client requests have no term semantics; nothing else
            // may skip the term rules (the codec refuses it too).
            switch message.payload {
            case .proposal, .readIndex: break
            default: return
            }
        } else if message.term > term {
            if case .requestVote(let request) = message.payload,
                !request.isLeadershipTransfer && isWithinLeaderStickiness
            {
                return
            }
            switch message.payload {
            case .requestVote(let request) where request.isPreVote:
                // A pre-vote asks about term+1 without anyone moving to it.
                break
            case .requestVoteResponse(let response) where response.isPreVote && response.granted:
                // Granted pre-votes carry the term we would campaign in.
                break
            case .appendEntries, .heartbeat, .installSnapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: .none)
            }
        } else if message.term < term {
            switch message.payload {
            case .appendEntries, .heartbeat:
                // Tell a stale leader about the newer term so it steps down. With
                // PreVote or CheckQuorum it would otherwise never learn it: our own
                // elections no longer raise terms on the servers that ignore them.
                if configuration.checkQuorumEnabled || configuration.preVoteEnabled {
                    send(RaftMessage(
                        from: id, to: message.from, term: term,
                        payload: .appendEntriesResponse(.init(index: .zero, rejected: false))))
                }
            case .requestVote(let request):
                // Refuse with our term, as every Raft answer carries it (thesis
                // figure 3.1), so a candidate behind us steps up to it. Ignoring
                // the request instead (etcd raft does, for real votes) can
                // deadlock: a server with a stale configuration that campaigns
                // only among the voters it believes in races its term ahead of
                // the one server that could win, whose requests then always
                // arrive at a passed term and never learn it (seed 7093945;
                // testdata/stale_configuration_liveness.txt).
                send(RaftMessage(
                    from: id, to: message.from, term: term,
                    payload: .requestVoteResponse(.init(isPreVote: request.isPreVote, granted: false))))
            default:
                break
            }
            return
        }

        if case .requestVote(let request) = message.payload {
            handleVoteRequest(message, request)
            return
        }

        switch role {
        case .follower: stepFollower(message)
        case .preCandidate, .candidate: stepCandidate(message)
        case .leader: stepLeader(message)
        }
    }

    private mutating func stepFollower(_ message: RaftMessage) {
        switch message.payload {
        case .appendEntries(let append):
            electionElapsedTicks = 0
            leaderID = message.from
            handleAppendEntries(from: message.from, append)
        case .heartbeat(let heartbeat):
            electionElapsedTicks = 0
            leaderID = message.from
            log.commit(to: min(heartbeat.commit, log.lastIndex))
            send(RaftMessage(
                from: id, to: message.from, term: term,
                payload: .heartbeatResponse(.init(round: heartbeat.round))))
        case .installSnapshot(let snapshot):
            electionElapsedTicks = 0
            leaderID = message.from
            handleInstallSnapshot(from: message.from, snapshot)
        case .timeoutNow:
            // Leadership transfer (§3.10): campaign at once, skipping PreVote.
            if isPromotable { startCampaign(.transfer) }
        case .readIndexResponse(let index, let context):
            pendingReadStates.append(ReadState(index: index, context: context))
        case .proposal(let commands):
            if configuration.proposalForwardingEnabled && leaderID != .none {
                send(RaftMessage(from: id, to: leaderID, term: .zero, payload: .proposal(commands)))
            }
        case .readIndex:
            // A forwarded read that reached a server that is no longer the leader:
            // dropped; the requester times out and retries.
            break
        case .appendEntriesResponse, .requestVoteResponse, .heartbeatResponse, .requestVote:
            break
        }
    }

    private mutating func stepCandidate(_ message: RaftMessage) {
        switch message.payload {
        case .appendEntries, .heartbeat, .installSnapshot:
            // A leader exists in this term: the election is lost (§3.4).
            becomeFollower(term: message.term, leader: message.from)
            stepFollower(message)
        case .requestVoteResponse(let response):
            guard response.isPreVote == (role == .preCandidate) else { return }
            electionTally?.record(message.from, granted: response.granted)
            evaluateElection()
        case .readIndexResponse(let index, let context):
            pendingReadStates.append(ReadState(index: index, context: context))
        case .timeoutNow, .proposal, .readIndex, .appendEntriesResponse, .heartbeatResponse, .requestVote:
            break
        }
    }
}
