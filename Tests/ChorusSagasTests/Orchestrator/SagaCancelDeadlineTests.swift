import ChorusCore
import ChorusSagas
import Testing

/// Cancellation and the overall deadline: both abort as long as the pivot
/// has not been sent, and never after it succeeded.
@Suite struct SagaCancelDeadlineTests {
    @Test func cancelCompensatesWhatCompletedAndEndsCancelled() {
        var saga = SagaHarness()
        saga.start()
        // reserve is in flight: the cancel waits for its answer, then undoes it.
        #expect(saga.send(.cancel(reason: "customer changed their mind"), at: 50) == .accepted)
        #expect(saga.state.status == .compensating(.cancelled))
        #expect(saga.send(.cancel(reason: "again"), at: 60) == .ignored(.alreadyCompensating))
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        saga.succeed("reserve", .compensation, at: 200)
        #expect(saga.state.status == .cancelled)
        #expect(
            saga.lines == [
                "started order v1 42",
                "scheduled reserve#1",
                "timer-set 1 timeout reserve#1 due 5000",
                "cancel-requested",
                "aborted cancelled",
                "succeeded reserve#1",
                "scheduled reserve/c#1",
                "timer-set 2 timeout reserve/c#1 due 2100",
                "succeeded reserve/c#1",
                "cancelled",
            ])
        #expect(!saga.calls.contains { $0.step == "charge" })
    }

    @Test func cancelAfterThePivotIsRefused() {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r"], at: 10)
        saga.succeed("charge", result: ["chargeId": "c"], at: 20)
        let count = saga.stream.count
        #expect(saga.send(.cancel(reason: "")) == .rejected(.pivotPassed))
        #expect(saga.stream.count == count)
    }

    @Test func cancelWhileThePivotIsInFlightWaitsForItsOutcome() {
        var base = SagaHarness()
        base.start()
        base.succeed("reserve", result: ["reservationId": "r"], at: 10)
        #expect(base.send(.cancel(reason: ""), at: 20) == .accepted)
        #expect(base.send(.cancel(reason: ""), at: 21) == .ignored(.cancelAlreadyRequested))
        #expect(base.state.status == .running)
        #expect(base.lines.suffix(1) == ["cancel-requested"])

        // The charge is declined: the cancel takes effect, and the saga ends cancelled.
        var declined = base
        declined.fail("charge", code: "card_declined", at: 30)
        #expect(declined.lines.suffix(4) == ["failed charge#1 card_declined final", "aborted cancelled", "scheduled reserve/c#1", "timer-set 3 timeout reserve/c#1 due 2030"])
        declined.succeed("reserve", .compensation, at: 40)
        #expect(declined.state.status == .cancelled)

        // The charge went through: there is no going back, the saga completes.
        var charged = base
        charged.succeed("charge", result: ["chargeId": "c"], at: 30)
        charged.succeed("ship", at: 40)
        #expect(charged.state.status == .completed)
        #expect(!charged.calls.contains { $0.phase == .compensation })
    }

    @Test func theDeadlineAbortsBeforeThePivotAndIsDisarmedByIt() {
        var saga = SagaHarness()
        saga.start(OrderSaga.definition(deadlineMilliseconds: 3_000))
        saga.fail("reserve", code: "unavailable", at: 100)
        saga.tick(at: 1_100)
        saga.tick(at: 3_000)
        #expect(saga.state.status == .compensating(.deadlineExceeded))
        #expect(saga.state.deadlineExceeded)
        saga.succeed("reserve", result: ["reservationId": "r"], at: 3_100)
        saga.succeed("reserve", .compensation, at: 3_200)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines == [
                "started order v1 42",
                "timer-set 1 deadline due 3000",
                "scheduled reserve#1",
                "timer-set 2 timeout reserve#1 due 5000",
                "failed reserve#1 unavailable retryable",
                "timer-set 3 retry reserve#2 due 1100",
                "timer-fired 3",
                "scheduled reserve#2",
                "timer-set 4 timeout reserve#2 due 6100",
                "timer-fired 1",
                "aborted deadline exceeded",
                "succeeded reserve#2",
                "scheduled reserve/c#1",
                "timer-set 5 timeout reserve/c#1 due 5100",
                "succeeded reserve/c#1",
                "compensated",
            ])

        // Once the pivot succeeded, the deadline timer is gone.
        var fast = SagaHarness()
        fast.start(OrderSaga.definition(deadlineMilliseconds: 3_000))
        fast.succeed("reserve", result: ["reservationId": "r"], at: 100)
        fast.succeed("charge", result: ["chargeId": "c"], at: 200)
        #expect(fast.effects.contains(.cancelTimer(SagaTimerID(1))))
        #expect(!fast.state.timers.keys.contains(SagaTimerID(1)))
        fast.tick(at: 4_000)
        #expect(fast.state.status == .running)
        #expect(!fast.lines.contains("timer-fired 1"))
    }

    @Test func aRetryWaitingWhenTheSagaAbortsIsDisarmed() {
        var saga = SagaHarness()
        saga.start(SagaFailureTests.fourSteps)
        saga.succeed("reserve", result: ["reservationId": "r"], at: 10)
        saga.fail("points", code: "busy", at: 20)  // a retry timer is set
        #expect(saga.state.timers.values.contains { $0.purpose == .retry(step: "points", phase: .action, attempt: 2) })
        saga.send(.cancel(reason: ""), at: 30)
        #expect(saga.state.timers.values.allSatisfy { $0.purpose != .retry(step: "points", phase: .action, attempt: 2) })
        #expect(saga.effects.contains(.cancelTimer(SagaTimerID(3))))
        // points' only answer was a retryable error, which proves nothing: it
        // is undone too, first, as the most recent. Its compensation reads its
        // result, which it never had: that parks the saga, visibly.
        #expect(saga.state.compensationOrder == ["points", "reserve"])
        #expect(saga.state.status == .parked(.compensationFailed("points"), resumesCompensating: .cancelled))
        #expect(saga.state.parkedFailure?.code == "template_error")
        #expect(saga.lines.suffix(4) == ["cancel-requested", "aborted cancelled", "rendering-failed points/c template_error", "parked compensation of points failed: template_error"])
        saga.tick(at: 2_000)
        #expect(saga.lastCall("points")?.attempt == 1)
        // The operator released the hold by hand; reserve is undone next.
        saga.send(.operatorResolve(.succeeded(result: nil), note: "released the hold"), at: 3_000)
        saga.succeed("reserve", .compensation, at: 3_100)
        #expect(saga.state.status == .cancelled)

        // A non-retryable refusal does prove it: nothing to undo.
        var refused = SagaHarness()
        refused.start(SagaFailureTests.fourSteps)
        refused.succeed("reserve", result: ["reservationId": "r"], at: 10)
        refused.fail("points", code: "out_of_stock", at: 20)
        #expect(refused.state.compensationOrder == ["reserve"])
    }
}
