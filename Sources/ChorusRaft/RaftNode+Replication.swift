import ChorusCore

/// Log replication (thesis §3.5), commitment (§3.6.2), flow control with probe
/// and replicate states (§10.2.2, etcd's tracker), fast backtracking, and
/// InstallSnapshot (§5.3).
extension RaftNode {
    // MARK: Leader side

    /// Appends payloads to the leader's log and replicates them. Refuses when a
    /// transfer is under way or too many entries are uncommitted.
    @discardableResult
    mutating func appendAsLeader(_ payloads: [LogEntry.Payload]) throws(RaftError) -> LogIndex {
        precondition(role == .leader, "appendAsLeader on a \(role)")
        if let target = leaderState?.transferTarget { throw .leadershipTransferInProgress(target: target) }
        let uncommitted = Int(log.lastIndex.rawValue - log.committed.rawValue)
        guard uncommitted + payloads.count <= configuration.maximumUncommittedEntries else {
            throw .proposalDropped(.uncommittedEntries(uncommitted: uncommitted, limit: configuration.maximumUncommittedEntries))
        }
        return appendAsLeaderUnchecked(payloads)
    }

    @discardableResult
    mutating func appendAsLeaderUnchecked(_ payloads: [LogEntry.Payload]) -> LogIndex {
        var configurationChanged = false
        for payload in payloads {
            let entry = LogEntry(term: term, index: log.lastIndex.next, payload: payload)
            log.appendOne(entry)
            if case .configuration = payload { configurationChanged = true }
        }
        if configurationChanged { leaderAdoptConfiguration() }
        broadcastAppend()
        return log.lastIndex
    }

    /// Sends AppendEntries with whatever each follower still needs (or an empty
    /// one to carry the commit index).
    mutating func broadcastAppend() {
        guard let leaderState else { return }
        for index in leaderState.progress.indices {
            _ = sendAppend(toProgressAt: index, sendIfEmpty: true)
        }
    }

    mutating func sendAppend(to node: NodeID, sendIfEmpty: Bool) -> Bool {
        guard let position = leaderState?.progress.firstIndex(where: { $0.node == node }) else { return false }
        return sendAppend(toProgressAt: position, sendIfEmpty: sendIfEmpty)
    }

    /// Sends one AppendEntries (or an InstallSnapshot when the follower needs
    /// compacted entries) if flow control allows. Returns whether it sent.
    mutating func sendAppend(toProgressAt position: Int, sendIfEmpty: Bool) -> Bool {
        guard var progress = leaderState?.progress[position], !progress.isPaused else { return false }
        defer { leader.progress[position] = progress }
        let previousIndex = progress.next.previous
        guard let previousTerm = log.term(at: previousIndex),
            let batch = log.entries(
                from: progress.next, through: log.lastIndex,
                maximumCount: configuration.maximumEntriesPerMessage, maximumBytes: configuration.maximumMessageBytes)
        else {
            // The entries the follower needs are compacted: send the snapshot (§5.3).
            progress.becomeSnapshot(at: log.snapshotIndex)
            send(RaftMessage(from: id, to: progress.node, term: term, payload: .installSnapshot(log.snapshot)))
            return true
        }
        if batch.isEmpty && !sendIfEmpty { return false }
        send(RaftMessage(
            from: id, to: progress.node, term: term,
            payload: .appendEntries(.init(
                previousIndex: previousIndex, previousTerm: previousTerm, entries: batch, commit: log.committed))))
        if let last = batch.last {
            progress.sentEntries(through: last.index)
        } else if progress.state == .probe {
            progress.probeSent = true
        }
        return true
    }

    /// Commits the largest index a majority of voters has stored, if it is of the
    /// current term (§3.6.2: never by counting replicas of an older term's entry,
    /// figure 3.7). Returns whether the commit index advanced.
    mutating func maybeCommit() -> Bool {
        guard let leaderState else { return false }
        let voters = log.configuration.voters
        guard !voters.isEmpty else { return false }
        var matches: [LogIndex] = []
        matches.reserveCapacity(voters.count)
        for voter in voters {
            if voter == id {
                matches.append(log.stableIndex)
            } else {
                matches.append(leaderState.progress.first { $0.node == voter }?.match ?? .zero)
            }
        }
        let candidate = Quorum.majorityValue(matches)
        guard candidate > log.committed else { return false }
        let allowOldTerm = configuration.injectedBug == .oldTermCommit
        guard allowOldTerm || log.term(at: candidate) == term else { return false }
        let wasCommittedInTerm = log.term(at: log.committed) == term
        log.commit(to: candidate)
        afterLeaderCommit(firstInTerm: !wasCommittedInTerm && log.term(at: log.committed) == term)
        return true
    }

    private mutating func afterLeaderCommit(firstInTerm: Bool) {
        if firstInTerm { releaseReadsAwaitingCommit() }
        // A leader that removed itself steps down once the removal commits (§4.2.2).
        if !log.configuration.isVoter(id) && log.configurationIndex <= log.committed {
            broadcastAppend()
            becomeFollower(term: term, leader: .none)
        }
    }

