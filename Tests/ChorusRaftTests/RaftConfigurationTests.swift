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
        #expect(refused { $0.maximumInflightMessages = 0 })
        #expect(refused { $0.maximumMessageBytes = 1 })
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
