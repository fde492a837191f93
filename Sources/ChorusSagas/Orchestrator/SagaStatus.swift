/// Where a saga is in its life.
///
///                      ┌──────────── pivot succeeded: forward only ───────────┐
///     notStarted ─▶ running ──────────────────────────────────────────────▶ completed
///                      │  step failed / cancel / deadline / lock expired      ▲
///                      ▼  (before the pivot was sent)                         │
///                 compensating ──────────────────────────▶ compensated | cancelled
///                      │   ▲                                                  │
///                      ▼   │ operator retry / resolve                         │
///                    parked ◀── step after the pivot failed / pivot unknown ──┘
///
/// `parked` is the graveyard: nothing is dropped, the error history stays in
/// the state, and only an operator moves the saga on.
public enum SagaStatus: Sendable, Hashable, CustomStringConvertible {
    case notStarted
    case running
    case compensating(SagaAbortReason)
    /// Waiting for an operator; `resumesCompensating` is the abort reason to
    /// continue with (nil: the saga resumes going forward).
    case parked(SagaParkReason, resumesCompensating: SagaAbortReason?)
    case completed
    case compensated
    case cancelled

    public var isFinal: Bool {
        switch self {
        case .completed, .compensated, .cancelled: true
        default: false
        }
    }

    /// Running or compensating: the saga makes progress on its own.
    public var isActive: Bool {
        switch self {
        case .running, .compensating: true
        default: false
        }
    }

    /// The name the API lists sagas by (`?state=parked`).
    public var name: String {
        switch self {
        case .notStarted: "not_started"
        case .running: "running"
        case .compensating: "compensating"
        case .parked: "parked"
        case .completed: "completed"
        case .compensated: "compensated"
        case .cancelled: "cancelled"
        }
    }

    public var description: String {
        switch self {
        case .compensating(let reason): "compensating (\(reason))"
        case .parked(let reason, _): "parked (\(reason))"
        default: name
        }
    }
}