    mutating func handleAppendResponse(from node: NodeID, _ response: RaftMessage.AppendEntriesResponse) {
        guard let position = leaderState?.progress.firstIndex(where: { $0.node == node }) else { return }
        leader.progress[position].recentActive = true
        if response.rejected {
            var probe = response.rejectHintIndex
            if response.rejectHintTerm > .zero {
                // Skip every entry of ours whose term exceeds the follower's hint term.
                probe = log.conflictHint(atOrBelow: response.rejectHintIndex, term: response.rejectHintTerm).index
            }
            if leader.progress[position].backtrack(rejectedIndex: response.index, probeIndex: probe) {
                if leader.progress[position].state == .replicate { leader.progress[position].becomeProbe() }
                _ = sendAppend(toProgressAt: position, sendIfEmpty: true)
            }
            return
        }
        // No follower can hold more than was sent to it, and nothing beyond
        // our last index ever was: such an answer is not from a correct peer.
        guard response.index <= log.lastIndex else { return }
        let wasPaused = leader.progress[position].isPaused
        guard leader.progress[position].acknowledge(upTo: response.index) else { return }
        switch leader.progress[position].state {
        case .probe:
            leader.progress[position].becomeReplicate()
        case .snapshot(let pendingIndex):
            if leader.progress[position].match >= pendingIndex
                || leader.progress[position].match.next >= log.firstIndex
            {
                leader.progress[position].becomeReplicate()
            }
        case .replicate:
            leader.progress[position].inflights.free(upTo: response.index)
        }
        if maybeCommit() {
            broadcastAppend()
        } else if wasPaused {
            // It may have missed commit-index updates while paused.
            _ = sendAppend(toProgressAt: position, sendIfEmpty: true)
        }
        // Keep the pipeline full (bounded by the inflight window).
        guard let position = leaderState?.progress.firstIndex(where: { $0.node == node }) else { return }
        var sent = 0
        while sent < configuration.maximumInflightMessages && sendAppend(toProgressAt: position, sendIfEmpty: false) {
            sent += 1
        }
        if leaderState?.transferTarget == node && leader.progress[position].match == log.lastIndex {
            sendTimeoutNow(to: node)
        }
    }

    mutating func sendTimeoutNow(to node: NodeID) {
        leaderState?.timeoutNowSent = true
        send(RaftMessage(from: id, to: node, term: term, payload: .timeoutNow))
    }

    /// Makes the leader's follower set match the configuration in force.
    mutating func leaderAdoptConfiguration() {
        guard leaderState != nil else { return }
        let members = log.configuration.members.filter { $0 != id }.sorted()
        var next: [Progress] = []
        next.reserveCapacity(members.count)
        for member in members {
            if let existing = leader.progress.first(where: { $0.node == member }) {
                next.append(existing)
            } else {
                // A new member: probe from the end; fast backtracking finds its match.
                var progress = Progress(node: member, next: log.lastIndex, inflightCapacity: configuration.maximumInflightMessages)
                progress.recentActive = true
                next.append(progress)
            }
        }
        leader.progress = next
        if let target = leader.transferTarget, !log.configuration.isVoter(target) {
            leader.transferTarget = nil
        }
        // The quorum changed: commitment and read confirmation may advance.
        _ = maybeCommit()
        updateConfirmedRound()
    }

    // MARK: Follower side

    mutating func handleAppendEntries(from leader: NodeID, _ append: RaftMessage.AppendEntries) {
        if append.previousIndex < log.committed {
            // Everything up to our commit index matches the leader already.
            send(RaftMessage(
                from: id, to: leader, term: term,
                payload: .appendEntriesResponse(.init(index: log.committed, rejected: false))))
            return
        }
        guard log.matchesTerm(at: append.previousIndex, append.previousTerm) else {
            let hint = log.conflictHint(atOrBelow: append.previousIndex, term: append.previousTerm)
            send(RaftMessage(
                from: id, to: leader, term: term,
                payload: .appendEntriesResponse(.init(
                    index: append.previousIndex, rejected: true,
                    rejectHintIndex: hint.index, rejectHintTerm: hint.term))))
            return
        }
        let lastNew = append.previousIndex.advanced(by: append.entries.count)
        _ = log.append(after: append.previousIndex, append.entries)
        log.commit(to: min(append.commit, lastNew))
        send(RaftMessage(
            from: id, to: leader, term: term,
            payload: .appendEntriesResponse(.init(index: lastNew, rejected: false))))
    }

    mutating func handleInstallSnapshot(from leader: NodeID, _ snapshot: Snapshot) {
        let metadata = snapshot.metadata
        if metadata.index <= log.committed {
            send(RaftMessage(
                from: id, to: leader, term: term,
                payload: .appendEntriesResponse(.init(index: log.committed, rejected: false))))
            return
        }
        if log.matchesTerm(at: metadata.index, metadata.term) {
            // We hold the snapshot's last entry: keep our log and just commit (§5.3 step 6).
            log.commit(to: metadata.index)
        } else {
            log.restore(snapshot)
            pendingSnapshot = snapshot
        }
        // Only the prefix through the snapshot is known to match the leader.
        send(RaftMessage(
            from: id, to: leader, term: term,
            payload: .appendEntriesResponse(.init(index: log.committed, rejected: false))))
    }
}
