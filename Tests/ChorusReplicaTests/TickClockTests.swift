import ChorusCore
import ChorusKeyValue
import ChorusMachines
import Testing

@testable import ChorusReplica

/// The replica's time comes from a clock, not from counting timer firings:
/// a pause (SIGSTOP) is counted when the process resumes, and no bound that
/// rests on elapsed time outlives it.
@Suite struct TickClockTests {
    @Test func aTimerThatKeepsTimeCountsOneTickPerFiring() {
        var clock = TickClock(intervalMicroseconds: 10_000, startMicroseconds: 5_000_000)
        let elapsed = (0..<100).map { clock.timerFired(atMicroseconds: 5_000_000 + UInt64($0) * 10_000) }
        #expect(elapsed == Array(repeating: 1, count: 100))
        #expect(clock.catchUp(atMicroseconds: 5_000_000 + 99 * 10_000 + 9_999) == 0, "nothing is due between firings")
    }

    @Test func aLateTimerCountsEveryTickThatPassedAndTheCountNeverFallsBehind() {
        var clock = TickClock(intervalMicroseconds: 10_000, startMicroseconds: 0)
        #expect(clock.timerFired(atMicroseconds: 0) == 1)
        #expect(clock.timerFired(atMicroseconds: 10_000) == 1)
        // Stopped for 5 s: the next firing comes 5 s late and counts 500 ticks.
        #expect(clock.timerFired(atMicroseconds: 5_020_000) == 500)
        #expect(clock.countedTicks >= 5_020_000 / 10_000)
        // A request handled after a second pause, before the timer fires, catches up first.
        #expect(clock.catchUp(atMicroseconds: 8_020_000) == 300)
        #expect(clock.timerFired(atMicroseconds: 8_020_500) == 1, "the firing itself still counts")
        // An early firing (jitter) counts one tick, never zero: time only moves forward.
        #expect(clock.timerFired(atMicroseconds: 8_021_000) == 1)
        #expect(clock.countedTicks >= 8_021_000 / 10_000)
    }

    @Test func aReadingBeforeTheStartCountsNothingBackwards() {
        var clock = TickClock(intervalMicroseconds: 1_000, startMicroseconds: 1_000_000)
        #expect(clock.catchUp(atMicroseconds: 10) == 0)
        #expect(clock.timerFired(atMicroseconds: 10) == 1)
    }

    /// A bounded-staleness read (`max-lag` = 5 ticks) is served from the
    /// latest confirmation while it is recent; after a pause of 100 ticks the
    /// same read must ask the leader again, unless the pause is not counted
    /// (the `paused-time-uncounted` negative control), which serves it stale.
    @Test(arguments: [false, true])
    func aPauseOutlivesTheLatestConfirmation(uncounted: Bool) throws {
        var configuration = ReplicaConfiguration()
        if uncounted { configuration.injectedBug = .pausedTimeUncounted }
        var replica = try RaftReplicaTests.leader(configuration)
        let read = ReadRequirement.boundedStaleness(maximumVersions: nil, maximumLagTicks: 5)
        func roundTrips(_ token: UInt64) -> Int {
            replica.submitRead(.keyValue(.get(key: "a")), requirement: read, token: RequestToken(token))
            let effects = RaftReplicaTests.settle(&replica)
            #expect(effects.contains { if case .readCompleted(RequestToken(token), .success) = $0 { true } else { false } })
            return effects.filter { if case .readIndexRequested = $0 { true } else { false } }.count
        }
        #expect(roundTrips(1) == 1, "no confirmation yet: one round")
        replica.tick()
        #expect(roundTrips(2) == 0, "a confirmation one tick old meets a 5-tick bound")
        replica.tick(elapsedTicks: 100)
        #expect(roundTrips(3) == (uncounted ? 0 : 1), "a confirmation from before a 100-tick pause does not")
    }
}
