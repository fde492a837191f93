import ChorusCore

/// The saga orchestrator for one saga instance: a pure state machine whose
/// state is the fold of the saga's stream (DESIGN.md §5, README).
///
/// The runtime drives it in two steps, and the order is the contract:
///
///     input, now ──▶ decide ──▶ SagaDecision(events, expected revision, response)
///                                   │ runtime appends events to saga-{definition}-{id}
///                                   │ at the expected revision (an append that
///                                   │ conflicts is dropped: reload, decide again)
///                                   ▼
///                    apply(appended events) ──▶ [SagaEffect]  (calls, timers, locks)
///
/// A decision takes effect only once appended: `decide` does not change the
/// orchestrator, and `apply` is fed exactly the events the store recorded
/// (after a leader change, the new leader folds the stream instead, then
/// carries out `resumptionEffects()`). Every decision ends quiescent: the
/// events include everything the saga does on its own in response.
public struct SagaOrchestrator: Sendable, Hashable {
    public private(set) var state: SagaState

    /// A saga that has not started (its stream is empty).
    public init() { state = SagaState() }

    /// The saga its stream describes.
    public init(replaying events: [SagaEvent]) throws(SagaFoldError) {
        state = try SagaState(replaying: events)
    }

    /// The events to append in response to `input` at time `now`
    /// (milliseconds), and what to answer the caller.
    public func decide(_ input: SagaInput, now: UInt64) -> SagaDecision {
        decide(input, now: now, injectedBug: nil)
    }

    /// `decide`, with a deliberate bug for a negative control (`SagaHost.injectedBug`).
    func decide(_ input: SagaInput, now: UInt64, injectedBug: InjectedBug?) -> SagaDecision {
        var decision = Decision(state: state, now: now, injectedBug: injectedBug)
        let response = decision.handle(input)
        assert(decision.state.invariantViolation() == nil, "saga invariant broken: \(decision.state.invariantViolation()!)")
        return SagaDecision(events: decision.events, expectedRevision: state.expectedRevision, response: response)
    }

    /// Folds events the store appended and returns what the runtime must do.
    public mutating func apply(_ events: [SagaEvent]) throws(SagaFoldError) -> [SagaEffect] {
        var effects: [SagaEffect] = []
        for event in events {
            let armedBefore = state.timers
            try state.apply(event)
            effects += Self.effects(of: event, state: state)
            for timer in armedBefore.keys.sorted() where state.timers[timer] == nil {
                if case .timerFired(timer, _) = event { continue }
                effects.append(.cancelTimer(timer))
            }
        }
        return effects
    }

    /// Decides and applies at once, for runtimes whose appends cannot
    /// conflict (one writer, an in-memory stream) and for tests.
    public mutating func handle(_ input: SagaInput, now: UInt64) -> (decision: SagaDecision, effects: [SagaEffect]) {
        let decision = decide(input, now: now)
        do {
            return (decision, try apply(decision.events))
        } catch {
            preconditionFailure("the orchestrator's own decision does not fold: \(error)")
        }
    }

    /// What to carry out again after a crash or a leader change, from the
    /// state alone: the calls in flight (same request, same idempotency key),
    /// the armed timers, the lock requests not yet answered, and the releases
    /// (all idempotent).
    public func resumptionEffects() -> [SagaEffect] {
        var effects: [SagaEffect] = []
        for (timer, armed) in state.timers.sorted(by: { $0.key < $1.key }) {
            effects.append(.setTimer(timer, dueAt: armed.dueAt))
        }
        for step in state.steps {
            for phase in SagaPhase.allCases {
                let call = step[phase]
                if let attempt = call.attemptInFlight, let request = call.request {
                    effects.append(.call(SagaCall(step: step.id, phase: phase, attempt: attempt, request: request)))
                }
            }
        }
        let owner = state.stream ?? ""
        for (name, lock) in state.locks.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            switch lock.state {
            case .requested:
                effects.append(
                    .acquireLock(name: name, owner: owner, expiryMilliseconds: lock.expiryMilliseconds, contention: lock.contention))
            case .released: effects.append(.releaseLock(name: name, owner: owner))
            case .held, .denied, .expired: break
            }
        }
        return effects
    }

    static func effects(of event: SagaEvent, state: SagaState) -> [SagaEffect] {
        let owner = state.stream ?? ""
        switch event {
        case .scheduled(let step, let phase, let attempt, let request, _):
            return [.call(SagaCall(step: step, phase: phase, attempt: attempt, request: request))]
        case .timerSet(let timer, _, let dueAt, _):
            return [.setTimer(timer, dueAt: dueAt)]
        case .lockRequested(let name, _, let expiry, let contention, _):
            return [.acquireLock(name: name, owner: owner, expiryMilliseconds: expiry, contention: contention)]
        case .lockReleased(let name, _):
            return [.releaseLock(name: name, owner: owner)]
        default:
            return []
        }
    }
}

/// The events to append for one input, the revision the append expects, and
/// the answer to the caller.
public struct SagaDecision: Sendable, Hashable {
    public var events: [SagaEvent]
    public var expectedRevision: SagaExpectedRevision
    public var response: SagaResponse
}

/// One decision in the making: a scratch copy of the state that each emitted
/// event is folded into, so later events are decided on the state the
/// earlier ones produce.
private struct Decision {
    var state: SagaState
    let now: UInt64
    let injectedBug: InjectedBug?
    var events: [SagaEvent] = []

    init(state: SagaState, now: UInt64, injectedBug: InjectedBug?) {
        self.state = state
        self.now = now
        self.injectedBug = injectedBug
    }

