import ChorusCore
import ChorusSagas
import Testing

/// The order saga of the issue: reserve → charge (pivot) → ship.
enum OrderSaga {
    static let reserve = SagaStep(
        id: "reserve", kind: .compensatable,
        action: SagaRequestTemplate(
            participant: "inventory", method: .post, path: "/v1/reservations",
            body: ["orderId": "{{input.orderId}}", "items": "{{input.items}}"]),
        compensation: SagaCompensation(
            request: SagaRequestTemplate(
                participant: "inventory", method: .delete, path: "/v1/reservations/{{steps.reserve.idempotencyKey}}"),
            retry: SagaRetryPolicy(initialIntervalMilliseconds: 500, maximumAttempts: 3),
            attemptTimeoutMilliseconds: 2_000),
        retry: SagaRetryPolicy(initialIntervalMilliseconds: 1_000, maximumAttempts: 3, nonRetryableErrorCodes: ["out_of_stock"]),
        attemptTimeoutMilliseconds: 5_000)

    static let charge = SagaStep(
        id: "charge", kind: .pivot,
        action: SagaRequestTemplate(
            participant: "payments", method: .post, path: "/v1/charges",
            body: [
                "orderId": "{{input.orderId}}", "amount": "{{input.amount}}",
                "reservation": "{{steps.reserve.result.reservationId}}",
            ]),
        retry: SagaRetryPolicy(initialIntervalMilliseconds: 1_000, maximumAttempts: 3, nonRetryableErrorCodes: ["card_declined"]),
        attemptTimeoutMilliseconds: 5_000)

    static let ship = SagaStep(
        id: "ship", kind: .retriable,
        action: SagaRequestTemplate(
            participant: "shipping", method: .post, path: "/v1/shipments/{{input.orderId}}",
            body: ["charge": "{{steps.charge.result.chargeId}}"]),
        retry: SagaRetryPolicy(initialIntervalMilliseconds: 1_000, maximumAttempts: 3),
        attemptTimeoutMilliseconds: 5_000)

    static func definition(
        reserve: SagaStep = OrderSaga.reserve, charge: SagaStep = OrderSaga.charge, ship: SagaStep = OrderSaga.ship,
        deadlineMilliseconds: UInt64? = nil
    ) -> SagaDefinition {
        SagaDefinition(
            name: "order", version: 1, stages: [.single(reserve), .single(charge), .single(ship)],
            deadlineMilliseconds: deadlineMilliseconds)
    }

    static let input: JSONValue = ["orderId": "42", "amount": 1250, "items": [["sku": "tea", "quantity": 2]]]

    static func reserveWithLock(_ contention: SagaLockContention, expiryMilliseconds: UInt64 = 30_000) -> SagaStep {
        var step = reserve
        step.lock = SagaLockRequirement(name: "sku:{{input.items.0.sku}}", expiryMilliseconds: expiryMilliseconds, onContention: contention)
        return step
    }
}

/// Drives one orchestrator the way the runtime does: decide, append to an
/// in-memory stream at the expected revision, apply, collect effects.
struct SagaHarness {
    var orchestrator = SagaOrchestrator()
    var stream: [SagaEvent] = []
    var effects: [SagaEffect] = []
    /// Every input sent, with its time and the events its decision appended.
    var decisions: [(input: SagaInput, now: UInt64, events: [SagaEvent])] = []
    var now: UInt64 = 0
    /// How many effects a test world has already carried out.
    var routed = 0

    init() {}

    /// A harness resumed from a recorded stream (a crash, a new leader).
    init(replaying stream: [SagaEvent], now: UInt64) throws {
        orchestrator = try SagaOrchestrator(replaying: stream)
        self.stream = stream
        self.now = now
        effects = orchestrator.resumptionEffects()
    }

    var state: SagaState { orchestrator.state }
    var lines: [String] { stream.map(\.summary) }

    @discardableResult
    mutating func send(_ input: SagaInput, at time: UInt64? = nil) -> SagaResponse {
        if let time { now = time }
        let decision = orchestrator.decide(input, now: now)
        decisions.append((input, now, decision.events))
        let expected: SagaExpectedRevision = stream.isEmpty ? .noStream : .exact(UInt64(stream.count - 1))
        #expect(decision.expectedRevision == expected)
        stream += decision.events
        do {
            effects += try orchestrator.apply(decision.events)
        } catch {
            Issue.record("the decision did not fold: \(error)")
        }
        return decision.response
    }

    @discardableResult
    mutating func start(_ definition: SagaDefinition = OrderSaga.definition(), id: SagaID = "42", input: JSONValue = OrderSaga.input)
        -> SagaResponse
    {
        send(.start(definition: definition, sagaID: id, input: input))
    }

    /// The calls sent so far, in order.
    var calls: [SagaCall] { effects.compactMap { if case .call(let call) = $0 { call } else { nil } } }

    func lastCall(_ step: StepID, _ phase: SagaPhase = .action) -> SagaCall? {
        calls.last { $0.step == step && $0.phase == phase }
    }

    /// Answers the latest call of `step` with success.
    @discardableResult
    mutating func succeed(_ step: StepID, _ phase: SagaPhase = .action, result: JSONValue = .null, at time: UInt64? = nil)
        -> SagaResponse
    {
        let attempt = lastCall(step, phase)?.attempt ?? 0
        return send(.reply(SagaReply(step: step, phase: phase, attempt: attempt, outcome: .succeeded(result: result))), at: time)
    }

    /// Answers the latest call of `step` with an error.
    @discardableResult
    mutating func fail(
        _ step: StepID, _ phase: SagaPhase = .action, code: String, nonRetryable: Bool = false, at time: UInt64? = nil
    ) -> SagaResponse {
        let attempt = lastCall(step, phase)?.attempt ?? 0
        return send(
            .reply(SagaReply(step: step, phase: phase, attempt: attempt, outcome: .failed(code: code, message: "", nonRetryable: nonRetryable))),
            at: time)
    }

    @discardableResult
    mutating func tick(at time: UInt64) -> SagaResponse { send(.tick, at: time) }

    /// The events from `index` on, as summaries.
    func lines(from index: Int) -> [String] { Array(lines[index...]) }
}

extension SagaStatus {
    var isParked: Bool { if case .parked = self { true } else { false } }
}
