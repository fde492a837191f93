import ChorusCore

/// The in-memory log of one server: the latest snapshot and every entry after it,
/// with the indices that say how far each part has progressed.
///
///     snapshot.index ≤ applied ≤ committed ≤ lastIndex
///     snapshot.index ≤ stableIndex ≤ lastIndex
///     ┌──────────┬──────────────────────────────────────────────┐
///     │ snapshot │ entries[0] = snapshot.index + 1 …  lastIndex │
///     └──────────┴──────────────────────────────────────────────┘
///
/// The whole uncompacted log stays in memory; the runtime bounds it by taking
/// application snapshots (`RaftNode.compactLog`). `stableIndex` is the last entry
/// the runtime has confirmed durable (via `advance`); entries after it are
/// handed out in the next `Ready` to persist. `applied` is the last entry handed
/// out to be applied.
struct RaftLog: Sendable {
    private(set) var snapshot: Snapshot
    private(set) var entries: [LogEntry]
    private(set) var committed: LogIndex
    var applied: LogIndex
    var stableIndex: LogIndex
    /// (index, configuration) of every configuration entry after the snapshot, ascending.
    private(set) var configurationHistory: [(index: LogIndex, configuration: MembershipConfiguration)]

    init(recovering state: RaftPersistentState) throws(RaftRecoveryError) {
        let snapshotIndex = state.snapshot.metadata.index
        var expected = snapshotIndex.next
        var previousTerm = state.snapshot.metadata.term
        var history: [(index: LogIndex, configuration: MembershipConfiguration)] = []
        for entry in state.entries {
            guard entry.index == expected else {
                throw .inconsistent("entry \(entry.index) found where \(expected) was expected")
            }
            guard entry.term >= previousTerm else {
                throw .inconsistent("entry \(entry.index) has term \(entry.term) after term \(previousTerm)")
            }
            guard entry.term <= state.hardState.term else {
                throw .inconsistent("entry \(entry.index) has term \(entry.term) beyond the hard state's \(state.hardState.term)")
            }
            if case .configuration(let configuration) = entry.payload {
                history.append((entry.index, configuration))
            }
            previousTerm = entry.term
            expected = entry.index.next
        }
        guard state.snapshot.metadata.term <= state.hardState.term else {
            throw .inconsistent("snapshot term \(state.snapshot.metadata.term) beyond the hard state's \(state.hardState.term)")
        }
        let lastIndex = state.entries.last?.index ?? snapshotIndex
        guard state.hardState.commit <= lastIndex else {
            throw .inconsistent("commit index \(state.hardState.commit) beyond the last entry \(lastIndex)")
        }
        snapshot = state.snapshot
        entries = state.entries
        committed = max(state.hardState.commit, snapshotIndex)
        applied = snapshotIndex
        stableIndex = lastIndex
        configurationHistory = history
    }

    var firstIndex: LogIndex { snapshot.metadata.index.next }
    var lastIndex: LogIndex { entries.last?.index ?? snapshot.metadata.index }
    var lastTerm: Term { entries.last?.term ?? snapshot.metadata.term }
    var snapshotIndex: LogIndex { snapshot.metadata.index }

    /// The configuration in force: the latest in the log, else the snapshot's.
    var configuration: MembershipConfiguration {
        configurationHistory.last?.configuration ?? snapshot.metadata.configuration
    }

    /// The index of the latest configuration entry (the snapshot index if none is in the log).
    var configurationIndex: LogIndex { configurationHistory.last?.index ?? snapshot.metadata.index }

    /// The configuration in force at `index` (for a snapshot taken there).
    func configuration(at index: LogIndex) -> MembershipConfiguration {
        var result = snapshot.metadata.configuration
        for record in configurationHistory where record.index <= index { result = record.configuration }
        return result
    }

    /// The term of the entry at `index`, or nil if it is compacted away or beyond the end.
    func term(at index: LogIndex) -> Term? {
        if index == snapshot.metadata.index { return snapshot.metadata.term }
        guard index > snapshot.metadata.index, index <= lastIndex else { return nil }
        return entries[position(of: index)].term
    }

    func entry(at index: LogIndex) -> LogEntry? {
        guard index > snapshot.metadata.index, index <= lastIndex else { return nil }
        return entries[position(of: index)]
    }

    func matchesTerm(at index: LogIndex, _ term: Term) -> Bool { self.term(at: index) == term }

    /// Raft's "at least as up-to-date" comparison (thesis §3.6.1).
    func isUpToDate(lastIndex candidateIndex: LogIndex, lastTerm candidateTerm: Term) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    private func position(of index: LogIndex) -> Int {
        Int(index.rawValue - snapshot.metadata.index.rawValue - 1)
    }