    mutating func emit(_ event: SagaEvent) {
        precondition(events.count < SagaLimits.maximumEventsPerDecision, "a saga decision exceeded \(SagaLimits.maximumEventsPerDecision) events")
        do { try state.apply(event) } catch { preconditionFailure("the orchestrator decided an event that does not fold: \(error)") }
        events.append(event)
    }

    /// Everything the saga does on its own from here.
    mutating func settle() {
        while let event = state.nextEvent(now: now, injectedBug: injectedBug) { emit(event) }
    }

    /// Fires every timer due at `now`, earliest first, each with its
    /// consequences, before the input is looked at: an answer that arrives
    /// after its attempt's timeout is late even if no tick came in between.
    mutating func fireDueTimers() {
        while let (timer, armed) = state.earliestDueTimer(now: now) {
            emit(.timerFired(timer: timer, at: now))
            if case .attemptTimeout(let step, let phase, let attempt) = armed.purpose {
                emit(.timedOut(step: step, phase: phase, attempt: attempt, at: now))
            }
            settle()
        }
    }

    mutating func handle(_ input: SagaInput) -> SagaResponse {
        if case .start(let definition, let sagaID, let sagaInput) = input {
            guard state.status == .notStarted else { return .alreadyStarted }
            do { try definition.validate() } catch { return .rejected(.invalidDefinition(error)) }
            guard SagaNames.isValidSagaID(sagaID) else { return .rejected(.invalidSagaID(sagaID)) }
            let size = sagaInput.text.utf8.count
            guard size <= SagaLimits.maximumInputBytes else {
                return .rejected(.inputTooLarge(byteCount: size, limit: SagaLimits.maximumInputBytes))
            }
            emit(.started(definition: definition, sagaID: sagaID, input: sagaInput, at: now))
            settle()
            return .accepted
        }
        guard state.status != .notStarted else { return .rejected(.unknownSaga) }
        if state.status.isFinal {
            switch input {
            case .operatorRetry, .operatorResolve: return .rejected(.notParked(state.status))
            default: return .ignored(.sagaFinished)
            }
        }
        fireDueTimers()
        let response = handleStarted(input)
        settle()
        return response
    }

    private mutating func handleStarted(_ input: SagaInput) -> SagaResponse {
        switch input {
        case .start: preconditionFailure("handled above")
        case .tick: return .accepted
        case .reply(let reply): return handle(reply)

        case .cancel(let reason):
            switch state.status {
            case .compensating: return .ignored(.alreadyCompensating)
            case .parked: return .rejected(.sagaParked)
            case .running:
                if state.pivotPassed { return .rejected(.pivotPassed) }
                if state.cancelRequested { return .ignored(.cancelAlreadyRequested) }
                emit(.cancelRequested(reason: SagaFailure.truncated(reason, to: SagaLimits.maximumNoteBytes), at: now))
                return .accepted
            case .notStarted, .completed, .compensated, .cancelled: preconditionFailure("handled above")
            }

        case .operatorRetry(let note):
            guard case .parked = state.status else { return .rejected(.notParked(state.status)) }
            emit(.operatorRetried(note: SagaFailure.truncated(note, to: SagaLimits.maximumNoteBytes), at: now))
            return .accepted

        case .operatorResolve(let resolution, let note):
            guard case .parked(let reason, _) = state.status else { return .rejected(.notParked(state.status)) }
            switch (reason, resolution) {
            case (.pivotUncertain, _), (_, .succeeded): break
            case (.compensationFailed, .failed), (.stepFailed, .failed): return .rejected(.resolutionNotAllowed(reason))
            }
            if case .succeeded(let result) = resolution, result.text.utf8.count > SagaLimits.maximumResultBytes {
                return .rejected(.resultTooLarge(byteCount: result.text.utf8.count, limit: SagaLimits.maximumResultBytes))
            }
            emit(.operatorResolved(resolution: resolution, note: SagaFailure.truncated(note, to: SagaLimits.maximumNoteBytes), at: now))
            return .accepted

        case .lockGranted(let name, let grantedAt, let expiresAt):
            guard let lock = state.locks[name], lock.state == .requested else { return .ignored(.staleLockNotice) }
            emit(.lockAcquired(name: name, step: lock.step, grantedAt: grantedAt, expiresAt: expiresAt, at: now))
            return .accepted

        case .lockDenied(let name):
            guard let lock = state.locks[name], lock.state == .requested else { return .ignored(.staleLockNotice) }
            emit(.lockDenied(name: name, step: lock.step, at: now))
            return .accepted

        case .lockExpired(let name, let expiredAt):
            guard case .held? = state.locks[name]?.state else { return .ignored(.staleLockNotice) }
            emit(.lockExpired(name: name, expiredAt: expiredAt, at: now))
            return .accepted
        }
    }

    private mutating func handle(_ reply: SagaReply) -> SagaResponse {
        guard let step = state.step(reply.step) else { return .rejected(.unknownStep(reply.step)) }
        guard step[reply.phase].attemptInFlight == reply.attempt else { return .ignored(.staleReply) }
        switch reply.outcome {
        case .succeeded(let result):
            let size = result.text.utf8.count
            guard size <= SagaLimits.maximumResultBytes else {
                return .rejected(.resultTooLarge(byteCount: size, limit: SagaLimits.maximumResultBytes))
            }
            emit(.succeeded(step: reply.step, phase: reply.phase, attempt: reply.attempt, result: result, at: now))
        case .failed(let code, let message, let nonRetryable):
            let failure = SagaFailure(code: code.isEmpty ? "unknown_error" : code, message: message)
            let policy = step.definition.call(reply.phase)!.retry
            let retryable = !nonRetryable && policy.isRetryable(code: failure.code)
            emit(.failed(step: reply.step, phase: reply.phase, attempt: reply.attempt, failure: failure, retryable: retryable, at: now))
        }
        return .accepted
    }
}
