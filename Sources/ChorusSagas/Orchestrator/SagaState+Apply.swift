import ChorusCore

/// The fold: how each recorded event changes the state. Nothing here decides
/// anything; it records what a decision said (README "Semantics").
extension SagaState {
    public mutating func apply(_ event: SagaEvent) throws(SagaFoldError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(SagaFoldError) {
            guard condition else { throw SagaFoldError(revision: eventCount, message: message()) }
        }
        if case .started = event {
            try require(status == .notStarted, "a second started event")
        } else {
            try require(status != .notStarted, "\(SagaEventType(event).rawValue) before started")
            try require(!status.isFinal, "\(SagaEventType(event).rawValue) after the saga finished")
        }

        switch event {
        case .started(let definition, let sagaID, let input, let at):
            do { try definition.validate() } catch { try require(false, "the recorded definition is invalid: \(error)") }
            try require(SagaNames.isValidSagaID(sagaID), "the recorded saga id is invalid")
            self.definition = definition
            self.sagaID = sagaID
            self.stream = SagaNames.stream(definition: definition.name, id: sagaID)
            self.input = input
            startedAt = at
            for (stageIndex, stage) in definition.stages.enumerated() {
                for step in stage.steps {
                    stepIndex[step.id] = steps.count
                    steps.append(SagaStepState(definition: step, stageIndex: stageIndex))
                }
            }
            status = .running

        case .scheduled(let step, let phase, let attempt, let request, _):
            let index = try indexOf(step)
            var call = steps[index][phase]
            try require(status.isActive, "a call scheduled while \(status)")
            try require(call.phase == .pending, "\(step) \(phase) scheduled while \(call.phase)")
            try require(attempt == call.attempts + 1, "\(step) \(phase) attempt \(attempt) after \(call.attempts)")
            try require(phase == .action || steps[index].definition.compensation != nil, "\(step) has no compensation")
            if let recorded = call.request {
                try require(recorded == request, "\(step) \(phase) attempt \(attempt) changed its request")
            }
            call.request = request
            call.attempts = attempt
            call.phase = .inFlight(attempt: attempt, timer: nil)
            steps[index][phase] = call

        case .succeeded(let step, let phase, let attempt, let result, _):
            let index = try indexOf(step)
            var call = steps[index][phase]
            try require(call.attemptInFlight == attempt, "\(step) \(phase) attempt \(attempt) succeeded while \(call.phase)")
            disarmTimer(of: call)
            call.phase = .succeeded
            call.lastOutcome = .succeeded
            call.lastOutcomeRevision = eventCount
            steps[index][phase] = call
            if phase == .action {
                steps[index].result = result
                if steps[index].definition.kind == .pivot { disarmTimers { $0 == .deadline } }
            }

        case .failed(let step, let phase, let attempt, let failure, let retryable, let at):
            let index = try indexOf(step)
            var call = steps[index][phase]
            try require(call.attemptInFlight == attempt, "\(step) \(phase) attempt \(attempt) failed while \(call.phase)")
            disarmTimer(of: call)
            call.phase = .attemptEnded
            call.lastOutcome = .failed(retryable: retryable)
            call.lastOutcomeRevision = eventCount
            call.lastFailure = failure
            steps[index][phase] = call
            recordError(step: step, phase: phase, attempt: attempt, failure: failure, at: at)

        case .timedOut(let step, let phase, let attempt, let at):
            let index = try indexOf(step)
            var call = steps[index][phase]
            try require(call.attemptInFlight == attempt, "\(step) \(phase) attempt \(attempt) timed out while \(call.phase)")
            disarmTimer(of: call)
            let failure = SagaFailure(code: "timeout", message: "attempt \(attempt) had no answer within its timeout")
            call.phase = .attemptEnded
            call.lastOutcome = .timedOut
            call.lastOutcomeRevision = eventCount
            call.lastFailure = failure
            steps[index][phase] = call
            recordError(step: step, phase: phase, attempt: attempt, failure: failure, at: at)

        case .renderingFailed(let step, let phase, let failure, let at):
            let index = try indexOf(step)
            var call = steps[index][phase]
            try require(call.phase == .pending && call.request == nil, "\(step) \(phase) rendering failed while \(call.phase)")
            call.phase = .attemptEnded
            call.lastOutcome = .failed(retryable: false)
            call.lastOutcomeRevision = eventCount
            call.lastFailure = failure
            steps[index][phase] = call
            recordError(step: step, phase: phase, attempt: call.attempts + 1, failure: failure, at: at)

        case .lockRequested(let name, let step, let expiryMilliseconds, let contention, _):
            let index = try indexOf(step)
            try require(status == .running, "a lock requested while \(status)")
            try require(steps[index].action.phase == .pending, "\(step) requested a lock while \(steps[index].action.phase)")
            if case .held = locks[name]?.state { try require(false, "lock \(name) requested while held") }
            steps[index].action.phase = .awaitingLock(name: name)
            locks[name] = SagaLockProgress(step: step, expiryMilliseconds: expiryMilliseconds, contention: contention, state: .requested)

        case .lockAcquired(let name, _, let grantedAt, let expiresAt, _):
            try require(locks[name]?.state == .requested, "lock \(name) acquired without a request")
            locks[name]!.state = .held(grantedAt: grantedAt, expiresAt: expiresAt)
            forEachAwaiting(lock: name) { $0.phase = .pending }

        case .lockDenied(let name, _, let at):
            try require(locks[name]?.state == .requested, "lock \(name) denied without a request")
            locks[name]!.state = .denied
            let failure = SagaFailure(code: "lock_unavailable", message: "lock \(name) is held by another saga")
            for index in steps.indices where steps[index].action.phase == .awaitingLock(name: name) {
                steps[index].action.phase = .attemptEnded
                steps[index].action.lastOutcome = .failed(retryable: false)
                steps[index].action.lastOutcomeRevision = eventCount
                steps[index].action.lastFailure = failure
                recordError(step: steps[index].id, phase: .action, attempt: steps[index].action.attempts + 1, failure: failure, at: at)
            }

        case .lockReleased(let name, _):
            switch locks[name]?.state {
            case .requested?:
                try require(status != .running, "lock request \(name) withdrawn while running")
                forEachAwaiting(lock: name) { $0.phase = .pending }
            case .held?: break
            default: try require(false, "lock \(name) released while not held or requested")
            }
            locks[name]!.state = .released

        case .lockExpired(let name, let expiredAt, _):
            guard case .held? = locks[name]?.state else {
                try require(false, "lock \(name) expired while not held")
                break
            }
            locks[name]!.state = .expired(at: expiredAt)
            if status == .running && !pivotPassed && lostLock == nil { lostLock = name }

        case .timerSet(let timer, let purpose, let dueAt, _):
            try require(timer == nextTimerID, "timer \(timer) set where \(nextTimerID) was next")
            try require(status.isActive, "a timer set while \(status)")
            nextTimer += 1
            timers[timer] = SagaArmedTimer(purpose: purpose, dueAt: dueAt)
            switch purpose {
            case .attemptTimeout(let step, let phase, let attempt):
                let index = try indexOf(step)
                try require(
                    steps[index][phase].phase == .inFlight(attempt: attempt, timer: nil),
                    "timeout of \(step) \(phase) attempt \(attempt) set while \(steps[index][phase].phase)")
                steps[index][phase].phase = .inFlight(attempt: attempt, timer: timer)
            case .retry(let step, let phase, let attempt):
                let index = try indexOf(step)
                let call = steps[index][phase]
                try require(call.phase == .attemptEnded && attempt == call.attempts + 1, "retry of \(step) \(phase) set while \(call.phase)")
                steps[index][phase].phase = .awaitingRetry(timer: timer)
            case .deadline:
                try require(!deadlineTimerSet, "a second deadline timer")
                deadlineTimerSet = true
            }

        case .timerFired(let timer, _):
            guard let armed = timers.removeValue(forKey: timer) else {
                try require(false, "timer \(timer) fired while not armed")
                break
            }
            switch armed.purpose {
            case .attemptTimeout: break  // the timedOut event that follows records the consequence
            case .retry(let step, let phase, _):
                let index = try indexOf(step)
                steps[index][phase].phase = .pending
            case .deadline:
                deadlineExceeded = true
            }

        case .cancelRequested:
            try require(status == .running && !cancelRequested, "cancel requested while \(status)")
            cancelRequested = true

        case .aborted(let reason, _):
            try require(status == .running, "aborted while \(status)")
            status = .compensating(reason)
            disarmTimers { $0 == .deadline }
            for index in steps.indices {
                var call = steps[index].action
                switch call.phase {
                case .awaitingRetry(let timer):
                    timers[timer] = nil
                    call.phase = .attemptEnded
                case .pending where call.attempts > 0:
                    call.phase = .attemptEnded
                default: break
                }
                steps[index].action = call
            }

        case .parked(let reason, let failure, _):
            switch status {
            case .running: status = .parked(reason, resumesCompensating: nil)
            case .compensating(let abort): status = .parked(reason, resumesCompensating: abort)
            default: try require(false, "parked while \(status)")
            }
            _ = try indexOf(reason.step)
            timers.removeAll()
            parkedFailure = failure

        case .operatorRetried:
            guard case .parked(let reason, let resume) = status else {
                try require(false, "operator retry while \(status)")
                break
            }
            let index = try indexOf(reason.step)
            switch reason {
            case .compensationFailed:
                steps[index].compensation.phase = .pending
                steps[index].compensation.budgetStart = steps[index].compensation.attempts
            case .stepFailed, .pivotUncertain:
                let policyOf = { (step: SagaStepState) in step.definition.retry }
                for member in steps.indices
                where steps[member].stageIndex == steps[index].stageIndex && steps[member].action.isGivenUp(policyOf(steps[member])) {
                    steps[member].action.phase = .pending
                    steps[member].action.budgetStart = steps[member].action.attempts
                }
            }
            status = resume.map { .compensating($0) } ?? .running
            parkedFailure = nil

        case .operatorResolved(let resolution, _, _):
            guard case .parked(let reason, let resume) = status else {
                try require(false, "operator resolution while \(status)")
                break
            }
            let index = try indexOf(reason.step)
            switch (reason, resolution) {
            case (.compensationFailed, .succeeded):
                steps[index].compensation.phase = .succeeded
                steps[index].compensation.resolvedByOperator = true
            case (.stepFailed, .succeeded(let result)), (.pivotUncertain, .succeeded(let result)):
                steps[index].action.phase = .succeeded
                steps[index].action.lastOutcome = .succeeded
                steps[index].action.lastOutcomeRevision = eventCount
                steps[index].action.resolvedByOperator = true
                steps[index].result = result
            case (.pivotUncertain, .failed(let code)):
                steps[index].action.lastOutcome = .failed(retryable: false)
                steps[index].action.lastOutcomeRevision = eventCount
                steps[index].action.lastFailure = SagaFailure(code: code, message: "resolved as failed by an operator")
                steps[index].action.resolvedByOperator = true
            case (.compensationFailed, .failed), (.stepFailed, .failed):
                try require(false, "a failed resolution is only for a pivot whose outcome is unknown")
            }
            status = resume.map { .compensating($0) } ?? .running
            parkedFailure = nil

        case .completed(let at):
            try require(status == .running && currentStage == nil, "completed while \(status) with steps left")
            try finish(.completed, at: at)
        case .compensated(let at):
            guard case .compensating(let reason) = status, reason != .cancelled else {
                try require(false, "compensated while \(status)")
                break
            }
            try finish(.compensated, at: at)
        case .cancelled(let at):
            try require(status == .compensating(.cancelled), "cancelled while \(status)")
            try finish(.cancelled, at: at)
        }
        eventCount += 1
    }

