import ChorusCore
import ChorusRaft
import Testing

@testable import ChorusWire

@Suite struct PersistenceRecordTests {
    @Test(arguments: 1...10 as ClosedRange<UInt64>)
    func recordsAndCheckpointsRoundTrip(seed: UInt64) throws {
        var generator = WireValueGenerator(seed: seed)
        for round in 0..<100 {
            let term = Term(max(generator.number(), 1))
            // Every other round suspends votes through an earlier term (record tag 4, checkpoint format 2).
            let suspended = round % 2 == 0 ? Term.zero : Term(generator.number() % term.rawValue)
            let hardState = HardState(
                term: term, vote: generator.node(), commit: LogIndex(generator.number()), votingSuspendedThrough: suspended)
            let snapshot = generator.snapshot(maximumTerm: 50)
            let entries = generator.entries(after: snapshot.metadata.index, previousTerm: snapshot.metadata.term, maximumTerm: 60)
            for record in [PersistenceRecord.hardState(hardState), .entries(entries), .snapshot(snapshot)] {
                #expect(try PersistenceRecord(decoding: record.encoded()) == record, "seed \(seed) round \(round)")
            }
            let checkpoint = Checkpoint(hardState: hardState, snapshot: snapshot, entries: entries)
            #expect(try Checkpoint(decoding: checkpoint.encoded()) == checkpoint, "seed \(seed) round \(round)")
        }
    }

    /// A hard state without a suspension is written exactly as before
    /// suspensions existed (tag 1, checkpoint format 1), so old logs read back
    /// unchanged; a suspension takes tag 4 and format 2, and must lie below the term.
    @Test func suspensionsAreEncodedOnlyWhenPresent() throws {
        let plain = HardState(term: 7, vote: 2, commit: 5)
        #expect(PersistenceRecord.hardState(plain).encoded() == [1, 7, 2, 5])
        let suspended = HardState(term: 7, vote: 0, commit: 5, votingSuspendedThrough: 6)
        #expect(PersistenceRecord.hardState(suspended).encoded() == [4, 7, 0, 5, 6])
        #expect(try PersistenceRecord(decoding: [4, 7, 0, 5, 6]) == .hardState(suspended))
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 0, term: 0, configuration: .empty), data: [])
        #expect(Checkpoint(hardState: plain, snapshot: snapshot, entries: []).encoded().first == 1)
        #expect(Checkpoint(hardState: suspended, snapshot: snapshot, entries: []).encoded().first == 2)
        // Suspended through the current term or later, or through term 0 under tag 4: refused.
        #expect(throws: WireError.self) { try PersistenceRecord(decoding: [4, 7, 0, 5, 7]) }
        #expect(throws: WireError.self) { try PersistenceRecord(decoding: [4, 7, 0, 5, 0]) }
    }

    @Test func laterRecordsSupersedeEarlierOnes() throws {
        let configuration = MembershipConfiguration(voters: [1, 2, 3])
        let bootstrap = RaftPersistentState.bootstrap(voters: [1, 2, 3])
        var state = RecoveredRaftState(checkpoint: nil, initial: bootstrap)
        func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [LogEntry] {
            range.map { LogEntry(term: Term(term), index: LogIndex($0), payload: .command([UInt8($0)])) }
        }
        try state.apply(.hardState(HardState(term: 1, vote: 1, commit: 0)))
        try state.apply(.entries(entries(1...5, term: 1)))
        // A conflicting suffix from index 4 replaces 4 and 5.
        try state.apply(.entries(entries(4...6, term: 2)))
        try state.apply(.hardState(HardState(term: 2, vote: 2, commit: 3)))
        #expect(state.entries.map(\.index.rawValue) == [1, 2, 3, 4, 5, 6])
        #expect(state.entries.map(\.term.rawValue) == [1, 1, 1, 2, 2, 2])
        #expect(state.hardState == HardState(term: 2, vote: 2, commit: 3))
        // A gap is damage, reported as an error.
        #expect(throws: WireError.self) { try state.apply(.entries(entries(9...9, term: 2))) }
        // A snapshot from the leader replaces the whole log.
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 10, term: 2, configuration: configuration), data: [1])
        try state.apply(.snapshot(snapshot))
        #expect(state.entries.isEmpty)
        #expect(state.lastIndex == 10)
        // Entries the snapshot covers are skipped; the rest continue after it.
        try state.apply(.entries(entries(9...12, term: 2)))
        #expect(state.entries.map(\.index.rawValue) == [11, 12])
        // What comes out is something a RaftNode accepts.
        _ = try RaftNode(
            configuration: RaftConfiguration(nodeID: 1), persistentState: state.persistentState, randomSeed: 1)
    }

    @Test func checkpointsMustContinueTheirSnapshot() throws {
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: 5, term: 1, configuration: MembershipConfiguration(voters: [1])), data: [])
        let bad = Checkpoint(
            hardState: HardState(term: 1), snapshot: snapshot, entries: [LogEntry(term: 1, index: 7, payload: .empty)])
        #expect(throws: WireError.self) { try Checkpoint(decoding: bad.encoded()) }
    }
}
