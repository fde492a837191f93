import ChorusCore
import ChorusSagas
import Foundation
import Testing

@Suite struct SagaDefinitionTests {
    /// The worked example in Sources/ChorusSagas/README.md, read from the
    /// README itself so the documentation cannot drift from the format.
    static func readmeExample() throws -> String {
        let testFile = URL(fileURLWithPath: #filePath)
        let readme = testFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/ChorusSagas/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "```json\n"), let end = text.range(of: "\n```", range: start.upperBound..<text.endIndex) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    func error(_ definition: SagaDefinition) -> SagaDefinitionError? {
        do {
            try definition.validate()
            return nil
        } catch { return error }
    }

    func error(_ json: String) -> SagaDefinitionError? {
        do {
            _ = try SagaDefinition(jsonText: json)
            return nil
        } catch { return error }
    }

    @Test func theReadmeExampleIsAValidOrderSaga() throws {
        let definition = try SagaDefinition(jsonText: try Self.readmeExample())
        #expect(definition.name == "order")
        #expect(definition.steps.map(\.id) == ["reserve", "charge", "ship"])
        #expect(definition.steps.map(\.kind) == [.compensatable, .pivot, .retriable])
        #expect(definition.step("charge")?.retry.nonRetryableErrorCodes == ["card_declined"])
        #expect(definition.step("reserve")?.lock?.name == "sku:{{input.sku}}")
        #expect(definition.step("reserve")?.compensation?.retry == .compensationDefault)
        #expect(definition.step("ship")?.retry == .default)
        #expect(definition.deadlineMilliseconds == 60_000)
        // And it runs: the rendered charge carries the reservation.
        var saga = SagaHarness()
        saga.start(definition, id: "1001", input: ["orderId": "1001", "sku": "tea", "quantity": 2, "amount": 1250, "customerId": "c7"])
        saga.send(.lockGranted(name: "sku:tea", grantedAt: 0, expiresAt: 30_000))
        saga.succeed("reserve", result: ["reservationId": "r-9"], at: 10)
        #expect(saga.lastCall("charge")?.request.body == ["orderId": "1001", "customerId": "c7", "amount": 1250, "reservationId": "r-9"])
    }

    @Test func definitionsRoundTripThroughJSON() throws {
        let definitions = [
            try SagaDefinition(jsonText: try Self.readmeExample()), OrderSaga.definition(deadlineMilliseconds: 5_000),
            SagaCompensationTests.trip, SagaFailureTests.fourSteps,
        ]
        for definition in definitions {
            let text = definition.json.serialized(.pretty)
            #expect(try SagaDefinition(jsonText: text) == definition)
            #expect(try SagaDefinition(json: definition.json).json.text == definition.json.text)
        }
    }

    @Test func defaultsAreTemporals() {
        let policy = SagaRetryPolicy.default
        #expect(policy.initialIntervalMilliseconds == 1_000)
        #expect(policy.backoffCoefficient == 2)
        #expect(policy.maximumIntervalMilliseconds == 100_000)
        #expect(policy.maximumAttempts == 0)
        #expect(policy.effectiveMaximumAttempts == SagaLimits.maximumAttemptsPerStep)
        #expect((1...9).map { policy.delayMilliseconds(afterAttempt: $0) } == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 100_000, 100_000])
        #expect(policy.delayMilliseconds(afterAttempt: 1_000) == 100_000)
        let gentle = SagaRetryPolicy(initialIntervalMilliseconds: 200, backoffCoefficient: 1.5, maximumIntervalMilliseconds: 1_000)
        #expect((1...6).map { gentle.delayMilliseconds(afterAttempt: $0) } == [200, 300, 450, 675, 1_000, 1_000])
        let flat = SagaRetryPolicy(initialIntervalMilliseconds: 50, backoffCoefficient: 1)
        #expect(flat.delayMilliseconds(afterAttempt: 999) == 50)
    }

    @Test func structuralRulesAreEnforced() {
        var twoPivots = OrderSaga.definition()
        twoPivots.stages[2].steps[0].kind = .pivot
        #expect(error(twoPivots) == SagaDefinitionError(.multiplePivots(first: "charge", second: "ship"), at: "steps.ship"))

        var compensatedPivot = OrderSaga.definition()
        compensatedPivot.stages[1].steps[0].compensation = OrderSaga.reserve.compensation
        #expect(error(compensatedPivot) == SagaDefinitionError(.compensationOnPivot("charge"), at: "steps.charge.compensation"))

        var compensatedRetriable = OrderSaga.definition()
        compensatedRetriable.stages[2].steps[0].compensation = OrderSaga.reserve.compensation
        #expect(error(compensatedRetriable) == SagaDefinitionError(.compensationOnRetriable("ship"), at: "steps.ship.compensation"))

        let retriableFirst = SagaDefinition(name: "order", version: 1, stages: [.single(OrderSaga.ship), .single(OrderSaga.charge)])
        #expect(error(retriableFirst)?.reason == .retriableBeforePivot(step: "ship", pivot: "charge"))
        var noPivot = OrderSaga.definition()
        noPivot.stages.remove(at: 1)
        noPivot.stages[1].steps[0].action.body = nil
        #expect(error(noPivot) == SagaDefinitionError(.retriableBeforePivot(step: "ship", pivot: nil), at: "steps.ship"))

        var lateCompensatable = OrderSaga.reserve
        lateCompensatable.id = "late"
        let afterPivot = SagaDefinition(name: "order", version: 1, stages: [.single(OrderSaga.reserve), .single(OrderSaga.charge), .single(lateCompensatable)])
        #expect(error(afterPivot) == SagaDefinitionError(.compensatableAfterPivot(step: "late", pivot: "charge"), at: "steps.late.kind"))

        let pivotInGroup = SagaDefinition(name: "order", version: 1, stages: [.single(OrderSaga.reserve), .parallel([OrderSaga.charge])])
        #expect(error(pivotInGroup) == SagaDefinitionError(.pivotInParallelGroup("charge"), at: "steps.charge.kind"))

        var retriableMember = OrderSaga.ship
        retriableMember.id = "notify"
        let mixed = SagaDefinition(name: "order", version: 1, stages: [.parallel([OrderSaga.reserve, retriableMember]), .single(OrderSaga.charge)])
        #expect(error(mixed)?.reason == .mixedKindsInParallelGroup([.compensatable, .retriable]))

        var duplicate = OrderSaga.definition()
        duplicate.stages[2].steps[0].id = "reserve"
        #expect(error(duplicate) == SagaDefinitionError(.duplicateStepID("reserve"), at: "steps.reserve"))

        var badID = OrderSaga.definition()
        badID.stages[0].steps[0].id = "9lives"
        #expect(error(badID) == SagaDefinitionError(.invalidStepID("9lives"), at: "steps[0].id"))

        #expect(error(SagaDefinition(name: "order", version: 1, stages: [])) == SagaDefinitionError(.noSteps, at: "steps"))
        #expect(error(SagaDefinition(name: "order", version: 1, stages: [.parallel([])])) == SagaDefinitionError(.emptyParallelGroup, at: "steps[0]"))
        #expect(error(SagaDefinition(name: "my-order", version: 1, stages: [.single(OrderSaga.reserve)])) == SagaDefinitionError(.invalidName, at: "name"))
        #expect(error(SagaDefinition(name: "order", version: 0, stages: [.single(OrderSaga.reserve)])) == SagaDefinitionError(.invalidVersion(0), at: "version"))
    }

    @Test func referencesMustPointToEarlierSteps() {
        var cycle = OrderSaga.definition()
        cycle.stages[0].steps[0].action.body = ["charge": "{{steps.charge.result.chargeId}}"]
        #expect(
            error(cycle)
                == SagaDefinitionError(.referenceToStepNotBefore("charge"), at: "steps.reserve.action.body"))
        #expect(error(cycle)?.description == "steps.reserve.action.body: refers to step 'charge', which does not complete before this step runs (a reference cycle)")

        var itself = OrderSaga.definition()
        itself.stages[1].steps[0].action.path = "/v1/charges/{{steps.charge.result.id}}"
        #expect(error(itself) == SagaDefinitionError(.referenceToStepNotBefore("charge"), at: "steps.charge.action.path"))

        var sibling = SagaCompensationTests.trip
        sibling.stages[0].steps[1].action.body = ["hotel": "{{steps.hotel.result.room}}"]
        #expect(error(sibling) == SagaDefinitionError(.referenceToStepNotBefore("hotel"), at: "steps.flight.action.body"))

        var unknown = OrderSaga.definition()
        unknown.stages[2].steps[0].action.body = ["x": "{{steps.refund.result.id}}"]
        #expect(error(unknown) == SagaDefinitionError(.unknownStepReference("refund"), at: "steps.ship.action.body"))

        var lockCycle = OrderSaga.reserveWithLock(.wait)
        lockCycle.lock!.name = "r:{{steps.reserve.result.id}}"
        #expect(error(OrderSaga.definition(reserve: lockCycle)) == SagaDefinitionError(.referenceToStepNotBefore("reserve"), at: "steps.reserve.lock.name"))

        // A compensation may read its own step's result.
        var ownResult = OrderSaga.reserve
        ownResult.compensation!.request.path = "/v1/reservations/{{steps.reserve.result.reservationId}}"
        #expect(error(OrderSaga.definition(reserve: ownResult)) == nil)

        var badSyntax = OrderSaga.definition()
        badSyntax.stages[0].steps[0].action.path = "/v1/{{input.id"
        #expect(error(badSyntax) == SagaDefinitionError(.invalidTemplate(.syntax("'{{' without a closing '}}'", offset: 4)), at: "steps.reserve.action.path"))
        var noSlash = OrderSaga.definition()
        noSlash.stages[0].steps[0].action.path = "v1"
        #expect(error(noSlash)?.location == "steps.reserve.action.path")
    }

