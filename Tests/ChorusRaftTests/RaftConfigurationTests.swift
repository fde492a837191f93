import ChorusCore
import Testing

@testable import ChorusRaft

@Suite struct RaftConfigurationTests {
    @Test func defaultsAreValidAndRelated() throws {
        var configuration = RaftConfiguration(nodeID: 1)
        try configuration.validate()
        // A healthy leader's heartbeats always beat the followers' election timers.
        #expect(configuration.heartbeatIntervalTicks < configuration.electionTimeoutTicks)
        // The default lease is within the drift bound, so lease mode validates too.
        configuration.readMode = .lease
        try configuration.validate()
        #expect(configuration.leaseDurationTicks < configuration.electionTimeoutTicks)
        #expect(
            configuration.leaseDurationTicks
                <= RaftConfiguration.leaseDurationTicksMaximum(
                    electionTimeoutTicks: configuration.electionTimeoutTicks,
                    clockDriftBoundPartsPerThousand: configuration.clockDriftBoundPartsPerThousand))
    }

    /// The lease bound: L·(1000 + ρ) ≤ (E − 2)·(1000 − ρ), always below E, and
    /// shrinking as the drift bound grows.
    @Test func leaseBoundRelations() {
        for election in 3...200 {
            var previous = Int.max
            for drift in stride(from: 0, through: 500, by: 25) {
                let bound = RaftConfiguration.leaseDurationTicksMaximum(
                    electionTimeoutTicks: election, clockDriftBoundPartsPerThousand: drift)
                #expect(bound < election, "E=\(election) ρ=\(drift)")
                #expect(bound * (1000 + drift) <= (election - 2) * (1000 - drift), "E=\(election) ρ=\(drift)")
                #expect((bound + 1) * (1000 + drift) > (election - 2) * (1000 - drift), "E=\(election) ρ=\(drift) not tight")
                #expect(bound <= previous)
                previous = bound
            }
        }
        #expect(RaftConfiguration.leaseDurationTicksMaximum(electionTimeoutTicks: 10, clockDriftBoundPartsPerThousand: 50) == 7)
    }

    @Test func invalidConfigurationsAreRefusedWithReasons() {
        func refused(_ change: (inout RaftConfiguration) -> Void) -> Bool {
            var configuration = RaftConfiguration(nodeID: 1)
            change(&configuration)
            do {
                try configuration.validate()
                return false
            } catch {
                return !error.description.isEmpty
            }
        }
        #expect(refused { $0.nodeID = .none })
        #expect(refused { $0.electionTimeoutTicks = 2 })
        #expect(refused { $0.heartbeatIntervalTicks = $0.electionTimeoutTicks })
        #expect(refused { $0.maxInflightMessages = 0 })
        #expect(refused { $0.maxMessageBytes = 1 })
        #expect(refused { $0.readMode = .lease; $0.leaseDurationTicks = $0.electionTimeoutTicks })
        #expect(refused { $0.readMode = .lease; $0.checkQuorumEnabled = false })
        #expect(refused { $0.readMode = .lease; $0.leaseDurationTicks = $0.heartbeatIntervalTicks })
        #expect(refused { $0.clockDriftBoundPartsPerThousand = 600 })
        // A lease longer than the bound is fine as long as leases are not used.
        #expect(!refused { $0.leaseDurationTicks = 9 })
    }

    @Test func aNodeRefusesAnInvalidConfiguration() {
        var configuration = RaftConfiguration(nodeID: 1)
        configuration.heartbeatIntervalTicks = 50
        #expect(throws: RaftRecoveryError.self) {
            _ = try RaftNode(configuration: configuration, persistentState: .bootstrap(voters: [1]), randomSeed: 1)
        }
    }
}

@Suite struct QuorumTests {
    /// Against a dumb reference: the committed index is the largest value that
    /// at least a majority of matches reach.
    @Test func committedIndexMatchesReference() {
        let seed: UInt64 = 2024
        var random = SeededGenerator(seed: seed)
        for round in 0..<2_000 {
            let count = 1 + Int(random.next() % 7)
            let matches = (0..<count).map { _ in LogIndex(random.next() % 20) }
            let reference = matches.filter { candidate in
                matches.filter { $0 >= candidate }.count >= count / 2 + 1
            }.max()!
            #expect(Quorum.committedIndex(matches) == reference, "seed \(seed) round \(round): \(matches)")
        }
    }

    @Test func voteResults() {
        let voters: [NodeID] = [1, 2, 3, 4, 5]
        #expect(Quorum.voteResult(voters: voters, granted: [1, 2], rejected: []) == .pending)
        #expect(Quorum.voteResult(voters: voters, granted: [1, 2, 3], rejected: []) == .won)
        #expect(Quorum.voteResult(voters: voters, granted: [1], rejected: [2, 3, 4]) == .lost)
        // Votes from non-voters do not count.
        #expect(Quorum.voteResult(voters: voters, granted: [1, 2, 9], rejected: []) == .pending)
        #expect(Quorum.voteResult(voters: [1], granted: [1], rejected: []) == .won)
    }

    /// Single-server changes keep any old majority and any new majority overlapping.
    @Test func singleServerChangesOverlap() {
        let start = MembershipConfiguration(voters: [1, 2, 3])
        for change in [MembershipChange.removeMember(2), .addLearner(4)] {
            guard case .success(let next) = start.applying(change) else {
                Issue.record("\(change) refused")
                continue
            }
            #expect(start.differsByAtMostOneVoter(from: next))
        }
        guard case .success(let withLearner) = start.applying(.addLearner(4)),
            case .success(let promoted) = withLearner.applying(.promoteLearner(4))
        else {
            Issue.record("promotion refused")
            return
        }
        #expect(promoted.voters == [1, 2, 3, 4])
        #expect(start.quorumSize + promoted.quorumSize > promoted.voters.count)
    }
}

@Suite struct InflightWindowTests {
    @Test func boundedRing() {
        var window = InflightWindow(capacity: 3)
        window.add(5)
        window.add(7)
        window.add(9)
        #expect(window.isFull)
        window.free(upTo: 6)
        #expect(window.count == 2)
        window.add(11)
        #expect(window.isFull)
        window.freeFirst()
        #expect(window.count == 2)
        window.free(upTo: 100)
        #expect(window.count == 0)
        window.add(12)
        window.reset()
        #expect(window.count == 0)
    }
}
