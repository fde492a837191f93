/// The event-store type name of each saga event (README "Events"). A step's
/// action and its compensation have separate names, so a subscription can
/// filter on `SagaCompensation` by prefix.
public enum SagaEventType: String, Sendable, Hashable, CaseIterable {
    case started = "SagaStarted"
    case stepScheduled = "SagaStepScheduled"
    case stepSucceeded = "SagaStepSucceeded"
    case stepFailed = "SagaStepFailed"
    case stepTimedOut = "SagaStepTimedOut"
    case stepRenderingFailed = "SagaStepRenderingFailed"
    case compensationScheduled = "SagaCompensationScheduled"
    case compensationSucceeded = "SagaCompensationSucceeded"
    case compensationFailed = "SagaCompensationFailed"
    case compensationTimedOut = "SagaCompensationTimedOut"
    case compensationRenderingFailed = "SagaCompensationRenderingFailed"
    case lockRequested = "SagaLockRequested"
    case lockAcquired = "SagaLockAcquired"
    case lockDenied = "SagaLockDenied"
    case lockReleased = "SagaLockReleased"
    case lockExpired = "SagaLockExpired"
    case timerSet = "SagaTimerSet"
    case timerFired = "SagaTimerFired"
    case cancelRequested = "SagaCancelRequested"
    case aborted = "SagaAborted"
    case parked = "SagaParked"
    case operatorRetried = "SagaOperatorRetried"
    case operatorResolved = "SagaOperatorResolved"
    case completed = "SagaCompleted"
    case compensated = "SagaCompensated"
    case cancelled = "SagaCancelled"

    public init(_ event: SagaEvent) {
        func pick(_ phase: SagaPhase, _ action: SagaEventType, _ compensation: SagaEventType) -> SagaEventType {
            phase == .action ? action : compensation
        }
        switch event {
        case .started: self = .started
        case .scheduled(_, let phase, _, _, _): self = pick(phase, .stepScheduled, .compensationScheduled)
        case .succeeded(_, let phase, _, _, _): self = pick(phase, .stepSucceeded, .compensationSucceeded)
        case .failed(_, let phase, _, _, _, _): self = pick(phase, .stepFailed, .compensationFailed)
        case .timedOut(_, let phase, _, _): self = pick(phase, .stepTimedOut, .compensationTimedOut)
        case .renderingFailed(_, let phase, _, _): self = pick(phase, .stepRenderingFailed, .compensationRenderingFailed)
        case .lockRequested: self = .lockRequested
        case .lockAcquired: self = .lockAcquired
        case .lockDenied: self = .lockDenied
        case .lockReleased: self = .lockReleased
        case .lockExpired: self = .lockExpired
        case .timerSet: self = .timerSet
        case .timerFired: self = .timerFired
        case .cancelRequested: self = .cancelRequested
        case .aborted: self = .aborted
        case .parked: self = .parked
        case .operatorRetried: self = .operatorRetried
        case .operatorResolved: self = .operatorResolved
        case .completed: self = .completed
        case .compensated: self = .compensated
        case .cancelled: self = .cancelled
        }
    }

    var phase: SagaPhase {
        switch self {
        case .compensationScheduled, .compensationSucceeded, .compensationFailed, .compensationTimedOut,
            .compensationRenderingFailed:
            .compensation
        default: .action
        }
    }
}
