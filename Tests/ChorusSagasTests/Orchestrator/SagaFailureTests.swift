import ChorusCore
import ChorusSagas
import Testing

/// Failures: before the pivot (compensate in reverse), after it (forward
/// retries only), non-retryable errors, timeouts and late answers.
@Suite struct SagaFailureTests {
    /// reserve → points → charge (pivot) → ship: two compensatable steps, so
    /// the order of compensation is visible.
    static let fourSteps: SagaDefinition = {
        var points = OrderSaga.reserve
        points.id = "points"
        points.action = SagaRequestTemplate(participant: "loyalty", method: .post, path: "/v1/holds", body: ["order": "{{input.orderId}}"])
        points.compensation = SagaCompensation(
            request: SagaRequestTemplate(participant: "loyalty", method: .delete, path: "/v1/holds/{{steps.points.result.holdId}}"),
            retry: SagaRetryPolicy(maximumAttempts: 3), attemptTimeoutMilliseconds: 2_000)
        return SagaDefinition(
            name: "order", version: 1, stages: [.single(OrderSaga.reserve), .single(points), .single(OrderSaga.charge), .single(OrderSaga.ship)])
    }()

    @Test func failureBeforeThePivotCompensatesInReverseOrderOfCompletion() {
        var saga = SagaHarness()
        saga.start(Self.fourSteps)
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 10)
        saga.succeed("points", result: ["holdId": "h-7"], at: 20)
        #expect(saga.fail("charge", code: "card_declined", at: 30) == .accepted)
        #expect(saga.state.status == .compensating(.stepFailed("charge", code: "card_declined")))
        #expect(saga.state.compensationOrder == ["points", "reserve"])
        #expect(saga.lastCall("points", .compensation)?.request.path == "/v1/holds/h-7")
        saga.succeed("points", .compensation, at: 40)
        saga.succeed("reserve", .compensation, at: 50)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines == [
                "started order v1 42",
                "scheduled reserve#1",
                "timer-set 1 timeout reserve#1 due 5000",
                "succeeded reserve#1",
                "scheduled points#1",
                "timer-set 2 timeout points#1 due 5010",
                "succeeded points#1",
                "scheduled charge#1",
                "timer-set 3 timeout charge#1 due 5020",
                "failed charge#1 card_declined final",
                "aborted step charge failed (card_declined)",
                "scheduled points/c#1",
                "timer-set 4 timeout points/c#1 due 2030",
                "succeeded points/c#1",
                "scheduled reserve/c#1",
                "timer-set 5 timeout reserve/c#1 due 2040",
                "succeeded reserve/c#1",
                "compensated",
            ])
        #expect(saga.calls.filter { $0.phase == .compensation }.map(\.request.idempotencyKey) == [
            "saga-order-42/points/compensation", "saga-order-42/reserve/compensation",
        ])
    }

    @Test func failureAfterThePivotOnlyRetriesForwardThenParks() {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        saga.succeed("charge", result: ["chargeId": "c-1"], at: 200)
        saga.fail("ship", code: "unavailable", at: 300)
        saga.tick(at: 1_300)
        saga.fail("ship", code: "unavailable", at: 1_400)
        saga.tick(at: 3_400)
        saga.fail("ship", code: "unavailable", at: 3_500)
        #expect(saga.state.status == .parked(.stepFailed("ship"), resumesCompensating: nil))
        #expect(saga.state.parkedFailure?.code == "unavailable")
        #expect(
            saga.lines(from: 6) == [
                "succeeded charge#1",
                "scheduled ship#1",
                "timer-set 3 timeout ship#1 due 5200",
                "failed ship#1 unavailable retryable",
                "timer-set 4 retry ship#2 due 1300",
                "timer-fired 4",
                "scheduled ship#2",
                "timer-set 5 timeout ship#2 due 6300",
                "failed ship#2 unavailable retryable",
                "timer-set 6 retry ship#3 due 3400",
                "timer-fired 6",
                "scheduled ship#3",
                "timer-set 7 timeout ship#3 due 8400",
                "failed ship#3 unavailable retryable",
                "parked step ship failed after the pivot: unavailable",
            ])
        #expect(!saga.stream.contains { if case .aborted = $0 { true } else { false } })
        #expect(!saga.calls.contains { $0.phase == .compensation })
        #expect(saga.send(.cancel(reason: "")) == .rejected(.sagaParked))
        // An operator retries: fresh attempts, the same idempotency key.
        #expect(saga.send(.operatorRetry(note: "shipping is back"), at: 10_000) == .accepted)
        #expect(saga.lastCall("ship")?.attempt == 4)
        #expect(saga.lastCall("ship")?.request == saga.calls.first { $0.step == "ship" }?.request)
        saga.succeed("ship", at: 10_100)
        #expect(saga.state.status == .completed)
        #expect(saga.lines(from: 21) == ["operator-retried", "scheduled ship#4", "timer-set 8 timeout ship#4 due 15000", "succeeded ship#4", "completed"])
    }

    @Test func anOperatorCanResolveAParkedForwardStepByHand() {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        saga.succeed("charge", result: ["chargeId": "c-1"], at: 200)
        saga.fail("ship", code: "address_invalid", nonRetryable: true, at: 300)
        #expect(saga.state.status == .parked(.stepFailed("ship"), resumesCompensating: nil))
        #expect(saga.send(.operatorResolve(.failed(code: "x"), note: "")) == .rejected(.resolutionNotAllowed(.stepFailed("ship"))))
        #expect(saga.send(.operatorResolve(.succeeded(result: ["tracking": "by hand"]), note: "shipped manually"), at: 400) == .accepted)
        #expect(saga.state.status == .completed)
        #expect(saga.state.step("ship")?.result == ["tracking": "by hand"])
        #expect(saga.lines(from: 9) == ["failed ship#1 address_invalid final", "parked step ship failed after the pivot: address_invalid", "operator-resolved succeeded", "completed"])
    }

    @Test func aNonRetryableErrorGoesStraightToCompensation() {
        var saga = SagaHarness()
        saga.start()
        saga.fail("reserve", code: "out_of_stock", at: 50)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines == [
                "started order v1 42",
                "scheduled reserve#1",
                "timer-set 1 timeout reserve#1 due 5000",
                "failed reserve#1 out_of_stock final",
                "aborted step reserve failed (out_of_stock)",
                "compensated",
            ])
        // The transport's verdict (an HTTP 422) is final too, whatever the policy lists.
        var other = SagaHarness()
        other.start()
        other.succeed("reserve", result: ["reservationId": "r"], at: 10)
        other.send(.reply(SagaReply(step: "charge", phase: .action, attempt: 1, outcome: .classify(status: 422, body: Array(#"{"error":{"code":"amount_invalid","message":"no"}}"#.utf8)))), at: 20)
        #expect(other.lines[6...8] == ["failed charge#1 amount_invalid final", "aborted step charge failed (amount_invalid)", "scheduled reserve/c#1"])
    }

    @Test func retriesFollowThePolicyThenCompensate() {
        var saga = SagaHarness()
        saga.start()
        saga.fail("reserve", code: "unavailable", at: 100)
        saga.tick(at: 1_100)
        saga.fail("reserve", code: "unavailable", at: 1_200)
        saga.tick(at: 3_199)  // not yet due
        #expect(saga.lastCall("reserve")?.attempt == 2)
        saga.tick(at: 3_200)
        saga.fail("reserve", code: "unavailable", at: 3_300)
        // The last answer was retryable, not a refusal: reserve may have been applied.
        #expect(saga.state.status == .compensating(.stepFailed("reserve", code: "unavailable")))
        saga.succeed("reserve", .compensation, at: 3_400)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines(from: 3) == [
                "failed reserve#1 unavailable retryable",
                "timer-set 2 retry reserve#2 due 1100",
                "timer-fired 2",
                "scheduled reserve#2",
                "timer-set 3 timeout reserve#2 due 6100",
                "failed reserve#2 unavailable retryable",
                "timer-set 4 retry reserve#3 due 3200",
                "timer-fired 4",
                "scheduled reserve#3",
                "timer-set 5 timeout reserve#3 due 8200",
                "failed reserve#3 unavailable retryable",
                "aborted step reserve failed (unavailable)",
                "scheduled reserve/c#1",
                "timer-set 6 timeout reserve/c#1 due 5300",
                "succeeded reserve/c#1",
                "compensated",
            ])
        #expect(Set(saga.calls.map(\.request.idempotencyKey)) == ["saga-order-42/reserve", "saga-order-42/reserve/compensation"])
    }

    @Test func aTimedOutAttemptIsRecordedAndItsLateSuccessDiscarded() {
        var saga = SagaHarness()
        saga.start()
        saga.tick(at: 5_000)
        #expect(saga.succeed("reserve", result: ["reservationId": "late"], at: 5_500) == .ignored(.staleReply))
        saga.tick(at: 6_000)
        #expect(saga.lastCall("reserve")?.attempt == 2)
        // Answers for attempt 1 stay discarded once attempt 2 is in flight.
        #expect(saga.send(.reply(SagaReply(step: "reserve", phase: .action, attempt: 1, outcome: .succeeded(result: ["reservationId": "late"]))), at: 6_100) == .ignored(.staleReply))
        saga.succeed("reserve", result: ["reservationId": "r-2"], at: 6_200)
        #expect(
            saga.lines(from: 0) == [
                "started order v1 42",
                "scheduled reserve#1",
                "timer-set 1 timeout reserve#1 due 5000",
                "timer-fired 1",
                "timed-out reserve#1",
                "timer-set 2 retry reserve#2 due 6000",
                "timer-fired 2",
                "scheduled reserve#2",
                "timer-set 3 timeout reserve#2 due 11000",
                "succeeded reserve#2",
                "scheduled charge#1",
                "timer-set 4 timeout charge#1 due 11200",
            ])
        #expect(saga.state.step("reserve")?.result == ["reservationId": "r-2"])
        let reserveCalls = saga.calls.filter { $0.step == "reserve" }
        #expect(reserveCalls.map(\.attempt) == [1, 2])
        #expect(reserveCalls[0].request == reserveCalls[1].request)
    }

    @Test func anAnswerAfterTheTimeoutIsLateEvenWithoutATick() {
        var saga = SagaHarness()
        saga.start()
        // No tick at 5000: the reply at 5001 finds the timeout due and fires it first.
        #expect(saga.succeed("reserve", result: ["reservationId": "r"], at: 5_001) == .ignored(.staleReply))
        #expect(saga.lines(from: 3) == ["timer-fired 1", "timed-out reserve#1", "timer-set 2 retry reserve#2 due 6001"])
    }

    @Test func aStepThatKeepsTimingOutIsCompensatedBecauseItMayHaveBeenApplied() {
        var saga = SagaHarness()
        saga.start()
        saga.tick(at: 5_000)
        saga.tick(at: 6_000)
        saga.tick(at: 11_000)
        saga.tick(at: 13_000)
        saga.tick(at: 18_000)
        #expect(saga.state.status == .compensating(.stepFailed("reserve", code: "timeout")))
        #expect(saga.state.compensationOrder == ["reserve"])
        saga.succeed("reserve", .compensation, at: 18_100)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines(from: 15) == [
                "timer-fired 5",
                "timed-out reserve#3",
                "aborted step reserve failed (timeout)",
                "scheduled reserve/c#1",
                "timer-set 6 timeout reserve/c#1 due 20000",
                "succeeded reserve/c#1",
                "compensated",
            ])
    }

    @Test func aPivotWhoseOutcomeIsUnknownParksAndAnOperatorDecides() {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 0)
        saga.tick(at: 5_000)
        saga.tick(at: 6_000)
        saga.tick(at: 11_000)
        saga.tick(at: 13_000)
        saga.tick(at: 18_000)
        #expect(saga.state.status == .parked(.pivotUncertain("charge"), resumesCompensating: nil))
        #expect(saga.lines.suffix(2) == ["timed-out charge#3", "parked the outcome of pivot charge is unknown: timeout"])
        // The operator checked the payment provider: no charge was made.
        var declined = saga
        #expect(declined.send(.operatorResolve(.failed(code: "not_charged"), note: "checked the provider"), at: 20_000) == .accepted)
        #expect(declined.lines.suffix(4) == ["operator-resolved failed not_charged", "aborted step charge failed (not_charged)", "scheduled reserve/c#1", "timer-set 7 timeout reserve/c#1 due 22000"])
        // Or it was charged: the saga goes forward.
        var charged = saga
        charged.send(.operatorResolve(.succeeded(result: ["chargeId": "c-by-hand"]), note: ""), at: 20_000)
        #expect(charged.state.status == .running)
        #expect(charged.lastCall("ship")?.request.body == ["charge": "c-by-hand"])
        // Or it retries: attempt 4, same key.
        var retried = saga
        retried.send(.operatorRetry(note: ""), at: 20_000)
        #expect(retried.lastCall("charge")?.attempt == 4)
        #expect(retried.lastCall("charge")?.request.idempotencyKey == "saga-order-42/charge")
    }
}
