import ChorusCore
import ChorusSagas
import Testing

/// The checker accepts what the orchestrator records and catches each kind
/// of violation in logs built to break one guarantee at a time.
@Suite struct SagaCheckerTests {
    /// reserve and points succeeded, charge declined, both compensated.
    static func compensatedRun() -> SagaHarness {
        var saga = SagaHarness()
        saga.start(SagaFailureTests.fourSteps, id: "9")
        saga.succeed("reserve", result: ["reservationId": "r"], at: 10)
        saga.succeed("points", result: ["holdId": "h"], at: 20)
        saga.fail("charge", code: "card_declined", at: 30)
        saga.succeed("points", .compensation, at: 40)
        saga.succeed("reserve", .compensation, at: 50)
        return saga
    }

    static func happyRun(id: SagaID = "1") -> SagaHarness {
        var saga = SagaHarness()
        saga.start(id: id)
        saga.tick(at: 5_000)  // reserve#1 times out; attempt 2 carries the same key
        saga.tick(at: 6_000)
        saga.succeed("reserve", result: ["reservationId": "r"], at: 6_100)
        saga.succeed("charge", result: ["chargeId": "c"], at: 6_200)
        saga.succeed("ship", at: 6_300)
        return saga
    }

    func record(_ saga: SagaHarness) -> SagaStreamRecord { SagaStreamRecord(stream: saga.state.stream!, events: saga.stream) }

    /// Each call applied once by its participant, as an honest participant would.
    func applications(_ sagas: [SagaHarness]) -> [ParticipantApplication] {
        var seen: Set<String> = []
        var applied: [ParticipantApplication] = []
        for saga in sagas {
            for call in saga.calls where seen.insert(call.request.idempotencyKey).inserted {
                applied.append(ParticipantApplication(participant: call.request.participant, idempotencyKey: call.request.idempotencyKey))
            }
        }
        return applied
    }

    func check(_ streams: [SagaStreamRecord], _ applications: [ParticipantApplication] = []) -> [SagaViolation] {
        SagaChecker.check(streams: streams, applications: applications).violations
    }

    func index(_ saga: SagaHarness, _ summary: String) -> Int { saga.lines.firstIndex(of: summary)! }

    @Test func acceptsWhatTheOrchestratorRecords() {
        let sagas = [Self.happyRun(), Self.compensatedRun(), SagaReplayTests.recordedRun()]
        var parked = SagaHarness()
        parked.start(id: "p")
        parked.succeed("reserve", result: ["reservationId": "r"], at: 1)
        parked.succeed("charge", result: ["chargeId": "c"], at: 2)
        parked.fail("ship", code: "bad", nonRetryable: true, at: 3)
        let result = SagaChecker.check(streams: (sagas + [parked]).map(record), applications: applications(sagas + [parked]))
        #expect(result.violations == [])
        #expect(result.statusCounts == ["completed": 1, "compensated": 2, "parked": 1])
        #expect(result.isValid)
    }

    @Test func catchesASagaThatDidNotEnd() {
        let saga = Self.happyRun()
        let cut = SagaStreamRecord(stream: "saga-order-1", events: Array(saga.stream.prefix(10)))
        #expect(check([cut]) == [.notFinished(stream: "saga-order-1", lastEvent: "SagaStepSucceeded")])
        #expect(SagaChecker.check(streams: [cut], applications: []).statusCounts == ["running": 1])
        // A parked saga that an operator retried is not parked any more, until it ends.
        var parked = SagaHarness()
        parked.start(id: "p")
        parked.succeed("reserve", result: ["reservationId": "r"], at: 1)
        parked.succeed("charge", result: ["chargeId": "c"], at: 2)
        parked.fail("ship", code: "bad", nonRetryable: true, at: 3)
        parked.send(.operatorRetry(note: ""), at: 4)
        #expect(check([record(parked)]) == [.notFinished(stream: "saga-order-p", lastEvent: "SagaTimerSet")])
        parked.succeed("ship", at: 5)
        #expect(check([record(parked)]) == [])
    }

