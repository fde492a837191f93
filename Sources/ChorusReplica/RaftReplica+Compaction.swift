import ChorusCore
import ChorusRaft

/// Snapshots of the machines and compaction of the log behind them (thesis §5.1).
extension RaftReplica {
    /// Asks the runtime to serialize a copy of the machines once enough
    /// entries are applied past the last snapshot. The copy is O(1) here
    /// (copy-on-write); serializing it is the expensive part, which the node
    /// does off its event loop.
    mutating func maybeStartCompaction() {
        guard readyInFlight == nil, !compactionInProgress, checkpointsInFlight == 0, preparedSnapshot == nil else { return }
        let applied = machine.appliedIndex
        guard applied == raft.appliedIndex,
            applied.rawValue >= raft.snapshotMetadata.index.rawValue + UInt64(configuration.snapshotThresholdEntries)
        else { return }
        compactionInProgress = true
        effects.append(.prepareSnapshot(machine, index: applied))
    }

    /// The runtime serialized the machines as they were at `index`; the log is
    /// compacted behind it at the next gap between `Ready`s.
    public mutating func snapshotPrepared(index: LogIndex, data: [UInt8]) {
        guard stopReason == nil else { return }
        defer { checkInvariants() }
        precondition(compactionInProgress, "snapshotPrepared without a prepareSnapshot effect")
        preparedSnapshot = (index, data)
        if readyInFlight == nil { completeCompaction() }
    }

    /// Serializing the machines failed (the runtime's thread pool refused the
    /// work); compaction is tried again later.
    public mutating func snapshotFailed() {
        compactionInProgress = false
        preparedSnapshot = nil
    }

    /// A checkpoint the runtime was asked to save is durable.
    public mutating func checkpointSaved() {
        guard stopReason == nil else { return }
        defer { checkInvariants() }
        precondition(checkpointsInFlight > 0, "checkpointSaved without a saveCheckpoint effect")
        checkpointsInFlight -= 1
    }

    /// Compacts the core's log through the prepared snapshot and asks the
    /// runtime to save a checkpoint that covers every record written so far:
    /// all of them are durable, since records are written only by the `Ready`
    /// in flight and there is none.
    mutating func completeCompaction() {
        precondition(readyInFlight == nil, "compaction between Readies only")
        guard let prepared = preparedSnapshot else { return }
        preparedSnapshot = nil
        compactionInProgress = false
        do {
            try raft.compactLog(through: prepared.index, snapshotData: prepared.data)
        } catch {
            // A snapshot from the leader may have overtaken this one.
            return
        }
        let entries = raft.entries.filter { $0.index <= durableLastIndex }
        let lastIndex = entries.last?.index ?? prepared.index
        let commit = min(max(durableHardState.commit, prepared.index), lastIndex)
        checkpointsInFlight += 1
        effects.append(.saveCheckpoint(CheckpointRequest(
            hardState: HardState(
                term: durableHardState.term, vote: durableHardState.vote, commit: commit,
                votingSuspendedThrough: durableHardState.votingSuspendedThrough),
            snapshot: Snapshot(metadata: raft.snapshotMetadata, data: prepared.data), entries: entries)))
    }
}
