import ChorusCore
import ChorusTestSupport
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
