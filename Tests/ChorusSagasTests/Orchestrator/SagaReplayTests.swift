import ChorusCore
import ChorusSagas
import Testing

/// The state is a fold of the stream: crashes, leader changes and replays.
@Suite struct SagaReplayTests {
    /// A run that touches most rules: a timeout, a late answer, retries, a
    /// declined pivot, a compensation that parks, an operator retry.
    static func recordedRun() -> SagaHarness {
        var saga = SagaHarness()
        saga.start(SagaFailureTests.fourSteps, id: "7")
        saga.tick(at: 5_000)
        saga.succeed("reserve", result: ["reservationId": "late"], at: 5_100)
        saga.tick(at: 6_000)
        saga.succeed("reserve", result: ["reservationId": "r-7"], at: 6_100)
        saga.fail("points", code: "busy", at: 6_200)
        saga.tick(at: 7_200)
        saga.succeed("points", result: ["holdId": "h-7"], at: 7_300)
        saga.fail("charge", code: "card_declined", at: 7_400)
        saga.fail("points", .compensation, code: "down", at: 7_500)
        saga.tick(at: 8_500)
        saga.tick(at: 10_500)
        saga.tick(at: 14_500)
        saga.tick(at: 16_500)
        saga.send(.operatorRetry(note: "fixed"), at: 20_000)
        saga.succeed("points", .compensation, at: 20_100)
        saga.succeed("reserve", .compensation, at: 20_200)
        return saga
    }

    @Test func theRecordedRunEndsCompensatedAfterAnOperatorRetry() {
        let saga = Self.recordedRun()
        #expect(saga.state.status == .compensated)
        #expect(saga.lines.contains("parked compensation of points failed: timeout"))
        #expect(saga.stream.count == 46)
    }

    @Test func replayingEachRecordedInputOnTheFoldedPrefixGivesTheSameDecision() throws {
        let saga = Self.recordedRun()
        var prefix: [SagaEvent] = []
        for (index, decision) in saga.decisions.enumerated() {
            let rebuilt = try SagaOrchestrator(replaying: prefix)
            let replayed = rebuilt.decide(decision.input, now: decision.now)
            #expect(replayed.events == decision.events, "decision \(index)")
            prefix += decision.events
        }
        #expect(prefix == saga.stream)
        #expect(try SagaOrchestrator(replaying: saga.stream).state == saga.state)
    }

    @Test func replayingTheInputsFromScratchGivesTheSameStream() {
        let recorded = Self.recordedRun()
        var again = SagaHarness()
        for decision in recorded.decisions { again.send(decision.input, at: decision.now) }
        #expect(again.stream == recorded.stream)
        #expect(again.effects == recorded.effects)
    }

    @Test func theRecordedStreamSurvivesTheEventCodec() throws {
        let saga = Self.recordedRun()
        let decoded = try saga.stream.map { event in try SagaEvent(decoding: event.encoded()) }
        #expect(decoded == saga.stream)
        #expect(try SagaState(replaying: decoded) == saga.state)
    }

    @Test func aTimerSurvivesACrashAndFiresOnce() throws {
        var saga = SagaHarness()
        saga.start()
        saga.fail("reserve", code: "unavailable", at: 100)
        // Crash: the process is gone; a new one folds the stream.
        var rebuilt = try SagaHarness(replaying: saga.stream, now: 500)
        #expect(rebuilt.state == saga.state)
        #expect(rebuilt.effects == [.setTimer(SagaTimerID(2), dueAt: 1_100)])
        var original = saga
        original.tick(at: 1_100)
        rebuilt.tick(at: 1_100)
        #expect(rebuilt.stream == original.stream)
        #expect(rebuilt.lines.suffix(4) == ["timer-set 2 retry reserve#2 due 1100", "timer-fired 2", "scheduled reserve#2", "timer-set 3 timeout reserve#2 due 6100"])
        // A second crash after the firing: the timer is not armed any more.
        var again = try SagaHarness(replaying: rebuilt.stream, now: 1_200)
        #expect(!again.effects.contains(.setTimer(SagaTimerID(2), dueAt: 1_100)))
        again.tick(at: 1_300)
        #expect(again.lines.filter { $0 == "timer-fired 2" }.count == 1)
        #expect(again.stream == rebuilt.stream)
    }

