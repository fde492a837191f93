/// The invariants of a quiescent saga state (the state at the end of every
/// decision), checked in debug builds after each decision (STYLE.md habit 4:
/// O(n) checks in debug and simulation). A violation is a bug in the
/// orchestrator, never bad input: input that does not fit is refused by the
/// fold or answered with a rejection.
extension SagaState {
    /// The first broken invariant, or nil.
    func invariantViolation() -> String? {
        // Timers and phases point at each other: every armed timer is owned
        // by exactly the phase it was set for, and every phase that waits on
        // a timer has it armed.
        for (id, timer) in timers {
            switch timer.purpose {
            case .attemptTimeout(let step, let phase, let attempt):
                guard self.step(step)?[phase].phase == .inFlight(attempt: attempt, timer: id) else {
                    return "\(id) (\(timer.purpose)) is armed but \(step) \(phase) is not in flight with it"
                }
            case .retry(let step, let phase, _):
                guard self.step(step)?[phase].phase == .awaitingRetry(timer: id) else {
                    return "\(id) (\(timer.purpose)) is armed but \(step) \(phase) does not wait for it"
                }
            case .deadline:
                guard status == .running, !pivotPassed, !deadlineExceeded else {
                    return "the deadline timer is armed while \(status)"
                }
            }
        }
        for step in steps {
            for phase in SagaPhase.allCases {
                switch step[phase].phase {
                case .inFlight(let attempt, let timer):
                    guard let timer, timers[timer] != nil else { return "\(step.id) \(phase) attempt \(attempt) has no armed timeout" }
                    guard step[phase].request != nil else { return "\(step.id) \(phase) is in flight without a request" }
                case .awaitingRetry(let timer):
                    guard timers[timer] != nil else { return "\(step.id) \(phase) waits for a retry timer that is not armed" }
                case .awaitingLock(let name):
                    guard locks[name]?.state == .requested else { return "\(step.id) waits for lock \(name), which is not requested" }
                    guard status == .running else { return "\(step.id) waits for a lock while \(status)" }
                case .pending, .attemptEnded, .succeeded:
                    break
                }
            }
        }
        switch status {
        case .completed, .compensated, .cancelled:
            if !timers.isEmpty { return "a finished saga has armed timers" }
            if locks.values.contains(where: { if case .held = $0.state { true } else { false } }) {
                return "a finished saga holds a lock"
            }
        case .parked:
            if !timers.isEmpty { return "a parked saga has armed timers" }
            if steps.contains(where: { $0.action.isInFlight || $0.compensation.isInFlight }) { return "a parked saga has calls in flight" }
        case .compensating:
            if steps.contains(where: { $0.compensation.isInFlight }) && steps.contains(where: { $0.action.isInFlight }) {
                return "a compensation runs while a forward attempt is still in flight"
            }
            if steps.filter({ $0.compensation.isInFlight }).count > 1 { return "two compensations run at once" }
        case .running, .notStarted:
            break
        }
        return nil
    }
}
