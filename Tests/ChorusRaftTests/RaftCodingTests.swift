import ChorusCore
import Testing

@testable import ChorusRaft

@Suite struct RaftCodingTests {
    @Test func entriesHardStatesAndSnapshotsRoundTrip() throws {
        let entries = [
            LogEntry(term: 1, index: 1, payload: .empty),
            LogEntry(term: 2, index: 2, payload: .command(Array("hello".utf8))),
            LogEntry(term: 3, index: 3, payload: .configuration(MembershipConfiguration(voters: [1, 2, 3], learners: [4]))),
        ]
        var writer = ByteWriter()
        for entry in entries { RaftCoding.write(entry, to: &writer) }
        RaftCoding.write(HardState(term: 9, vote: 2, commit: 3), to: &writer)
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: 3, term: 3, configuration: MembershipConfiguration(voters: [1])), data: [1, 2, 3])
        RaftCoding.write(snapshot, to: &writer)
        var reader = ByteReader(writer.bytes)
        for entry in entries { #expect(try RaftCoding.readEntry(&reader) == entry) }
        #expect(try RaftCoding.readHardState(&reader) == HardState(term: 9, vote: 2, commit: 3))
        #expect(try RaftCoding.readSnapshot(&reader) == snapshot)
        #expect(reader.isAtEnd)
    }

    @Test func malformedRecordsAreErrors() {
        // Unknown payload tag.
        var bad = ByteReader([1, 1, 7])
        #expect(throws: BinaryDecodingError.self) { try RaftCoding.readEntry(&bad) }
        // A configuration naming a node as both voter and learner.
        var writer = ByteWriter()
        writer.writeVarint(1)
        writer.writeVarint(1)
        writer.writeVarint(1)
        writer.writeVarint(1)
        var overlapping = ByteReader(writer.bytes)
        #expect(throws: BinaryDecodingError.self) { try RaftCoding.readConfiguration(&overlapping) }
        // Every truncation of a valid entry fails cleanly.
        var full = ByteWriter()
        RaftCoding.write(LogEntry(term: 2, index: 2, payload: .command([1, 2, 3])), to: &full)
        for cut in 0..<full.bytes.count {
            var truncated = ByteReader(Array(full.bytes.prefix(cut)))
            #expect(throws: BinaryDecodingError.self) { try RaftCoding.readEntry(&truncated) }
        }
    }

    @Test func inconsistentRecoveredStatesAreErrors() {
        let configuration = RaftConfiguration(nodeID: 1)
        var gap = RaftPersistentState.bootstrap(voters: [1])
        gap.hardState = HardState(term: 2, vote: 1, commit: 0)
        gap.entries = [LogEntry(term: 1, index: 1, payload: .empty), LogEntry(term: 1, index: 3, payload: .empty)]
        #expect(throws: RaftRecoveryError.self) {
            _ = try RaftNode(configuration: configuration, persistentState: gap, randomSeed: 1)
        }
        var commitBeyond = RaftPersistentState.bootstrap(voters: [1])
        commitBeyond.hardState = HardState(term: 1, vote: 1, commit: 5)
        commitBeyond.entries = [LogEntry(term: 1, index: 1, payload: .empty)]
        #expect(throws: RaftRecoveryError.self) {
            _ = try RaftNode(configuration: configuration, persistentState: commitBeyond, randomSeed: 1)
        }
        // A lost hard-state record behind surviving entries is tolerated: the term is adopted, with no vote.
        var torn = RaftPersistentState.bootstrap(voters: [1])
        torn.hardState = HardState(term: 1, vote: 1, commit: 0)
        torn.entries = [LogEntry(term: 2, index: 1, payload: .empty)]
        let node = try? RaftNode(configuration: configuration, persistentState: torn, randomSeed: 1)
        #expect(node?.term == 2)
        #expect(node?.vote == NodeID.none)
    }
}

@Suite struct RaftAPITests {
    /// A single-voter cluster elects itself, commits its own proposals after
    /// persisting them, and answers reads at once.
    @Test func singleVoterClusterCommitsAndReads() throws {
        var node = try RaftNode(
            configuration: RaftConfiguration(nodeID: 1), persistentState: .bootstrap(voters: [1]), randomSeed: 9)
        node.campaign()
        #expect(node.role == .leader)
        let outcome = try node.propose(Array("x".utf8))
        #expect(outcome == .appended(index: 2, term: 1))
        var applied: [LogEntry] = []
        var reads: [ReadState] = []
        for _ in 0..<5 where node.hasReady {
            let ready = node.ready()
            #expect(ready.messages.isEmpty)
            applied += ready.committedEntries
            reads += ready.readStates
            node.advance(ready)
        }
        #expect(applied.map(\.index) == [1, 2])
        try node.readIndex(context: 42)
        let ready = node.ready()
        #expect(ready.readStates == [ReadState(index: 2, context: 42)])
        node.advance(ready)
        #expect(throws: RaftError.self) { try node.transferLeadership(to: 1) }
        #expect(throws: RaftError.self) { try node.compactLog(through: 9, snapshotData: []) }
        try node.compactLog(through: 2, snapshotData: [1])
        #expect(node.firstIndex == 3)
    }

    @Test func followersRefuseWithALeaderHint() throws {
        var node = try RaftNode(
            configuration: RaftConfiguration(nodeID: 2), persistentState: .bootstrap(voters: [1, 2, 3]), randomSeed: 9)
        #expect(throws: RaftError.notLeader(leaderHint: nil)) { _ = try node.propose([1]) }
        node.step(RaftMessage(
            from: 1, to: 2, term: 1,
            payload: .heartbeat(.init(commit: .zero, round: 1))))
        #expect(throws: RaftError.notLeader(leaderHint: 1)) { _ = try node.propose([1]) }
        #expect(throws: RaftError.notLeader(leaderHint: 1)) { try node.proposeMembershipChange(.addLearner(4)) }
    }

    @Test func readyMustBeAdvancedBeforeTheNext() async {
        await #expect(processExitsWith: .failure) {
            var node = try! RaftNode(
                configuration: RaftConfiguration(nodeID: 1), persistentState: .bootstrap(voters: [1]), randomSeed: 1)
            node.campaign()
            _ = node.ready()
            _ = node.ready()
        }
    }
}
