import ChorusCore
import ChorusSagas
import Testing

/// The saga going forward: the happy path, a duplicate start, and the
/// requests it renders.
@Suite struct SagaForwardTests {
    @Test func happyPathCompletesWithExactEvents() {
        var saga = SagaHarness()
        #expect(saga.start() == .accepted)
        #expect(saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100) == .accepted)
        #expect(saga.succeed("charge", result: ["chargeId": "c-9"], at: 200) == .accepted)
        #expect(saga.succeed("ship", result: ["tracking": "T1"], at: 300) == .accepted)
        #expect(saga.state.status == .completed)
        #expect(saga.state.finishedAt == 300)
        #expect(
            saga.lines == [
                "started order v1 42",
                "scheduled reserve#1",
                "timer-set 1 timeout reserve#1 due 5000",
                "succeeded reserve#1",
                "scheduled charge#1",
                "timer-set 2 timeout charge#1 due 5100",
                "succeeded charge#1",
                "scheduled ship#1",
                "timer-set 3 timeout ship#1 due 5200",
                "succeeded ship#1",
                "completed",
            ])
        #expect(
            saga.effects.map(\.description) == [
                #"call reserve#1 POST inventory/v1/reservations key=saga-order-42/reserve body={"orderId":"42","items":[{"sku":"tea","quantity":2}]}"#,
                "set timer-1 at 5000",
                "cancel timer-1",
                #"call charge#1 POST payments/v1/charges key=saga-order-42/charge body={"orderId":"42","amount":1250,"reservation":"r-1"}"#,
                "set timer-2 at 5100",
                "cancel timer-2",
                #"call ship#1 POST shipping/v1/shipments/42 key=saga-order-42/ship body={"charge":"c-9"}"#,
                "set timer-3 at 5200",
                "cancel timer-3",
            ])
        #expect(saga.state.timers.isEmpty)
        #expect(saga.state.step("charge")?.result == ["chargeId": "c-9"])
    }

    @Test func aDuplicateStartReturnsTheExistingInstanceAndAppendsNothing() {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        let before = saga.stream
        let callsBefore = saga.calls.count
        #expect(saga.start() == .alreadyStarted)
        #expect(saga.start(input: ["orderId": "other"]) == .alreadyStarted)
        #expect(saga.stream == before)
        #expect(saga.calls.count == callsBefore)
        #expect(saga.state.input == OrderSaga.input)
        // A finished saga answers a start the same way.
        saga.succeed("charge", result: ["chargeId": "c"], at: 200)
        saga.succeed("ship", at: 300)
        #expect(saga.start() == .alreadyStarted)
        #expect(saga.lines.last == "completed")
    }

    @Test func repliesForAFinishedSagaAreIgnored() {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r"], at: 1)
        saga.succeed("charge", result: ["chargeId": "c"], at: 2)
        saga.succeed("ship", at: 3)
        let count = saga.stream.count
        #expect(saga.succeed("ship", at: 4) == .ignored(.sagaFinished))
        #expect(saga.fail("charge", code: "late", at: 5) == .ignored(.sagaFinished))
        #expect(saga.tick(at: 1_000_000) == .ignored(.sagaFinished))
        #expect(saga.send(.cancel(reason: "too late")) == .ignored(.sagaFinished))
        #expect(saga.send(.operatorRetry(note: "")) == .rejected(.notParked(.completed)))
        #expect(saga.stream.count == count)
    }

    @Test func inputsBeforeStartAreRejected() {
        var saga = SagaHarness()
        #expect(saga.tick(at: 5) == .rejected(.unknownSaga))
        #expect(saga.send(.cancel(reason: "")) == .rejected(.unknownSaga))
        #expect(saga.succeed("reserve") == .rejected(.unknownSaga))
        #expect(saga.stream.isEmpty)
    }

    @Test func invalidStartsAreRejected() {
        var saga = SagaHarness()
        var bad = OrderSaga.definition()
        bad.stages[1].steps[0].compensation = OrderSaga.reserve.compensation
        guard case .rejected(.invalidDefinition(let error)) = saga.start(bad) else {
            Issue.record("a pivot with a compensation was accepted")
            return
        }
        #expect(error.reason == .compensationOnPivot("charge"))
        #expect(saga.start(id: "has/slash") == .rejected(.invalidSagaID("has/slash")))
        #expect(saga.start(id: "") == .rejected(.invalidSagaID("")))
        let huge = JSONValue.string(String(repeating: "x", count: SagaLimits.maximumInputBytes))
        #expect(saga.start(input: huge) == .rejected(.inputTooLarge(byteCount: SagaLimits.maximumInputBytes + 2, limit: SagaLimits.maximumInputBytes)))
        #expect(saga.stream.isEmpty)
    }

    @Test func repliesForUnknownStepsOrAttemptsChangeNothing() {
        var saga = SagaHarness()
        saga.start()
        let count = saga.stream.count
        #expect(saga.send(.reply(SagaReply(step: "nope", phase: .action, attempt: 1, outcome: .succeeded(result: nil)))) == .rejected(.unknownStep("nope")))
        #expect(saga.send(.reply(SagaReply(step: "reserve", phase: .action, attempt: 2, outcome: .succeeded(result: nil)))) == .ignored(.staleReply))
        #expect(saga.send(.reply(SagaReply(step: "charge", phase: .action, attempt: 1, outcome: .succeeded(result: nil)))) == .ignored(.staleReply))
        #expect(saga.send(.reply(SagaReply(step: "reserve", phase: .compensation, attempt: 1, outcome: .succeeded(result: nil)))) == .ignored(.staleReply))
        let tooLarge = JSONValue.string(String(repeating: "r", count: SagaLimits.maximumResultBytes))
        #expect(
            saga.succeed("reserve", result: tooLarge)
                == .rejected(.resultTooLarge(byteCount: SagaLimits.maximumResultBytes + 2, limit: SagaLimits.maximumResultBytes)))
        #expect(saga.stream.count == count)
        // A duplicate of a recorded answer is stale too: never two outcomes for one attempt.
        saga.succeed("reserve", result: ["reservationId": "r"], at: 10)
        #expect(saga.succeed("reserve", result: ["reservationId": "other"], at: 11) == .ignored(.staleReply))
        #expect(saga.state.step("reserve")?.result == ["reservationId": "r"])
    }

    @Test func aBodyThatCannotBeRenderedFailsTheStepWithoutACall() {
        var saga = SagaHarness()
        saga.start()
        // The charge body reads steps.reserve.result.reservationId, which this result lacks.
        saga.succeed("reserve", result: ["other": 1], at: 100)
        saga.succeed("reserve", .compensation, at: 200)
        #expect(saga.state.status == .compensated)
        #expect(
            saga.lines(from: 3) == [
                "succeeded reserve#1",
                "rendering-failed charge template_error",
                "aborted step charge failed (template_error)",
                "scheduled reserve/c#1",
                "timer-set 2 timeout reserve/c#1 due 2100",
                "succeeded reserve/c#1",
                "compensated",
            ])
        #expect(!saga.calls.contains { $0.step == "charge" })
        #expect(saga.state.errorHistory.map(\.failure.message) == ["'steps.reserve.result.reservationId' has no value"])
        // The compensation names what it undoes by the action's key, which needs no result.
        #expect(saga.lastCall("reserve", .compensation)?.request.path == "/v1/reservations/saga-order-42%2Freserve")
    }
}
