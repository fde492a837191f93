import ChorusCore
import ChorusTesting
import Testing

@testable import ChorusRaft

/// `readRoundsConfirmed` counts heartbeat rounds that confirmed reads, not
/// reads: reads that arrive together share one round (thesis §6.4).
@Suite struct ReadRoundTests {
    @Test func readsThatArriveTogetherShareOneConfirmedRound() throws {
        var environment = InteractionEnvironment()
        func run(_ line: String) throws {
            _ = try environment.handle(DataDrivenScript.parse(line: line, number: 0, file: "ReadRoundTests"))
        }
        try run("add-nodes 3 voters=(1,2,3)")
        try run("campaign 1")
        try run("stabilize")
        #expect(environment.nodes[1]!.role == .leader)
        #expect(environment.nodes[1]!.readRoundsConfirmed == 0)

        for context in 1...5 { try run("read-index 1 \(context)") }
        try run("stabilize")
        #expect(environment.nodes[1]!.readRoundsConfirmed == 1, "five reads, one round")

        try run("read-index 1 6")
        try run("stabilize")
        #expect(environment.nodes[1]!.readRoundsConfirmed == 2)
        // Followers never confirm rounds.
        #expect(environment.nodes[2]!.readRoundsConfirmed == 0)
    }
}

/// Messages no correct peer sends change nothing, even where the codec would
/// already refuse them (the core must not rely on it).
@Suite struct ImpossibleMessageTests {
    @Test func termZeroIsOnlyForForwardedRequests() throws {
        var environment = InteractionEnvironment()
        func run(_ line: String) throws {
            _ = try environment.handle(DataDrivenScript.parse(line: line, number: 0, file: "ImpossibleMessageTests"))
        }
        try run("add-nodes 3 voters=(1,2,3)")
        try run("campaign 1")
        try run("stabilize")
        // A copy of node 2 that stops hearing from the leader times out into
        // an election of its own, at term 1 or later.
        var candidate = environment.nodes[2]!
        for _ in 0..<1_000 where candidate.role == .follower { candidate.tick() }
        #expect(candidate.role != .follower)
        #expect(candidate.term >= 1)
        let (term, role) = (candidate.term, candidate.role)
        candidate.step(RaftMessage(from: 3, to: 2, term: .zero, payload: .heartbeat(.init(commit: 0, round: 1))))
        #expect(candidate.term == term)
        #expect(candidate.role == role)
        var leader = environment.nodes[1]!
        #expect(leader.role == .leader)
        let before = leader.status.followers
        leader.step(RaftMessage(from: 2, to: 1, term: .zero, payload: .appendEntriesResponse(.init(index: 1_000, rejected: false))))
        leader.step(RaftMessage(from: 2, to: 1, term: leader.term, payload: .appendEntriesResponse(.init(index: 1_000, rejected: false))))
        #expect(leader.status.followers == before, "an acknowledgement beyond the leader's log moved a follower")
    }
}