    /// Entries in `from...through`, at most `maximumCount` and about `maximumBytes` (always
    /// at least one if any is in range). Nil if `from` is compacted.
    func entries(from: LogIndex, through: LogIndex, maximumCount: Int, maximumBytes: Int) -> [LogEntry]? {
        guard from > snapshot.metadata.index else { return nil }
        guard from <= through, from <= lastIndex else { return [] }
        let start = position(of: from)
        let end = position(of: min(through, lastIndex))
        var result: [LogEntry] = []
        var bytes = 0
        var current = start
        while current <= end, result.count < maximumCount {
            let size = entries[current].approximateByteCount
            if !result.isEmpty && bytes + size > maximumBytes { break }
            result.append(entries[current])
            bytes += size
            current += 1
        }
        return result
    }

    /// The fast-backtracking probe (etcd's `findConflictByTerm`): the largest
    /// index ≤ `index` whose term is ≤ `term`, with that term. Every entry above
    /// it has a larger term than `term`, so none of them can match.
    func conflictHint(atOrBelow index: LogIndex, term: Term) -> (index: LogIndex, term: Term) {
        var current = min(index, lastIndex)
        while current > snapshot.metadata.index {
            let currentTerm = entries[position(of: current)].term
            if currentTerm <= term { return (current, currentTerm) }
            current = current.previous
        }
        // At or below the snapshot: report the snapshot boundary, which matches everywhere it exists.
        return (current, snapshot.metadata.term)
    }

    /// Appends `newEntries` after `previousIndex`, truncating any conflicting
    /// suffix (thesis §3.5 step 3–4). Entries already present with the same
    /// term are kept. Returns the index of the first entry written, or nil if
    /// nothing changed. Traps if a conflict would truncate a committed entry.
    mutating func append(after previousIndex: LogIndex, _ newEntries: [LogEntry]) -> LogIndex? {
        var skip = 0
        for entry in newEntries {
            if entry.index <= snapshot.metadata.index {
                skip += 1
                continue
            }
            guard let existing = term(at: entry.index) else { break }
            if existing != entry.term { break }
            skip += 1
        }
        guard skip < newEntries.count else { return nil }
        let first = newEntries[skip].index
        precondition(first > committed, "log matching violated: entry \(first) conflicts with committed prefix \(committed)")
        precondition(first <= lastIndex.next, "append leaves a gap: \(first) after \(lastIndex)")
        truncate(from: first)
        for entry in newEntries[skip...] { appendOne(entry) }
        return first
    }

    /// Appends one entry at the end (the leader's own proposals).
    mutating func appendOne(_ entry: LogEntry) {
        precondition(entry.index == lastIndex.next, "appended \(entry.index) after \(lastIndex)")
        precondition(entry.term >= lastTerm, "appended term \(entry.term) after term \(lastTerm)")
        entries.append(entry)
        if case .configuration(let configuration) = entry.payload {
            configurationHistory.append((entry.index, configuration))
        }
    }

    private mutating func truncate(from index: LogIndex) {
        guard index <= lastIndex else { return }
        precondition(index > committed, "truncating committed entry \(index) (commit \(committed))")
        entries.removeSubrange(position(of: index)...)
        while let last = configurationHistory.last, last.index >= index { configurationHistory.removeLast() }
        if stableIndex >= index { stableIndex = index.previous }
    }

    mutating func commit(to index: LogIndex) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond last index \(lastIndex)")
        committed = index
    }

    /// Discards entries through `index`, which becomes the new snapshot.
    mutating func compact(through index: LogIndex, data: [UInt8]) {
        precondition(index > snapshot.metadata.index && index <= applied, "compaction out of range")
        guard let term = term(at: index) else { preconditionFailure("compacting a missing entry \(index)") }
        let configuration = configuration(at: index)
        entries.removeSubrange(0...position(of: index))
        configurationHistory.removeAll { $0.index <= index }
        snapshot = Snapshot(metadata: SnapshotMetadata(index: index, term: term, configuration: configuration), data: data)
    }

    /// Replaces the whole log by a snapshot received from the leader (thesis §5.3 step 7–8).
    mutating func restore(_ newSnapshot: Snapshot) {
        precondition(newSnapshot.metadata.index > committed, "restoring a snapshot at or below the commit index")
        snapshot = newSnapshot
        entries = []
        configurationHistory = []
        committed = newSnapshot.metadata.index
        applied = newSnapshot.metadata.index
        stableIndex = newSnapshot.metadata.index
    }

    /// O(n) structural checks, for debug builds and the simulator.
    func checkStructure() {
        var expected = snapshot.metadata.index.next
        var previousTerm = snapshot.metadata.term
        var configurationCount = 0
        for entry in entries {
            precondition(entry.index == expected, "log hole: \(entry.index) where \(expected) was expected")
            precondition(entry.term >= previousTerm, "log terms decrease at \(entry.index)")
            if case .configuration(let configuration) = entry.payload {
                precondition(
                    configurationCount < configurationHistory.count
                        && configurationHistory[configurationCount].index == entry.index
                        && configurationHistory[configurationCount].configuration == configuration,
                    "configuration history out of step at \(entry.index)")
                configurationCount += 1
            }
            previousTerm = entry.term
            expected = entry.index.next
        }
        precondition(configurationCount == configurationHistory.count, "configuration history has stale records")
    }
}
