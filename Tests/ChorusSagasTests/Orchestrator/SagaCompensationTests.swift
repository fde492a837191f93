import ChorusCore
import ChorusSagas
import Testing

/// Compensations that fail, the graveyard, operators, and parallel groups.
@Suite struct SagaCompensationTests {
    /// reserve succeeded, charge declined: the saga is compensating reserve.
    func compensatingReserve() -> SagaHarness {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        saga.fail("charge", code: "card_declined", at: 200)
        return saga
    }

    @Test func aCompensationFailingThreeTimesParksThenAnOperatorRetryCompensates() {
        var saga = compensatingReserve()
        saga.fail("reserve", .compensation, code: "unavailable", at: 300)
        saga.tick(at: 800)
        saga.fail("reserve", .compensation, code: "unavailable", at: 900)
        saga.tick(at: 1_900)
        saga.fail("reserve", .compensation, code: "db_down", at: 2_000)
        #expect(saga.state.status == .parked(.compensationFailed("reserve"), resumesCompensating: .stepFailed("charge", code: "card_declined")))
        #expect(saga.state.status.name == "parked")
        #expect(saga.state.parkedFailure?.code == "db_down")
        #expect(saga.state.timers.isEmpty)
        #expect(
            saga.state.errorHistory.map { "\($0.step)/\($0.phase)#\($0.attempt) \($0.failure.code) @\($0.at)" } == [
                "charge/action#1 card_declined @200",
                "reserve/compensation#1 unavailable @300",
                "reserve/compensation#2 unavailable @900",
                "reserve/compensation#3 db_down @2000",
            ])
        // Parked sagas ignore time and stale answers; nothing is dropped or retried on its own.
        #expect(saga.tick(at: 1_000_000) == .accepted)
        #expect(saga.lines.last == "parked compensation of reserve failed: db_down")
        #expect(saga.send(.operatorRetry(note: "db restored"), at: 1_000_100) == .accepted)
        saga.succeed("reserve", .compensation, at: 1_000_200)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines(from: 6) == [
                "failed charge#1 card_declined final",
                "aborted step charge failed (card_declined)",
                "scheduled reserve/c#1",
                "timer-set 3 timeout reserve/c#1 due 2200",
                "failed reserve/c#1 unavailable retryable",
                "timer-set 4 retry reserve/c#2 due 800",
                "timer-fired 4",
                "scheduled reserve/c#2",
                "timer-set 5 timeout reserve/c#2 due 2800",
                "failed reserve/c#2 unavailable retryable",
                "timer-set 6 retry reserve/c#3 due 1900",
                "timer-fired 6",
                "scheduled reserve/c#3",
                "timer-set 7 timeout reserve/c#3 due 3900",
                "failed reserve/c#3 db_down retryable",
                "parked compensation of reserve failed: db_down",
                "operator-retried",
                "scheduled reserve/c#4",
                "timer-set 8 timeout reserve/c#4 due 1002100",
                "succeeded reserve/c#4",
                "compensated",
            ])
        let keys = Set(saga.calls.filter { $0.phase == .compensation }.map(\.request.idempotencyKey))
        #expect(keys == ["saga-order-42/reserve/compensation"])
    }

    @Test func aParkedCompensationCanBeResolvedByHand() {
        var policy = OrderSaga.reserve
        policy.compensation!.retry.nonRetryableErrorCodes = ["gone"]
        var saga = SagaHarness()
        saga.start(OrderSaga.definition(reserve: policy))
        saga.succeed("reserve", result: ["reservationId": "r"], at: 100)
        saga.fail("charge", code: "card_declined", at: 200)
        saga.fail("reserve", .compensation, code: "gone", at: 300)
        #expect(saga.state.status.isParked)
        #expect(saga.send(.cancel(reason: "")) == .rejected(.sagaParked))
        #expect(saga.send(.operatorResolve(.failed(code: "x"), note: "")) == .rejected(.resolutionNotAllowed(.compensationFailed("reserve"))))
        #expect(saga.send(.operatorResolve(.succeeded(result: nil), note: "released the stock by hand"), at: 400) == .accepted)
        #expect(saga.state.status == .compensated)
        #expect(saga.state.step("reserve")?.compensation.resolvedByOperator == true)
        #expect(saga.lines.suffix(4) == ["failed reserve/c#1 gone final", "parked compensation of reserve failed: gone", "operator-resolved succeeded", "compensated"])
    }

    @Test func operatorActionsNeedAParkedSaga() {
        var saga = SagaHarness()
        saga.start()
        #expect(saga.send(.operatorRetry(note: "")) == .rejected(.notParked(.running)))
        #expect(saga.send(.operatorResolve(.succeeded(result: nil), note: "")) == .rejected(.notParked(.running)))
        #expect(saga.stream.count == 3)
    }

    /// [hotel | flight | car] → pay (pivot).
    static let trip: SagaDefinition = {
        func booking(_ id: StepID) -> SagaStep {
            SagaStep(
                id: id, kind: .compensatable,
                action: SagaRequestTemplate(participant: "\(id)s", method: .post, path: "/bookings", body: ["trip": "{{input.trip}}"]),
                compensation: SagaCompensation(
                    request: SagaRequestTemplate(participant: "\(id)s", method: .delete, path: "/bookings/{{steps.\(id).idempotencyKey}}")),
                retry: SagaRetryPolicy(maximumAttempts: 1, nonRetryableErrorCodes: ["sold_out"]), attemptTimeoutMilliseconds: 1_000)
        }
        let pay = SagaStep(
            id: "pay", kind: .pivot,
            action: SagaRequestTemplate(
                participant: "payments", method: .post, path: "/charges",
                body: ["hotel": "{{steps.hotel.result}}", "flight": "{{steps.flight.result}}", "car": "{{steps.car.result}}"]))
        return SagaDefinition(name: "trip", version: 1, stages: [.parallel([booking("hotel"), booking("flight"), booking("car")]), .single(pay)])
    }()

    @Test func aParallelGroupCompensatesOnlyItsCompletedMembers() {
        var saga = SagaHarness()
        saga.start(Self.trip, id: "t1", input: ["trip": "rome"])
        #expect(
            saga.lines == [
                "started trip v1 t1",
                "scheduled hotel#1",
                "timer-set 1 timeout hotel#1 due 1000",
                "scheduled flight#1",
                "timer-set 2 timeout flight#1 due 1000",
                "scheduled car#1",
                "timer-set 3 timeout car#1 due 1000",
            ])
        saga.succeed("hotel", result: ["room": 12], at: 100)
        saga.fail("flight", code: "sold_out", at: 200)
        // The car booking is still in flight: the saga waits for its answer before undoing anything.
        #expect(saga.state.status == .compensating(.stepFailed("flight", code: "sold_out")))
        #expect(!saga.calls.contains { $0.phase == .compensation })
        saga.succeed("car", result: ["car": "fiat"], at: 300)
        #expect(saga.state.compensationOrder == ["car", "hotel"])
        saga.succeed("car", .compensation, at: 400)
        saga.succeed("hotel", .compensation, at: 500)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines(from: 7) == [
                "succeeded hotel#1",
                "failed flight#1 sold_out final",
                "aborted step flight failed (sold_out)",
                "succeeded car#1",
                "scheduled car/c#1",
                "timer-set 4 timeout car/c#1 due 10300",
                "succeeded car/c#1",
                "scheduled hotel/c#1",
                "timer-set 5 timeout hotel/c#1 due 10400",
                "succeeded hotel/c#1",
                "compensated",
            ])
        #expect(!saga.calls.contains { $0.step == "flight" && $0.phase == .compensation })
        #expect(!saga.calls.contains { $0.step == "pay" })
    }

    @Test func aParallelMemberThatTimedOutIsCompensatedAndOneThatFailedIsNot() {
        var saga = SagaHarness()
        saga.start(Self.trip, id: "t2", input: ["trip": "oslo"])
        saga.fail("hotel", code: "sold_out", at: 100)
        saga.succeed("flight", result: ["seat": "3A"], at: 200)
        saga.tick(at: 1_000)  // car: no answer, one attempt only: it may have been booked
        #expect(saga.state.compensationOrder == ["car", "flight"])
        #expect(saga.lines(from: 7) == [
            "failed hotel#1 sold_out final",
            "aborted step hotel failed (sold_out)",
            "succeeded flight#1",
            "timer-fired 3",
            "timed-out car#1",
            "scheduled car/c#1",
            "timer-set 4 timeout car/c#1 due 11000",
        ])
        saga.succeed("car", .compensation, at: 1_100)
        saga.succeed("flight", .compensation, at: 1_200)
        #expect(saga.state.status == .compensated)
    }
}
