import ChorusEventStore
import Testing

@testable import ChorusProjections

/// Waits for a position end `reached`, `stalled` or `timedOut`, exactly once each.
@Suite struct PositionWaitsTests {
    static let parked = ParkedEvent(stream: "s", revision: 4, position: 9, type: "E", error: "boom", attempts: 5)

    @Test func outcomesInRegistrationOrder() {
        var waits = PositionWaits(maximumWaiters: 3)
        #expect(waits.register(position: 3, deadlineMilliseconds: 100, passedThrough: .after(3), parked: nil) == .decided(.reached(passedThrough: .after(3))))
        guard case .waiting(let a) = waits.register(position: 5, deadlineMilliseconds: 100, passedThrough: .after(3), parked: nil),
              case .waiting(let b) = waits.register(position: 4, deadlineMilliseconds: 50, passedThrough: .after(3), parked: nil),
              case .waiting(let c) = waits.register(position: 20, deadlineMilliseconds: 200, passedThrough: .after(3), parked: nil)
        else { Issue.record("expected three waits"); return }
        #expect(waits.register(position: 30, deadlineMilliseconds: 1, passedThrough: .after(3), parked: nil) == .refused(maximumWaiters: 3))
        let advanced = waits.settle(through: .after(5))
        #expect(advanced.map(\.0) == [a, b] && advanced.allSatisfy { $0.1 == .reached(passedThrough: .after(5)) })
        #expect(waits.expire(nowMilliseconds: 199, passedThrough: .after(5)).isEmpty)
        #expect(waits.earliestDeadlineMilliseconds == 200)
        let expired = waits.expire(nowMilliseconds: 200, passedThrough: .after(6))
        #expect(expired.map(\.0) == [c] && expired[0].1 == .timedOut(passedThrough: .after(6)) && waits.count == 0)
    }

    @Test func parkingStallsEveryWaitAndLaterOnesAtOnce() {
        var waits = PositionWaits()
        guard case .waiting(let a) = waits.register(position: 12, deadlineMilliseconds: 100, passedThrough: .after(8), parked: nil) else {
            Issue.record("expected a wait"); return
        }
        let stalled = waits.stall(on: Self.parked)
        #expect(stalled.map(\.0) == [a] && stalled[0].1 == .stalled(Self.parked) && waits.count == 0)
        #expect(waits.register(position: 12, deadlineMilliseconds: 100, passedThrough: .after(8), parked: Self.parked) == .decided(.stalled(Self.parked)))
        #expect(waits.register(position: 8, deadlineMilliseconds: 100, passedThrough: .after(8), parked: Self.parked) == .decided(.reached(passedThrough: .after(8))),
                "a position already passed is reached even while parked")
        guard case .waiting(let b) = waits.register(position: 1, deadlineMilliseconds: 5, passedThrough: .start, parked: nil) else { return }
        waits.cancel(b)
        #expect(waits.expire(nowMilliseconds: 10, passedThrough: .start).isEmpty)
    }

    @Test func lagCountsPositionsNotPassedAndTheOldestOnesAge() {
        let now = RecordedTime(microsecondsSinceEpoch: 10_000_000)
        #expect(ProjectionLag.measure(passedThrough: .after(9), headPosition: 10, firstUnpassedRecordedTime: nil, now: now)
            == ProjectionLag(eventsBehind: 0, secondsBehind: 0))
        #expect(ProjectionLag.measure(passedThrough: .after(6), headPosition: 10, firstUnpassedRecordedTime: RecordedTime(microsecondsSinceEpoch: 7_500_000), now: now)
            == ProjectionLag(eventsBehind: 3, secondsBehind: 2.5))
        #expect(ProjectionLag.measure(passedThrough: .start, headPosition: 4, firstUnpassedRecordedTime: RecordedTime(microsecondsSinceEpoch: 11_000_000), now: now)
            == ProjectionLag(eventsBehind: 4, secondsBehind: 0), "a clock behind the leader's never gives a negative lag")
    }
}
