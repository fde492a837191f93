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
            for index in leaderState!.progress.indices { leaderState!.progress[index].recentActive = false }
        }
        if leaderState!.transferTarget != nil {
            leaderState!.transferElapsedTicks += 1
            if leaderState!.transferElapsedTicks >= configuration.electionTimeoutTicks {
                leaderState!.transferTarget = nil
            }
        }
        for index in leaderState!.progress.indices {
            guard case .snapshot = leaderState!.progress[index].state else { continue }
            leaderState!.progress[index].snapshotElapsedTicks += 1
            if leaderState!.progress[index].snapshotElapsedTicks >= configuration.snapshotRetryTicks {
                // The snapshot or its answer was probably lost: probe again.
                leaderState!.progress[index].becomeProbe()
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
            if voter == id || leaderState!.progress.first(where: { $0.node == voter })?.recentActive == true {
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
        guard let position = leaderState!.progress.firstIndex(where: { $0.node == node }) else { return }
        leaderState!.progress[position].recentActive = true
        leaderState!.progress[position].probeSent = false
        if round > leaderState!.progress[position].acknowledgedRound {
            leaderState!.progress[position].acknowledgedRound = round
        }
        if leaderState!.progress[position].state == .replicate && leaderState!.progress[position].inflights.isFull {
            // A full window with a live follower means appends were lost: free a
            // slot so replication resumes (the follower will reject a gap and we
            // fall back to probing).
            leaderState!.progress[position].inflights.freeFirst()
        }
        if leaderState!.progress[position].match < log.lastIndex {
            // Possibly lost appends: an empty append at `next` makes the follower
            // reject a gap, which sends us back to probing from its match.
            _ = sendAppend(toProgressAt: position, sendIfEmpty: true)
        }
        updateConfirmedRound()
    }

    /// Sends a heartbeat to every follower, numbered as a new round.
    mutating func startHeartbeatRound() {
        leaderState!.heartbeatRound += 1
        let round = leaderState!.heartbeatRound
        leaderState!.roundStartTicks[Int(round % UInt64(LeaderState.roundHistoryCount))] = tickCount
        leaderState!.latestRoundUnsent = !leaderState!.progress.isEmpty
        for progress in leaderState!.progress {
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
                rounds.append(leaderState!.heartbeatRound)
            } else {
                rounds.append(leaderState!.progress.first { $0.node == voter }?.acknowledgedRound ?? 0)
            }
        }
        let acknowledged = Quorum.majorityValue(rounds)
        guard acknowledged > leaderState!.confirmedRound else { return }
        leaderState!.confirmedRound = acknowledged
        var released = 0
        while released < leaderState!.pendingReads.count
            && leaderState!.pendingReads[released].requiredRound <= acknowledged
        {
            let read = leaderState!.pendingReads[released]
            deliverRead(index: read.index, context: read.context, requester: read.requester)
            released += 1
        }
        leaderState!.pendingReads.removeFirst(released)
        if released > 0 { readRoundsConfirmed += 1 }
        // Reads that arrived during the round just confirmed need a new round now,
        // not at the next heartbeat: one round carries all of them.
        if let waiting = leaderState!.pendingReads.first, waiting.requiredRound > leaderState!.heartbeatRound {
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
            guard leaderState!.readsAwaitingCommit.count < configuration.maxPendingReads else {
                throw .proposalDropped(.readsAwaitingFirstCommit(limit: configuration.maxPendingReads))
            }
            leaderState!.readsAwaitingCommit.append((context, requester))
            return
        }
        if log.configuration.voters == [id] || leaseIsValid {
            deliverRead(index: log.committed, context: context, requester: requester)
            return
        }
        guard leaderState!.pendingReads.count < configuration.maxPendingReads else {
            throw .proposalDropped(.pendingReads(limit: configuration.maxPendingReads))
        }
        let state = leaderState!
        // The first round whose heartbeats leave after this read arrived.
        let requiredRound = state.latestRoundUnsent ? state.heartbeatRound : state.heartbeatRound + 1
        leaderState!.pendingReads.append(PendingRead(
            index: log.committed, context: context, requester: requester, requiredRound: requiredRound))
        if requiredRound > state.heartbeatRound && state.confirmedRound >= state.heartbeatRound {
            // No round is outstanding: start one for this read (and any that join it).
            startHeartbeatRound()
        }
    }

    mutating func releaseReadsAwaitingCommit() {
        guard leaderState != nil else { return }
        let waiting = leaderState!.readsAwaitingCommit
        leaderState!.readsAwaitingCommit = []
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
