import ChorusCore
import ChorusRaft

/// The Ready loop: take, early-apply, persist, then send, apply, serve reads
/// and advance (the `Ready` contract, in one place).
extension RaftReplica {
    /// Proposes the queued writes and reads, then takes a `Ready` if none is
    /// in flight. Call it after inputs (the node once per event-loop turn, so
    /// that a turn's requests form one batch), then `takeEffects()`.
    public mutating func pump() {
        guard stopReason == nil else { return }
        defer { checkInvariants() }
        flushProposals()
        flushReads()
        guard readyInFlight == nil else { return }
        if preparedSnapshot != nil { completeCompaction() }
        guard raft.hasReady else {
            maybeStartCompaction()
            return
        }
        let ready = raft.ready()
        readyInFlight = ready
        effects.append(.readyTaken(ready))
        if let soft = ready.softState { effects.append(.roleChanged(soft, term: raft.term)) }
        applyEntriesDurableBefore(ready)
        if ready.messagesMayPrecedePersistence {
            if !ready.messages.isEmpty { effects.append(.send(ready.messages)) }
            messagesHeld = false
        } else {
            messagesHeld = !ready.messages.isEmpty
        }
        effects.append(.persist(PersistRequest(
            ticket: ready.sequence, snapshot: ready.snapshot, entries: ready.entries, hardState: ready.hardState,
            mustSync: ready.mustSync, durableHardState: durableHardState)))
    }

    /// The runtime made the request named `ticket` durable (or, when it did
    /// not need an fsync, written): the rest of the `Ready` runs now.
    public mutating func persisted(_ ticket: UInt64) {
        guard stopReason == nil else { return }
        defer { checkInvariants() }
        guard let ready = readyInFlight else { preconditionFailure("persisted(\(ticket)) with no Ready in flight") }
        precondition(ready.sequence == ticket, "persisted(\(ticket)) but Ready \(ready.sequence) is in flight")
        if let snapshot = ready.snapshot { durableLastIndex = snapshot.metadata.index }
        if let last = ready.entries.last { durableLastIndex = last.index }
        if let hardState = ready.hardState { durableHardState = hardState }
        finish(ready)
    }

    /// Applies the committed entries that were already durable here before
    /// this `Ready` (at or below `durableLastIndex`, and below the first index
    /// the `Ready` rewrites), while the `Ready`'s own records are written.
    ///
    /// The contract orders "apply" after "persist" so that nothing is applied
    /// before it is durable; these entries are durable here already, and
    /// committed means durable on a quorum too. Applying them now takes one
    /// fsync off every write's path: the leader learns an entry is committed
    /// while it writes the next batch, and would otherwise wait for that
    /// batch's fsync before answering the client.
    mutating func applyEntriesDurableBefore(_ ready: Ready) {
        guard ready.snapshot == nil else { return }
        let rewrittenFrom = ready.entries.first?.index ?? durableLastIndex.next
        var appliedAny = false
        for entry in ready.committedEntries {
            guard entry.index <= durableLastIndex, entry.index < rewrittenFrom else { break }
            apply(entry)
            appliedAny = true
        }
        if appliedAny { serveAppliedReads() }
    }

    /// Steps 2–5 of the contract: send, apply, serve reads, advance.
    mutating func finish(_ ready: Ready) {
        if messagesHeld {
            effects.append(.send(ready.messages))
            messagesHeld = false
        }
        if let snapshot = ready.snapshot {
            restore(snapshot)
            guard stopReason == nil else { return }
        }
        for entry in ready.committedEntries { apply(entry) }
        for readState in ready.readStates {
            statistics.readStates += 1
            guard let batch = readBatches.removeValue(forKey: readState.context) else { continue }
            confirmed(batch, at: readState.index)
        }
        if ready.softState != nil && !readBatches.isEmpty {
            // The leader changed: the core dropped the read requests it had not
            // confirmed under the previous leader (thesis §6.4). Fail them now
            // rather than at their deadline; the client retries at once.
            for context in readBatches.keys.sorted() where readBatches[context]!.leader != raft.leaderID {
                let batch = readBatches.removeValue(forKey: context)!
                fail(batch, .readTimeout)
            }
        }
        raft.advance(ready)
        readyInFlight = nil
        serveAppliedReads()
        maybeStartCompaction()
    }

    mutating func apply(_ entry: LogEntry) {
        guard entry.index > machine.appliedIndex else { return }
        statistics.committedEntries += 1
        switch entry.payload {
        case .command(let bytes):
            let output = machine.apply(bytes[...], at: entry.index)
            statistics.appliedCommands += 1
            completeWrite(at: entry.index, term: entry.term, output: output)
        case .empty, .configuration:
            machine.skip(index: entry.index)
            completeWrite(at: entry.index, term: entry.term, output: nil)
        }
    }

    mutating func restore(_ snapshot: Snapshot) {
        do {
            try machine.restore(from: snapshot.metadata.index == .zero ? [] : snapshot.data, at: snapshot.metadata.index)
        } catch {
            let reason = "a snapshot from the leader does not restore: \(error)"
            effects.append(.fatal(reason))
            stopReason = reason
            failAllWaiters(.stopped(reason))
            readyInFlight = nil
            messagesHeld = false
            return
        }
        // Writes the snapshot jumped over: whether they were applied is unknown here.
        for index in writeWaiters.keys.sorted() where index <= snapshot.metadata.index.rawValue {
            answer(removeWriteWaiter(at: index)!.tokens, .failure(.outcomeUnknown(.replacedBySnapshot)))
        }
        effects.append(.snapshotInstalled(snapshot.metadata))
    }
}