    @Test func catchesMalformedStreamsAndEventsAfterTheEnd() {
        let saga = Self.happyRun()
        #expect(check([SagaStreamRecord(stream: "saga-order-1", events: Array(saga.stream.dropFirst()))]) == [
            .malformedStream(stream: "saga-order-1", message: "the stream does not begin with SagaStarted"),
        ])
        #expect(check([SagaStreamRecord(stream: "saga-order-2", events: saga.stream)]) == [
            .malformedStream(stream: "saga-order-2", message: "SagaStarted names another stream"),
        ])
        #expect(check([SagaStreamRecord(stream: "saga-order-1", events: saga.stream + [.completed(at: 9)])]) == [
            .eventAfterFinish(stream: "saga-order-1", revision: saga.stream.count),
        ])
    }

    @Test func catchesTwoOutcomesForOneAttemptAndOutcomesWithoutACall() {
        let saga = Self.happyRun()
        var events = saga.stream
        // The late success of the timed-out attempt 1, recorded after all.
        events.insert(.succeeded(step: "reserve", phase: .action, attempt: 1, result: nil, at: 5_500), at: 6)
        events.insert(.failed(step: "ship", phase: .action, attempt: 9, failure: SagaFailure(code: "x", message: ""), retryable: true, at: 6_250), at: events.count - 2)
        #expect(check([SagaStreamRecord(stream: "saga-order-1", events: events)]) == [
            .twoOutcomes(stream: "saga-order-1", step: "reserve", phase: .action, attempt: 1),
            .outcomeWithoutCall(stream: "saga-order-1", step: "ship", phase: .action, attempt: 9),
        ])
    }

    /// The negative control: a retry sent under a fresh idempotency key.
    @Test func catchesARetryWithAFreshIdempotencyKey() {
        let saga = Self.happyRun()
        var events = saga.stream
        let retry = index(saga, "scheduled reserve#2")
        guard case .scheduled(let step, let phase, let attempt, var request, let at) = events[retry] else { return }
        request.idempotencyKey = "saga-order-1/reserve/2"
        events[retry] = .scheduled(step: step, phase: phase, attempt: attempt, request: request, at: at)
        let applied = [
            ParticipantApplication(participant: "inventory", idempotencyKey: "saga-order-1/reserve"),
            ParticipantApplication(participant: "inventory", idempotencyKey: "saga-order-1/reserve/2"),
        ]
        #expect(check([SagaStreamRecord(stream: "saga-order-1", events: events)], applied) == [
            .idempotencyKeyChanged(stream: "saga-order-1", step: "reserve", phase: .action, keys: ["saga-order-1/reserve", "saga-order-1/reserve/2"]),
            .stepAppliedUnderSeveralKeys(stream: "saga-order-1", step: "reserve", phase: .action, keys: ["saga-order-1/reserve", "saga-order-1/reserve/2"]),
        ])
    }

    /// The negative control: compensating in forward order.
    @Test func catchesCompensationsInForwardOrder() {
        let saga = Self.compensatedRun()
        let first = index(saga, "scheduled points/c#1")
        let second = index(saga, "scheduled reserve/c#1")
        let end = index(saga, "compensated")
        var events = Array(saga.stream[..<first])
        events += saga.stream[second..<end]
        events += saga.stream[first..<second]
        events.append(saga.stream[end])
        #expect(check([SagaStreamRecord(stream: "saga-order-9", events: events)]) == [
            .compensationOrder(stream: "saga-order-9", expected: ["points", "reserve"], actual: ["reserve", "points"]),
        ])
    }

    @Test func catchesAMissingCompensationAndOverlappingOnes() {
        let saga = Self.compensatedRun()
        let first = index(saga, "scheduled points/c#1")
        let second = index(saga, "scheduled reserve/c#1")
        var missing = saga.stream
        missing.removeSubrange(second..<(second + 3))
        #expect(check([SagaStreamRecord(stream: "saga-order-9", events: missing)]) == [.compensationMissing(stream: "saga-order-9", step: "reserve")])
        // reserve's compensation starts while points' is still running.
        var overlapping = saga.stream
        let pointsDone = overlapping.remove(at: first + 2)
        overlapping.insert(pointsDone, at: second + 1)
        #expect(check([SagaStreamRecord(stream: "saga-order-9", events: overlapping)]) == [
            .compensationOverlap(stream: "saga-order-9", running: "points", started: "reserve"),
        ])
    }

    @Test func catchesACompensationInASagaThatNeverAborted() {
        let saga = Self.happyRun()
        var events = saga.stream
        let request = ParticipantRequest(participant: "inventory", method: .delete, path: "/x", body: nil, idempotencyKey: "saga-order-1/reserve/compensation")
        events.insert(.scheduled(step: "reserve", phase: .compensation, attempt: 1, request: request, at: 6_150), at: events.count - 1)
        #expect(check([SagaStreamRecord(stream: "saga-order-1", events: events)]) == [
            .compensationWithoutAbort(stream: "saga-order-1", step: "reserve"),
        ])
    }

    @Test func catchesAKeyAppliedTwiceAndUnknownKeys() {
        let saga = Self.happyRun()
        var applied = applications([saga])
        applied.append(applied[1])
        applied.append(ParticipantApplication(participant: "payments", idempotencyKey: "saga-order-77/charge"))
        applied.append(ParticipantApplication(participant: "payments", idempotencyKey: "saga-order-1/reserve"))
        #expect(check([record(saga)], applied) == [
            .keyAppliedTwice(participant: "payments", key: "saga-order-1/charge"),
            .unknownKeyApplied(participant: "payments", key: "saga-order-77/charge"),
            .unknownKeyApplied(participant: "payments", key: "saga-order-1/reserve"),
        ])
    }

    @Test func catchesTwoSagasHoldingOneLock() {
        func holder(_ id: SagaID, grantedAt: UInt64, expiresAt: UInt64, releasedAt: UInt64?) -> SagaStreamRecord {
            let definition = OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait))
            var events: [SagaEvent] = [
                .started(definition: definition, sagaID: id, input: OrderSaga.input, at: grantedAt),
                .lockRequested(name: "sku:tea", step: "reserve", expiryMilliseconds: expiresAt - grantedAt, contention: .wait, at: grantedAt),
                .lockAcquired(name: "sku:tea", step: "reserve", grantedAt: grantedAt, expiresAt: expiresAt, at: grantedAt),
            ]
            if let releasedAt { events.append(.lockReleased(name: "sku:tea", at: releasedAt)) }
            events.append(.parked(reason: .stepFailed("ship"), failure: SagaFailure(code: "x", message: ""), at: releasedAt ?? expiresAt))
            return SagaStreamRecord(stream: "saga-order-\(id)", events: events)
        }
        // Back to back (release at 100, grant at 100) and after an expiry: fine.
        #expect(check([holder("a", grantedAt: 0, expiresAt: 1_000, releasedAt: 100), holder("b", grantedAt: 100, expiresAt: 500, releasedAt: nil), holder("c", grantedAt: 500, expiresAt: 900, releasedAt: 600)]) == [])
        // b is granted while a still holds it.
        #expect(check([holder("a", grantedAt: 0, expiresAt: 1_000, releasedAt: 300), holder("b", grantedAt: 200, expiresAt: 900, releasedAt: 400)]) == [
            .lockHeldTwice(name: "sku:tea", first: "saga-order-a", second: "saga-order-b", at: 200),
        ])
        // An expiry recorded late does not hide an overlap: expiresAt bounds the holding.
        #expect(check([holder("a", grantedAt: 0, expiresAt: 100, releasedAt: 5_000), holder("b", grantedAt: 150, expiresAt: 900, releasedAt: nil)]) == [])
        #expect(check([holder("a", grantedAt: 0, expiresAt: 200, releasedAt: nil), holder("c", grantedAt: 50, expiresAt: 60, releasedAt: nil), holder("b", grantedAt: 150, expiresAt: 900, releasedAt: nil)]) == [
            .lockHeldTwice(name: "sku:tea", first: "saga-order-a", second: "saga-order-c", at: 50),
            .lockHeldTwice(name: "sku:tea", first: "saga-order-a", second: "saga-order-b", at: 150),
        ])
    }

    @Test func violationsDescribeThemselves() {
        #expect(
            SagaViolation.compensationOrder(stream: "saga-order-9", expected: ["points", "reserve"], actual: ["reserve", "points"]).description
                == #"saga-order-9: compensations ran in order ["reserve", "points"], expected ["points", "reserve"]"#)
        #expect(SagaViolation.keyAppliedTwice(participant: "payments", key: "k").description == "participant payments applied key k twice")
    }
}
