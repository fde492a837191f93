/// One line per event, for `chorus saga show ID` and for tests that pin a
/// saga's exact event sequence as readable text (STYLE.md habit 8).
extension SagaEvent {
    /// The event without its time: `scheduled charge#2`, `aborted step
    /// charge failed (card_declined)`, `timer-set 3 retry reserve#2 due 2000`.
    public var summary: String {
        func call(_ step: StepID, _ phase: SagaPhase, _ attempt: Int) -> String {
            "\(step)\(phase == .compensation ? "/c" : "")#\(attempt)"
        }
        switch self {
        case .started(let definition, let sagaID, _, _): return "started \(definition.name) v\(definition.version) \(sagaID)"
        case .scheduled(let step, let phase, let attempt, _, _): return "scheduled \(call(step, phase, attempt))"
        case .succeeded(let step, let phase, let attempt, _, _): return "succeeded \(call(step, phase, attempt))"
        case .failed(let step, let phase, let attempt, let failure, let retryable, _):
            return "failed \(call(step, phase, attempt)) \(failure.code) \(retryable ? "retryable" : "final")"
        case .timedOut(let step, let phase, let attempt, _): return "timed-out \(call(step, phase, attempt))"
        case .renderingFailed(let step, let phase, let failure, _):
            return "rendering-failed \(step)\(phase == .compensation ? "/c" : "") \(failure.code)"
        case .lockRequested(let name, let step, _, let contention, _): return "lock-requested \(name) by \(step) \(contention.rawValue)"
        case .lockAcquired(let name, _, _, let expiresAt, _): return "lock-acquired \(name) until \(expiresAt)"
        case .lockDenied(let name, _, _): return "lock-denied \(name)"
        case .lockReleased(let name, _): return "lock-released \(name)"
        case .lockExpired(let name, let expiredAt, _): return "lock-expired \(name) at \(expiredAt)"
        case .timerSet(let timer, let purpose, let dueAt, _): return "timer-set \(timer.rawValue) \(purpose) due \(dueAt)"
        case .timerFired(let timer, _): return "timer-fired \(timer.rawValue)"
        case .cancelRequested: return "cancel-requested"
        case .aborted(let reason, _): return "aborted \(reason)"
        case .parked(let reason, let failure, _): return "parked \(reason): \(failure.code)"
        case .operatorRetried: return "operator-retried"
        case .operatorResolved(let resolution, _, _):
            switch resolution {
            case .succeeded: return "operator-resolved succeeded"
            case .failed(let code): return "operator-resolved failed \(code)"
            }
        case .completed: return "completed"
        case .compensated: return "compensated"
        case .cancelled: return "cancelled"
        }
    }
}

public enum SagaTimeline {
    /// The stream as numbered lines with the time since the saga started:
    /// `  4  +1.250s  failed charge#1 card_declined final`.
    public static func lines(_ events: [SagaEvent]) -> [String] {
        let start = events.first?.at ?? 0
        return events.enumerated().map { index, event in
            let elapsed = event.at >= start ? event.at - start : 0
            let seconds = "\(elapsed / 1_000).\(String(repeating: "0", count: 3 - String(elapsed % 1_000).count))\(elapsed % 1_000)s"
            let number = String(index)
            return String(repeating: " ", count: max(0, 4 - number.count)) + number + "  +" + seconds + "  " + event.summary
        }
    }
}
