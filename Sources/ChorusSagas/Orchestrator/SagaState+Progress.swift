import ChorusCore

/// What the saga does next on its own, as a function of its state alone.
///
/// The orchestrator appends `nextEvent` until it is nil after every input,
/// so the state at the end of each decision is quiescent: nothing more to do
/// until a reply, a lock notice, a timer or an operator arrives. Because the
/// next step is derived from the state and not remembered, a saga rebuilt
/// from its stream makes exactly the decisions the original would have.
extension SagaState {
    /// The one event the saga appends next at time `now`, or nil when it
    /// waits. Due timers are fired by the orchestrator before this is asked.
    /// `injectedBug` is nil but in the simulator's negative controls.
    func nextEvent(now: UInt64, injectedBug: InjectedBug? = nil) -> SagaEvent? {
        guard status.isActive, let definition else { return nil }
        if let deadline = definition.deadlineMilliseconds, !deadlineTimerSet, status == .running, !pivotPassed {
            return .timerSet(timer: nextTimerID, purpose: .deadline, dueAt: startedAt &+ deadline, at: now)
        }
        // Every attempt in flight has its timeout, whatever the saga is doing.
        for step in steps {
            for phase in SagaPhase.allCases {
                if case .inFlight(let attempt, nil) = step[phase].phase, let call = step.definition.call(phase) {
                    return .timerSet(
                        timer: nextTimerID, purpose: .attemptTimeout(step: step.id, phase: phase, attempt: attempt),
                        dueAt: now &+ call.timeout, at: now)
                }
            }
        }
        switch status {
        case .running: return nextForwardEvent(now: now)
        case .compensating(let reason): return nextCompensationEvent(now: now, reason: reason, injectedBug: injectedBug)
        default: return nil
        }
    }

    private func nextForwardEvent(now: UInt64) -> SagaEvent? {
        // An abort that was asked for (cancel, deadline, a lost lock) happens
        // as soon as no pivot is in flight; once the pivot succeeded, never.
        if !pivotPassed && !pivotSent {
            if cancelRequested { return .aborted(reason: .cancelled, at: now) }
            if deadlineExceeded { return .aborted(reason: .deadlineExceeded, at: now) }
            if let lostLock { return .aborted(reason: .lockExpired(name: lostLock), at: now) }
        }
        guard let stage = currentStage else {
            if let name = firstLock(where: { if case .held = $0 { true } else { false } }) {
                return .lockReleased(name: name, at: now)
            }
            return .completed(at: now)
        }
        let members = steps.filter { $0.stageIndex == stage }
        let goesForwardOnly = members[0].definition.kind == .retriable

        // Before the pivot (and for the pivot), the first step that is given
        // up aborts the saga; a pivot whose outcome is unknown parks it.
        if !goesForwardOnly, let failed = members.first(where: { $0.action.isGivenUp($0.definition.retry) }) {
            let failure = failed.action.lastFailure ?? SagaFailure(code: "unknown", message: "")
            if failed.definition.kind == .pivot && failed.action.isUncertain {
                return .parked(reason: .pivotUncertain(failed.id), failure: failure, at: now)
            }
            let reason: SagaAbortReason = cancelRequested ? .cancelled : .stepFailed(failed.id, code: failure.code)
            return .aborted(reason: reason, at: now)
        }
        for member in members where member.action.canRetry(member.definition.retry) {
            let delay = member.definition.retry.delayMilliseconds(afterAttempt: max(1, member.action.attempts))
            return .timerSet(
                timer: nextTimerID,
                purpose: .retry(step: member.id, phase: .action, attempt: member.action.attempts + 1),
                dueAt: now &+ delay, at: now)
        }
        // After the pivot, a group keeps going until every member has
        // succeeded or been given up; then a given-up member parks the saga.
        if goesForwardOnly {
            let settled = members.allSatisfy { $0.action.phase == .succeeded || $0.action.isGivenUp($0.definition.retry) }
            if settled, let failed = members.first(where: { $0.action.phase != .succeeded }) {
                let failure = failed.action.lastFailure ?? SagaFailure(code: "unknown", message: "")
                return .parked(reason: .stepFailed(failed.id), failure: failure, at: now)
            }
        }
        for member in members where member.action.phase == .pending {
            if let lock = member.definition.lock {
                let name: String
                do throws(SagaTemplateError) {
                    name = try templateContext.renderText(try SagaTemplate(parsing: lock.name))
                    guard !name.isEmpty else { throw SagaTemplateError.missingValue(reference: lock.name) }
                    guard name.utf8.count <= SagaLimits.maximumLockNameBytes else {
                        throw SagaTemplateError.renderedTooLarge(byteCount: name.utf8.count, limit: SagaLimits.maximumLockNameBytes)
                    }
                } catch {
                    return .renderingFailed(step: member.id, phase: .action, failure: Self.renderingFailure(error), at: now)
                }
                if case .held? = locks[name]?.state {
                    // Already ours (an earlier step took it, or it was granted).
                } else {
                    return .lockRequested(
                        name: name, step: member.id, expiryMilliseconds: lock.expiryMilliseconds,
                        contention: lock.onContention, at: now)
                }
            }
            return schedule(member, .action, now: now)
        }
        return nil
    }

