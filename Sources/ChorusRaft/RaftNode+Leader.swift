import ChorusCore

/// The leader's timers, its message handling, and linearizable reads:
/// ReadIndex with many reads batched per heartbeat round, and the lease
/// (thesis §6.4, §6.4.1).
extension RaftNode {
    mutating func tickLeader() {
        heartbeatElapsedTicks += 1
        electionElapsedTicks += 1
        if electionElapsedTicks >= configuration.electionTimeoutTicks {
            electionElapsedTicks = 0
            if configuration.checkQuorumEnabled && !quorumRecentlyActive() {
                // CheckQuorum (§6.2): without a quorum this leader cannot commit
                // anything, so it stops telling clients it can.
                becomeFollower(term: term, leader: .none)
                return
            }
            for index in leader.progress.indices { leader.progress[index].recentActive = false }
        }
        if leader.transferTarget != nil {
            leader.transferElapsedTicks += 1
            if leader.transferElapsedTicks >= configuration.electionTimeoutTicks {
                leader.transferTarget = nil
            }
        }
        for index in leader.progress.indices {
            guard case .snapshot = leader.progress[index].state else { continue }
            leader.progress[index].snapshotElapsedTicks += 1
            if leader.progress[index].snapshotElapsedTicks >= configuration.snapshotRetryTicks {
                // The snapshot or its answer was probably lost: probe again.
                leader.progress[index].becomeProbe()
            }
        }
        if heartbeatElapsedTicks >= configuration.heartbeatIntervalTicks {
            heartbeatElapsedTicks = 0
            startHeartbeatRound()
        }
    }

    private func quorumRecentlyActive() -> Bool {
        let voters = log.configuration.voters
        guard !voters.isEmpty else { return false }
        var active = 0
        for voter in voters {
            if voter == id || leader.progress.first(where: { $0.node == voter })?.recentActive == true {
                active += 1
            }
        }
        return Quorum.isReached(active, of: voters.count)
    }

    mutating func stepLeader(_ message: RaftMessage) {
        switch message.payload {
        case .appendEntriesResponse(let response):
            handleAppendResponse(from: message.from, response)
        case .heartbeatResponse(let response):
            handleHeartbeatResponse(from: message.from, round: response.round)
        case .proposal(let commands):
            // Forwarded proposals: appended if allowed, silently dropped if not
            // (the forwarder's client times out and retries).
            _ = try? appendAsLeader(commands.map { .command($0) })
        case .readIndex(let context):
            try? handleReadRequest(context: context, requester: message.from)
        case .appendEntries, .heartbeat, .installSnapshot, .timeoutNow, .requestVoteResponse,
            .readIndexResponse, .requestVote:
            // Another leader in our own term cannot exist (election safety); an
            // injected bug may create one, and the simulator reports it.
            break
        }
    }

    private mutating func handleHeartbeatResponse(from node: NodeID, round: UInt64) {
        guard let position = leader.progress.firstIndex(where: { $0.node == node }) else { return }
        leader.progress[position].recentActive = true
        leader.progress[position].probeSent = false
        if round > leader.progress[position].acknowledgedRound {
            leader.progress[position].acknowledgedRound = round
        }
        if leader.progress[position].state == .replicate && leader.progress[position].inflights.isFull {
            // A full window with a live follower means appends were lost: free a
            // slot so replication resumes (the follower will reject a gap and we
            // fall back to probing).
            leader.progress[position].inflights.freeFirst()
        }
        if leader.progress[position].match < log.lastIndex {
            // Possibly lost appends: an empty append at `next` makes the follower
            // reject a gap, which sends us back to probing from its match.
            _ = sendAppend(toProgressAt: position, sendIfEmpty: true)
        }
        updateConfirmedRound()
    }

    /// Sends a heartbeat to every follower, numbered as a new round.
    mutating func startHeartbeatRound() {
        leader.heartbeatRound += 1
        let round = leader.heartbeatRound
        leader.roundStartTicks[Int(round % UInt64(LeaderState.roundHistoryCount))] = tickCount
        leader.latestRoundUnsent = !leader.progress.isEmpty
        for progress in leader.progress {
            send(RaftMessage(
                from: id, to: progress.node, term: term,
                payload: .heartbeat(.init(commit: min(progress.match, log.committed), round: round))))
        }
        // A single-voter cluster confirms its own rounds.
        updateConfirmedRound()
    }

