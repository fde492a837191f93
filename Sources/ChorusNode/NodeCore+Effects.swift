import CoreMetrics
import ChorusCore
import ChorusMachines
import ChorusRaft
import ChorusReplica
import ChorusStorage
import ChorusWire
import Logging
import NIOCore
import NIOPosix

/// Carrying out the replica's effects: the node's half of the Ready loop.
extension NodeCore {
    /// Runs `drive()` once, after the tasks already queued on the loop, so
    /// that every request of this loop turn joins one batch.
    func scheduleDrive() {
        guard !driveScheduled, stopReason == nil else { return }
        driveScheduled = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.execute { bound.value.drive() }
    }

    /// Pumps the replica and carries out its effects until it settles or
    /// waits for the disk.
    func drive() {
        driveScheduled = false
        var rounds = 0
        while stopReason == nil, rounds < 64 {
            rounds += 1
            replica.pump()
            let effects = replica.takeEffects()
            if effects.isEmpty { break }
            interpret(effects)
        }
        exportStatistics()
        if stopReason == nil && replica.needsPump { scheduleDrive() }
    }

    func interpret(_ effects: [ReplicaEffect<ReplicatedMachines>]) {
        for effect in effects {
            switch effect {
            case .readyTaken:
                metrics.readies.increment()
            case .roleChanged(let soft, let term):
                observe(soft, term: term)
            case .send(let messages):
                transport.send(messages)
            case .persist(let request):
                persist(request)
            case .prepareSnapshot(let machines, let index):
                prepareSnapshot(machines, index: index)
            case .saveCheckpoint(let request):
                let checkpoint = Checkpoint(hardState: request.hardState, snapshot: request.snapshot, entries: request.entries)
                let bound = NIOLoopBound(self, eventLoop: loop)
                saveCheckpoint(checkpoint).whenComplete { result in
                    let core = bound.value
                    switch result {
                    case .success:
                        core.metrics.snapshotsTaken.increment()
                        core.logger.info("snapshot saved", metadata: ["index": "\(request.snapshot.metadata.index.rawValue)"])
                        core.replica.checkpointSaved()
                        core.scheduleDrive()
                    case .failure(let error):
                        core.fail("cannot save a snapshot: \(error)")
                    }
                }
            case .snapshotInstalled(let metadata):
                metrics.snapshotsInstalled.increment()
                logger.info("installed a snapshot", metadata: ["index": "\(metadata.index.rawValue)"])
            case .proposed(let count):
                metrics.proposals.increment(by: Int64(count))
                metrics.proposalBatches.increment()
                metrics.proposalBatchSize.record(count)
            case .readIndexRequested(let reads):
                metrics.readIndexRequests.increment()
                metrics.readIndexBatchSize.record(reads)
            case .writeCompleted(let token, let result) where token == epochProposal:
                epochProposalCompleted(result)
            case .writeCompleted(let token, let result):
                guard let continuation = writeContinuations.removeValue(forKey: token) else {
                    preconditionFailure("an answer for \(token), which is not waiting")
                }
                if case .failure = result { metrics.proposalsRefused.increment() }
                continuation.resume(returning: result.mapError { NodeError($0, leaderURL: httpURL(of:)) })
            case .readCompleted(let token, let result):
                guard let continuation = readContinuations.removeValue(forKey: token) else {
                    preconditionFailure("an answer for \(token), which is not waiting")
                }
                continuation.resume(returning: result.mapError { NodeError($0, leaderURL: httpURL(of:)) })
            case .fatal(let reason):
                fail(reason)
            }
        }
    }

    /// Makes one `Ready`'s records durable, then acknowledges them.
    func persist(_ request: PersistRequest) {
        guard request.mustSync else {
            // Nothing that must be durable first: a commit-index-only change is
            // written lazily, with the next record that must be synced.
            replica.persisted(request.ticket)
            return
        }
        if let hardState = request.hardState, hardState.term > storage.recordedTerm {
            // A new term is recorded outside the log first (`TermFile`), so that
            // losing the log's final record cannot hide a term this node voted in.
            let bound = NIOLoopBound(self, eventLoop: loop)
            let storage = self.storage
            threadPool.runIfActive(eventLoop: loop) { try storage.raiseRecordedTerm(to: hardState.term) }
                .whenComplete { result in
                    switch result {
                    case .success: bound.value.persistRecords(of: request)
                    case .failure(let error): bound.value.fail("cannot record term \(hardState.term.rawValue): \(error)")
                    }
                }
            return
        }
        persistRecords(of: request)
    }