    @Test func aNewLeaderResendsTheCallInFlightWithTheSameKey() throws {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        let sent = saga.lastCall("charge")!
        let leader = try SagaHarness(replaying: saga.stream, now: 2_000)
        #expect(leader.effects == [.setTimer(SagaTimerID(2), dueAt: 5_100), .call(sent)])
        #expect(sent.request.idempotencyKey == "saga-order-42/charge")
        // The answer to the re-sent call is the answer to attempt 1: recorded once.
        var continued = leader
        continued.succeed("charge", result: ["chargeId": "c"], at: 2_100)
        #expect(continued.lines.filter { $0.hasPrefix("succeeded charge") } == ["succeeded charge#1"])
        #expect(continued.succeed("charge", result: ["chargeId": "c"], at: 2_200) == .ignored(.staleReply))
    }

    /// A payment service that applies each key once and replays its answer.
    struct IdempotentParticipant {
        var answers: [String: JSONValue] = [:]
        var applied: [String] = []

        mutating func handle(_ call: SagaCall) -> JSONValue {
            if let stored = answers[call.request.idempotencyKey] { return stored }
            applied.append(call.request.idempotencyKey)
            let result: JSONValue = ["chargeId": .string("c-\(applied.count)")]
            answers[call.request.idempotencyKey] = result
            return result
        }
    }

    @Test func aCrashBetweenTheParticipantsSuccessAndItsRecordingChargesOnce() throws {
        var saga = SagaHarness()
        saga.start()
        saga.succeed("reserve", result: ["reservationId": "r-1"], at: 100)
        var payments = IdempotentParticipant()
        _ = payments.handle(saga.lastCall("charge")!)  // applied; the reply dies with the leader
        var leader = try SagaHarness(replaying: saga.stream, now: 1_000)
        let resent = leader.calls.single
        #expect(resent == saga.lastCall("charge"))
        let answer = payments.handle(resent!)
        leader.succeed("charge", result: answer, at: 1_100)
        leader.succeed("ship", at: 1_200)
        #expect(leader.state.status == .completed)
        #expect(payments.applied == ["saga-order-42/charge"])
        #expect(leader.state.step("charge")?.result == ["chargeId": "c-1"])
        #expect(leader.lines.filter { $0.hasPrefix("succeeded charge") } == ["succeeded charge#1"])
    }

    @Test func aCrashDuringCompensationResumesIt() throws {
        var saga = SagaHarness()
        saga.start(SagaFailureTests.fourSteps)
        saga.succeed("reserve", result: ["reservationId": "r"], at: 10)
        saga.succeed("points", result: ["holdId": "h"], at: 20)
        saga.fail("charge", code: "card_declined", at: 30)
        saga.succeed("points", .compensation, at: 40)
        // reserve's compensation is in flight when the leader dies.
        let inFlight = saga.lastCall("reserve", .compensation)!
        var leader = try SagaHarness(replaying: saga.stream, now: 500)
        #expect(leader.effects == [.setTimer(SagaTimerID(5), dueAt: 2_040), .call(inFlight)])
        leader.succeed("reserve", .compensation, at: 600)
        #expect(leader.state.status == .compensated)
        #expect(leader.lines.suffix(2) == ["succeeded reserve/c#1", "compensated"])
        #expect(leader.lines.filter { $0.hasPrefix("scheduled points/c") }.count == 1)
    }