    /// Recomputes the quorum-acknowledged round and releases the reads it confirms.
    mutating func updateConfirmedRound() {
        guard leaderState != nil else { return }
        let voters = log.configuration.voters
        guard !voters.isEmpty else { return }
        var rounds: [UInt64] = []
        rounds.reserveCapacity(voters.count)
        for voter in voters {
            if voter == id {
                rounds.append(leader.heartbeatRound)
            } else {
                rounds.append(leader.progress.first { $0.node == voter }?.acknowledgedRound ?? 0)
            }
        }
        let acknowledged = Quorum.majorityValue(rounds)
        guard acknowledged > leader.confirmedRound else { return }
        leader.confirmedRound = acknowledged
        var released = 0
        while released < leader.pendingReads.count
            && leader.pendingReads[released].requiredRound <= acknowledged
        {
            let read = leader.pendingReads[released]
            deliverRead(index: read.index, context: read.context, requester: read.requester)
            released += 1
        }
        leader.pendingReads.removeFirst(released)
        if released > 0 { readRoundsConfirmed += 1 }
        // Reads that arrived during the round just confirmed need a new round now,
        // not at the next heartbeat: one round carries all of them.
        if let waiting = leader.pendingReads.first, waiting.requiredRound > leader.heartbeatRound {
            startHeartbeatRound()
        }
    }

    /// Whether the lease lets this leader serve a read without a round (§6.4.1;
    /// the bound is explained at `RaftConfiguration.leaseDurationTicks`).
    var leaseIsValid: Bool {
        guard configuration.readMode == .lease, let leaderState, !leaderState.timeoutNowSent else { return false }
        guard log.configuration.isVoter(id) else { return false }
        if log.configuration.voters == [id] { return true }
        guard let start = leaderState.startTick(ofRound: leaderState.confirmedRound) else { return false }
        return tickCount < start + UInt64(configuration.leaseDurationTicks)
    }

    mutating func handleReadRequest(context: UInt64, requester: NodeID) throws(RaftError) {
        guard leaderState != nil else { throw .notLeader(leaderHint: nil) }
        guard log.term(at: log.committed) == term else {
            guard leader.readsAwaitingCommit.count < configuration.maximumPendingReads else {
                throw .proposalDropped(.readsAwaitingFirstCommit(limit: configuration.maximumPendingReads))
            }
            leader.readsAwaitingCommit.append((context, requester))
            return
        }
        if log.configuration.voters == [id] || leaseIsValid {
            deliverRead(index: log.committed, context: context, requester: requester)
            return
        }
        guard leader.pendingReads.count < configuration.maximumPendingReads else {
            throw .proposalDropped(.pendingReads(limit: configuration.maximumPendingReads))
        }
        let state = leader
        // The first round whose heartbeats leave after this read arrived.
        let requiredRound = state.latestRoundUnsent ? state.heartbeatRound : state.heartbeatRound + 1
        leader.pendingReads.append(PendingRead(
            index: log.committed, context: context, requester: requester, requiredRound: requiredRound))
        if requiredRound > state.heartbeatRound && state.confirmedRound >= state.heartbeatRound {
            // No round is outstanding: start one for this read (and any that join it).
            startHeartbeatRound()
        }
    }

    mutating func releaseReadsAwaitingCommit() {
        guard leaderState != nil else { return }
        let waiting = leader.readsAwaitingCommit
        leader.readsAwaitingCommit = []
        for read in waiting {
            try? handleReadRequest(context: read.context, requester: read.requester)
        }
    }

    private mutating func deliverRead(index: LogIndex, context: UInt64, requester: NodeID) {
        if requester == id {
            pendingReadStates.append(ReadState(index: index, context: context))
        } else {
            send(RaftMessage(
                from: id, to: requester, term: term, payload: .readIndexResponse(index: index, context: context)))
        }
    }
}