    private func nextCompensationEvent(now: UInt64, reason: SagaAbortReason, injectedBug: InjectedBug?) -> SagaEvent? {
        // A lock request is withdrawn at once: no step waits for a lock
        // while the saga compensates, and withdrawing undoes nothing (a group
        // member waiting for its lock while another is in flight; found by
        // `chorus simulate sagas`).
        if let name = firstLock(where: { $0 == .requested }) { return .lockReleased(name: name, at: now) }
        // Drain: a forward attempt in flight is answered or times out first,
        // so that what it did is known before anything is undone.
        if steps.contains(where: { $0.action.isInFlight }) { return nil }
        // The negative control: the order of completion, not its reverse.
        let order = injectedBug == .sagaCompensateForward ? compensationOrder.reversed() : compensationOrder
        for id in order {
            let step = self.step(id)!
            let call = step.compensation
            let policy = step.definition.compensation!.retry
            switch call.phase {
            case .succeeded: continue
            case .pending: return schedule(step, .compensation, now: now)
            case .inFlight, .awaitingRetry, .awaitingLock: return nil
            case .attemptEnded:
                if call.canRetry(policy) {
                    return .timerSet(
                        timer: nextTimerID, purpose: .retry(step: id, phase: .compensation, attempt: call.attempts + 1),
                        dueAt: now &+ policy.delayMilliseconds(afterAttempt: max(1, call.attempts)), at: now)
                }
                let failure = call.lastFailure ?? SagaFailure(code: "unknown", message: "")
                return .parked(reason: .compensationFailed(id), failure: failure, at: now)
            }
        }
        if let name = firstLock(where: { if case .held = $0 { true } else { false } }) {
            return .lockReleased(name: name, at: now)
        }
        return reason == .cancelled ? .cancelled(at: now) : .compensated(at: now)
    }

    /// The next attempt of `phase`, with the request rendered at the first
    /// attempt (and re-sent unchanged by every later one).
    private func schedule(_ step: SagaStepState, _ phase: SagaPhase, now: UInt64) -> SagaEvent {
        let call = step[phase]
        let request: ParticipantRequest
        if let recorded = call.request {
            request = recorded
        } else {
            do { request = try render(step, phase) } catch {
                return .renderingFailed(step: step.id, phase: phase, failure: Self.renderingFailure(error), at: now)
            }
        }
        return .scheduled(step: step.id, phase: phase, attempt: call.attempts + 1, request: request, at: now)
    }

    func render(_ step: SagaStepState, _ phase: SagaPhase) throws(SagaTemplateError) -> ParticipantRequest {
        guard let template = step.definition.call(phase)?.request, let stream else {
            preconditionFailure("rendering \(phase) of \(step.id), which has none")
        }
        let context = templateContext
        let path = try context.renderText(try SagaTemplate(parsing: template.path), encoding: .pathComponent)
        let body = try template.body.map { (body) throws(SagaTemplateError) in try context.renderBody(body) }
        return ParticipantRequest(
            participant: template.participant, method: template.method, path: path, body: body,
            idempotencyKey: SagaNames.idempotencyKey(stream: stream, step: step.id, phase: phase))
    }

    static func renderingFailure(_ error: SagaTemplateError) -> SagaFailure {
        SagaFailure(code: "template_error", message: error.description)
    }

    /// The first lock, by name, whose state matches.
    private func firstLock(where matches: (SagaLockProgress.State) -> Bool) -> String? {
        locks.filter { matches($0.value.state) }.keys.min { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