    @Test func policiesAndDurationsAreBounded() {
        func withRetry(_ policy: SagaRetryPolicy) -> SagaDefinition {
            var step = OrderSaga.reserve
            step.retry = policy
            return OrderSaga.definition(reserve: step)
        }
        #expect(error(withRetry(SagaRetryPolicy(initialIntervalMilliseconds: 0)))?.location == "steps.reserve.retry")
        #expect(error(withRetry(SagaRetryPolicy(backoffCoefficient: 0.5)))?.reason == .invalidRetryPolicy("backoffCoefficient must be 1…100"))
        #expect(error(withRetry(SagaRetryPolicy(backoffCoefficient: .infinity)))?.reason == .invalidRetryPolicy("backoffCoefficient must be 1…100"))
        #expect(error(withRetry(SagaRetryPolicy(initialIntervalMilliseconds: 100, maximumIntervalMilliseconds: 50))) != nil)
        #expect(error(withRetry(SagaRetryPolicy(maximumAttempts: -1))) != nil)
        #expect(error(withRetry(SagaRetryPolicy(maximumAttempts: SagaLimits.maximumAttemptsPerStep + 1))) != nil)
        #expect(error(withRetry(SagaRetryPolicy(nonRetryableErrorCodes: [""]))) != nil)
        var zeroTimeout = OrderSaga.reserve
        zeroTimeout.attemptTimeoutMilliseconds = 0
        #expect(
            error(OrderSaga.definition(reserve: zeroTimeout))
                == SagaDefinitionError(.invalidDuration(0, limit: SagaLimits.maximumDurationMilliseconds), at: "steps.reserve.attemptTimeoutMilliseconds"))
        #expect(error(OrderSaga.definition(deadlineMilliseconds: SagaLimits.maximumDurationMilliseconds + 1))?.location == "deadlineMilliseconds")
        var longLock = OrderSaga.reserveWithLock(.wait)
        longLock.lock!.expiryMilliseconds = 0
        #expect(error(OrderSaga.definition(reserve: longLock))?.location == "steps.reserve.lock.expiryMilliseconds")
    }

    @Test func badJSONGetsClearErrors() {
        #expect(error("{\"name\": \"order\",}")?.description == "invalid JSON at byte 17: unexpected '}', expected a string key")
        #expect(error(#"{"version": 1, "steps": []}"#) == SagaDefinitionError(.missingField, at: "name"))
        #expect(error(#"{"name": "order", "version": "1", "steps": []}"#) == SagaDefinitionError(.wrongType(expected: "integer", found: "string"), at: "version"))
        #expect(error(#"{"name": "order", "version": 1, "steps": [], "colour": "red"}"#) == SagaDefinitionError(.unknownField, at: "colour"))
        #expect(error(#"{"name": "order", "version": 1, "steps": []}"#) == SagaDefinitionError(.noSteps, at: "steps"))
        let step = #"{"id": "a", "action": {"participant": "p", "method": "POST", "path": "/x"}, "retries": 3}"#
        #expect(error(#"{"name": "order", "version": 1, "steps": [\#(step)]}"#) == SagaDefinitionError(.unknownField, at: "steps[0].retries"))
        let badMethod = #"{"id": "a", "action": {"participant": "p", "method": "TRACE", "path": "/x"}}"#
        #expect(
            error(#"{"name": "order", "version": 1, "steps": [\#(badMethod)]}"#)?.description
                == #"steps[0].action.method: must be one of "GET", "POST", "PUT", "PATCH", "DELETE""#)
        let badKind = #"{"id": "a", "kind": "maybe", "action": {"participant": "p", "method": "POST", "path": "/x"}}"#
        #expect(error(#"{"name": "order", "version": 1, "steps": [\#(badKind)]}"#)?.location == "steps[0].kind")
        let groupField = #"{"parallel": [], "name": "g"}"#
        #expect(error(#"{"name": "order", "version": 1, "steps": [\#(groupField)]}"#) == SagaDefinitionError(.unknownField, at: "steps[0].name"))
        let oversized = String(repeating: " ", count: SagaLimits.maximumDefinitionBytes + 1)
        #expect(error(oversized)?.reason == .definitionTooLarge(byteCount: SagaLimits.maximumDefinitionBytes + 1, limit: SagaLimits.maximumDefinitionBytes))
        let minimal = #"{"name": "ping", "version": 1, "steps": [{"id": "a", "action": {"participant": "p", "method": "GET", "path": "/x"}}]}"#
        #expect(error(minimal) == nil)
    }
}