    @Test func resumptionRepeatsPendingLockRequestsAndReleases() throws {
        var saga = SagaHarness()
        saga.start(OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait), deadlineMilliseconds: 1_000))
        #expect(saga.state.locks["sku:tea"]?.state == .requested)
        let waiting = try SagaHarness(replaying: saga.stream, now: 10)
        #expect(waiting.effects == [
            .setTimer(SagaTimerID(1), dueAt: 1_000),
            .acquireLock(name: "sku:tea", owner: "saga-order-42", expiryMilliseconds: 30_000, contention: .wait),
        ])
        saga.tick(at: 1_000)
        let finished = try SagaHarness(replaying: saga.stream, now: 1_001)
        #expect(finished.effects == [.releaseLock(name: "sku:tea", owner: "saga-order-42")])
    }

    @Test func aDecisionTakesEffectOnlyOnceAppended() {
        let orchestrator = SagaOrchestrator()
        let first = orchestrator.decide(.start(definition: OrderSaga.definition(), sagaID: "42", input: OrderSaga.input), now: 0)
        #expect(first.expectedRevision == .noStream)
        #expect(orchestrator.state.status == .notStarted)
        let second = orchestrator.decide(.start(definition: OrderSaga.definition(), sagaID: "42", input: OrderSaga.input), now: 0)
        #expect(first == second)
    }

    /// Two leaders decide on the same revision; the store takes one append.
    /// The other reloads, decides again, and the reply is stale: one outcome.
    @Test func aConflictingAppendIsDecidedAgainOnTheNewerStream() throws {
        var saga = SagaHarness()
        saga.start()
        var store = saga.stream
        func append(_ decision: SagaDecision) -> Bool {
            guard decision.expectedRevision == .exact(UInt64(store.count - 1)) else { return false }
            store += decision.events
            return true
        }
        let reply = SagaInput.reply(SagaReply(step: "reserve", phase: .action, attempt: 1, outcome: .succeeded(result: ["reservationId": "r"])))
        let old = try SagaOrchestrator(replaying: store)
        let new = try SagaOrchestrator(replaying: store)
        #expect(append(new.decide(reply, now: 100)))
        let lost = old.decide(reply, now: 101)
        #expect(!append(lost))
        let reloaded = try SagaOrchestrator(replaying: store)
        let retried = reloaded.decide(reply, now: 101)
        #expect(retried.response == .ignored(.staleReply))
        #expect(retried.events.isEmpty)
        #expect(store.filter { if case .succeeded = $0 { true } else { false } }.count == 1)
    }

    @Test func theFoldRefusesStreamsTheOrchestratorCouldNotHaveWritten() throws {
        let saga = Self.recordedRun()
        let stream = saga.stream
        func refusal(_ events: [SagaEvent]) -> String? {
            do {
                _ = try SagaState(replaying: events)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(refusal(Array(stream.dropFirst())) == "saga stream event 0 does not fit the saga's state: SagaStepScheduled before started")
        #expect(refusal([stream[0], stream[0]]) == "saga stream event 1 does not fit the saga's state: a second started event")
        // Two outcomes for one attempt.
        let outcome = SagaEvent.succeeded(step: "reserve", phase: .action, attempt: 1, result: nil, at: 1)
        #expect(refusal(Array(stream.prefix(3)) + [outcome, outcome])?.contains("attempt 1 succeeded while succeeded") == true)
        // A retry that changes its request.
        var changed = Array(stream.prefix(8))
        guard case .scheduled(let step, let phase, let attempt, var request, let at) = changed[7] else {
            Issue.record("expected the retry of reserve at 7, got \(changed[7].summary)")
            return
        }
        request.idempotencyKey = "fresh"
        changed[7] = .scheduled(step: step, phase: phase, attempt: attempt, request: request, at: at)
        #expect(refusal(changed)?.contains("changed its request") == true)
        // Anything after the end.
        #expect(refusal(stream + [.tick(at: 1)])?.contains("after the saga finished") == true)
    }
}

extension Array {
    /// The only element, or nil if there are none or several.
    var single: Element? { count == 1 ? first : nil }
}

extension SagaEvent {
    /// A stand-in event for "anything": a timer that was never set.
    static func tick(at: UInt64) -> SagaEvent { .timerFired(timer: SagaTimerID(999), at: at) }
}
