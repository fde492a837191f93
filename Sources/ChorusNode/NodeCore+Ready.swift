import ChorusCore
import ChorusKeyValue
import ChorusRaft
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// The Ready loop: persist, then send, apply, serve reads and advance (the `Ready` contract).
extension NodeCore {
    func schedulePump() {
        guard !pumpScheduled, !readyInFlight, stopReason == nil else { return }
        pumpScheduled = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.execute { bound.value.pump() }
    }

    func pump() {
        pumpScheduled = false
        guard stopReason == nil, !readyInFlight, raft.hasReady else { return }
        let ready = raft.ready()
        readyInFlight = true
        metrics.readies.increment()
        if let soft = ready.softState { observe(soft) }
        applyEntriesDurableBefore(ready)

        guard ready.mustSync else {
            // Nothing that must be durable first (a commit-index-only change is
            // written lazily, with the next record that must be synced).
            finish(ready)
            return
        }
        if let snapshot = ready.snapshot {
            persistReceivedSnapshot(snapshot, ready: ready)
        } else {
            appendRecords(of: ready)
        }
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
    func applyEntriesDurableBefore(_ ready: Ready) {
        guard ready.snapshot == nil else { return }
        let rewrittenFrom = ready.entries.first?.index ?? durableLastIndex.next
        var appliedAny = false
        for entry in ready.committedEntries {
            guard entry.index <= durableLastIndex, entry.index < rewrittenFrom else { break }
            apply(entry)
            appliedAny = true
        }
        guard appliedAny else { return }
        metrics.appliedIndex.record(Int64(store.appliedIndex.rawValue))
        serveAppliedReads()
    }

    /// A snapshot from the leader is saved as a checkpoint (it can be far
    /// larger than a log record may be); the entries and hard state of the
    /// same `Ready` follow it as log records.
    func persistReceivedSnapshot(_ snapshot: ChorusRaft.Snapshot, ready: Ready) {
        let hard = ready.hardState ?? durableHardState
        let checkpoint = Checkpoint(
            hardState: HardState(term: hard.term, vote: hard.vote, commit: snapshot.metadata.index),
            snapshot: snapshot, entries: [])
        let bound = NIOLoopBound(self, eventLoop: loop)
        saveCheckpoint(checkpoint).whenComplete { result in
            let core = bound.value
            switch result {
            case .success:
                core.durableLastIndex = snapshot.metadata.index
                core.durableHardState = checkpoint.hardState
                core.metrics.snapshotsInstalled.increment()
                core.appendRecords(of: ready)
            case .failure(let error):
                core.fail("cannot save a snapshot received from the leader: \(error)")
            }
        }
    }

    /// Appends the `Ready`'s entries and hard state as log records, then
    /// finishes the `Ready` once they are durable.
    func appendRecords(of ready: Ready) {
        var units: [[[UInt8]]] = []
        var unit: [[UInt8]] = []
        var unitBytes = 0
        func add(_ record: [UInt8]) {
            let cost = record.count + 32
            if !unit.isEmpty
                && (unit.count >= configuration.storage.maximumBatchRecords
                    || unitBytes + cost > configuration.storage.maximumBatchBytes)
            {
                units.append(unit)
                unit = []
                unitBytes = 0
            }
            unit.append(record)
            unitBytes += cost
        }
        if !ready.entries.isEmpty {
            let recordLimit = configuration.storage.maximumRecordBytes - 64
            var first = 0
            var bytes = 0
            for (position, entry) in ready.entries.enumerated() {
                let size = entry.approximateByteCount + 8
                if position > first && bytes + size > recordLimit {
                    add(PersistenceRecord.entries(Array(ready.entries[first..<position])).encoded())
                    first = position
                    bytes = 0
                }
                bytes += size
            }
            add(PersistenceRecord.entries(first == 0 ? ready.entries : Array(ready.entries[first...])).encoded())
            metrics.entriesPersisted.increment(by: Int64(ready.entries.count))
            metrics.entriesPerReady.record(ready.entries.count)
        }
        if let hardState = ready.hardState { add(PersistenceRecord.hardState(hardState).encoded()) }
        if !unit.isEmpty { units.append(unit) }
        guard !units.isEmpty else {
            finish(ready)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let remaining = NIOLoopBoundBox(units.count, eventLoop: loop)
        let loop = self.loop
        for records in units {
            do {
                // The completion runs on the log's writer thread: hop back.
                try storage.log.append(contentsOf: records) { result in
                    loop.execute {
                        let core = bound.value
                        guard core.stopReason == nil else { return }
                        switch result {
                        case .success:
                            remaining.value -= 1
                            if remaining.value == 0 { core.persisted(ready) }
                        case .failure(let error):
                            core.fail("the write-ahead log failed: \(error)")
                        }
                    }
                }
            } catch {
                fail("the write-ahead log refused a Ready's records: \(error)")
                return
            }
        }
    }

    func persisted(_ ready: Ready) {
        if let last = ready.entries.last { durableLastIndex = last.index }
        if let hardState = ready.hardState { durableHardState = hardState }
        finish(ready)
    }

    /// Steps 2–5 of the contract: send, apply, serve reads, advance.
    func finish(_ ready: Ready) {
        guard stopReason == nil else { return }
        transport.send(ready.messages)

        if let snapshot = ready.snapshot { restore(snapshot) }
        if !ready.committedEntries.isEmpty {
            metrics.committedEntries.increment(by: Int64(ready.committedEntries.count))
            for entry in ready.committedEntries { apply(entry) }
            metrics.appliedIndex.record(Int64(store.appliedIndex.rawValue))
        }
        for readState in ready.readStates {
            metrics.readStates.increment()
            guard let batch = readBatches.removeValue(forKey: readState.context) else { continue }
            if readState.index <= store.appliedIndex {
                serveReads(batch)
            } else {
                readsAwaitingApply.append((readState.index, batch))
            }
        }
        if ready.softState != nil && !readBatches.isEmpty {
            // The leader changed: the core dropped the read requests it had not
            // confirmed under the previous leader (thesis §6.4). Fail them now
            // rather than at their deadline; the client retries at once.
            for context in readBatches.keys.sorted() where readBatches[context]!.leader != raft.leaderID {
                let batch = readBatches.removeValue(forKey: context)!
                pendingReadCount -= batch.waiters.count
                for waiter in batch.waiters { waiter.continuation.resume(returning: .failure(.readTimeout)) }
            }
        }
        raft.advance(ready)
        readyInFlight = false
        serveAppliedReads()
        metrics.commitIndex.record(Int64(raft.commitIndex.rawValue))
        if raft.readRoundsConfirmed > readRoundsExported {
            metrics.readIndexRounds.increment(by: Int64(raft.readRoundsConfirmed - readRoundsExported))
            readRoundsExported = raft.readRoundsConfirmed
        }
        maybeCompact()
        if raft.hasReady { schedulePump() }
    }

    func apply(_ entry: LogEntry) {
        guard entry.index > store.appliedIndex else { return }
        switch entry.payload {
        case .command(let bytes):
            let applied = store.apply(bytes[...], at: entry.index)
            metrics.appliedCommands.increment()
            completeWrite(at: entry.index, term: entry.term, result: applied.result)
        case .empty, .configuration:
            store.skip(index: entry.index)
            completeWrite(at: entry.index, term: entry.term, result: nil)
        }
    }

    func restore(_ snapshot: ChorusRaft.Snapshot) {
        if snapshot.metadata.index == .zero {
            store = KeyValueStore(limits: configuration.keyValue)
        } else {
            do {
                store = try KeyValueStore(restoring: snapshot.data, limits: configuration.keyValue)
            } catch {
                fail("a snapshot from the leader does not restore: \(error)")
                return
            }
        }
        // Writes the snapshot jumped over: whether they were applied is unknown here.
        for index in writeWaiters.keys.sorted() where index <= snapshot.metadata.index.rawValue {
            let waiter = writeWaiters.removeValue(forKey: index)!
            pendingWriteCount -= 1
            waiter.continuation.resume(returning: .failure(.outcomeUnknown("a snapshot replaced the log")))
        }
        logger.info("installed a snapshot", metadata: ["index": "\(snapshot.metadata.index.rawValue)"])
    }

    func observe(_ soft: SoftState) {
        metrics.isLeader.record(soft.role == .leader ? 1 : 0)
        if soft.role == .candidate { metrics.campaigns.increment() }
        metrics.term.record(Int64(raft.term.rawValue))
        if soft.leader != lastLeader {
            metrics.leaderChanges.increment()
            if soft.leader == configuration.nodeID {
                metrics.elections.increment()
                logger.notice("became leader", metadata: ["term": "\(raft.term.rawValue)"])
            } else if soft.leader == .none {
                logger.info("no leader", metadata: ["term": "\(raft.term.rawValue)", "role": "\(soft.role)"])
            } else {
                logger.info("following", metadata: ["leader": "\(soft.leader)", "term": "\(raft.term.rawValue)"])
            }
            lastLeader = soft.leader
        }
    }
}