    private mutating func finish(_ final: SagaStatus, at: UInt64) throws(SagaFoldError) {
        let held = locks.filter { if case .held = $0.value.state { true } else { false } }.keys
        if let name = held.min(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            throw SagaFoldError(revision: eventCount, message: "the saga finished holding lock \(name)")
        }
        status = final
        finishedAt = at
        timers.removeAll()
    }

    private func indexOf(_ step: StepID) throws(SagaFoldError) -> Int {
        guard let index = stepIndex[step] else {
            throw SagaFoldError(revision: eventCount, message: "unknown step \(step)")
        }
        return index
    }

    private mutating func disarmTimer(of call: SagaCallProgress) {
        if case .inFlight(_, let timer?) = call.phase { timers[timer] = nil }
    }

    private mutating func disarmTimers(where matches: (SagaTimerPurpose) -> Bool) {
        for (id, timer) in timers where matches(timer.purpose) { timers[id] = nil }
    }

    private mutating func forEachAwaiting(lock name: String, _ body: (inout SagaCallProgress) -> Void) {
        for index in steps.indices where steps[index].action.phase == .awaitingLock(name: name) {
            body(&steps[index].action)
        }
    }

    private mutating func recordError(step: StepID, phase: SagaPhase, attempt: Int, failure: SagaFailure, at: UInt64) {
        if errorHistory.count == Self.maximumErrorHistory { errorHistory.removeFirst() }
        errorHistory.append(SagaErrorRecord(step: step, phase: phase, attempt: attempt, failure: failure, at: at))
    }
}