    /// The rest of `persist`, once the request's term is recorded.
    func persistRecords(of request: PersistRequest) {
        guard stopReason == nil else { return }
        guard let snapshot = request.snapshot else {
            appendRecords(of: request)
            return
        }
        // A snapshot from the leader is saved as a checkpoint (it can be far
        // larger than a log record may be); the entries and hard state of the
        // same request follow it as log records.
        let hard = request.hardState ?? request.durableHardState
        let checkpoint = Checkpoint(
            hardState: HardState(
                term: hard.term, vote: hard.vote, commit: snapshot.metadata.index,
                votingSuspendedThrough: hard.votingSuspendedThrough),
            snapshot: snapshot, entries: [])
        let bound = NIOLoopBound(self, eventLoop: loop)
        saveCheckpoint(checkpoint).whenComplete { result in
            switch result {
            case .success: bound.value.appendRecords(of: request)
            case .failure(let error): bound.value.fail("cannot save a snapshot received from the leader: \(error)")
            }
        }
    }

    /// Appends the request's entries and hard state as log records, in units
    /// the log accepts, and acknowledges once every unit is durable.
    func appendRecords(of request: PersistRequest) {
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
        if !request.entries.isEmpty {
            let recordLimit = configuration.storage.maximumRecordBytes - 64
            var first = 0
            var bytes = 0
            for (position, entry) in request.entries.enumerated() {
                let size = entry.approximateByteCount + 8
                if position > first && bytes + size > recordLimit {
                    add(PersistenceRecord.entries(Array(request.entries[first..<position])).encoded())
                    first = position
                    bytes = 0
                }
                bytes += size
            }
            add(PersistenceRecord.entries(first == 0 ? request.entries : Array(request.entries[first...])).encoded())
            metrics.entriesPersisted.increment(by: Int64(request.entries.count))
            metrics.entriesPerReady.record(request.entries.count)
        }
        if let hardState = request.hardState { add(PersistenceRecord.hardState(hardState).encoded()) }
        if !unit.isEmpty { units.append(unit) }
        guard !units.isEmpty else {
            replica.persisted(request.ticket)
            scheduleDrive()
            return
        }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let remaining = NIOLoopBoundBox(units.count, eventLoop: loop)
        let loop = self.loop
        let ticket = request.ticket
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
                            if remaining.value == 0 {
                                core.replica.persisted(ticket)
                                core.drive()
                            }
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

    /// Serializes a copy of the machines on the thread pool (sorting and
    /// encoding every key would otherwise stall the loop for milliseconds per
    /// 10k keys), then hands the bytes back to the replica.
    func prepareSnapshot(_ machines: ReplicatedMachines, index: LogIndex) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        threadPool.runIfActive(eventLoop: loop) { machines.snapshot() }.whenComplete { result in
            let core = bound.value
            guard core.stopReason == nil else { return }
            switch result {
            case .success(let data):
                core.replica.snapshotPrepared(index: index, data: data)
            case .failure(let error):
                core.replica.snapshotFailed()
                core.logger.warning("snapshot serialization failed", metadata: ["error": "\(error)"])
            }
            core.scheduleDrive()
        }
    }

    func exportStatistics() {
        let statistics = replica.statistics
        metrics.committedEntries.increment(by: Int64(statistics.committedEntries - exported.committedEntries))
        metrics.appliedCommands.increment(by: Int64(statistics.appliedCommands - exported.appliedCommands))
        metrics.writesLost.increment(by: Int64(statistics.writesLost - exported.writesLost))
        metrics.readStates.increment(by: Int64(statistics.readStates - exported.readStates))
        exported = statistics
        metrics.appliedIndex.record(Int64(replica.machine.appliedIndex.rawValue))
        metrics.commitIndex.record(Int64(raft.commitIndex.rawValue))
        if raft.readRoundsConfirmed > readRoundsExported {
            metrics.readIndexRounds.increment(by: Int64(raft.readRoundsConfirmed - readRoundsExported))
            readRoundsExported = raft.readRoundsConfirmed
        }
    }

    func observe(_ soft: SoftState, term: Term) {
        metrics.isLeader.record(soft.role == .leader ? 1 : 0)
        if soft.role == .candidate { metrics.campaigns.increment() }
        metrics.term.record(Int64(term.rawValue))
        guard soft.leader != lastLeader else { return }
        metrics.leaderChanges.increment()
        if soft.leader == configuration.nodeID {
            metrics.elections.increment()
            logger.notice("became leader", metadata: ["term": "\(term.rawValue)"])
            establishEpochIfNeeded()
        } else if soft.leader == .none {
            logger.info("no leader", metadata: ["term": "\(term.rawValue)", "role": "\(soft.role)"])
        } else {
            logger.info("following", metadata: ["leader": "\(soft.leader)", "term": "\(term.rawValue)"])
        }
        lastLeader = soft.leader
    }
}
