/// What the runtime must do once a decision's events are appended (README
/// "Effect contract").
///
/// Effects follow from appended events only, so they are carried out at
/// least once: after a crash or a leader change the runtime asks every saga
/// for its `resumptionEffects()`, which repeats the calls in flight (same
/// idempotency key, same request), the armed timers, the pending lock
/// requests and the releases. Every effect is therefore safe to repeat.
public enum SagaEffect: Sendable, Hashable, CustomStringConvertible {
    /// Send the request to the participant (with `Idempotency-Key`), then
    /// feed its answer back as `.reply` for this step, phase and attempt.
    case call(SagaCall)
    /// Feed `.tick` at or after `dueAt` (durably: the timer is in the stream).
    case setTimer(SagaTimerID, dueAt: UInt64)
    /// The timer is disarmed; a tick for it would do nothing.
    case cancelTimer(SagaTimerID)
    /// Ask the lock table for `name` on behalf of `owner` (the saga's stream).
    case acquireLock(name: String, owner: String, expiryMilliseconds: UInt64, contention: SagaLockContention)
    /// Release `name` (or withdraw the request) for `owner`.
    case releaseLock(name: String, owner: String)

    public var description: String {
        switch self {
        case .call(let call): "call \(call.step)\(call.phase == .compensation ? "/compensation" : "")#\(call.attempt) \(call.request)"
        case .setTimer(let timer, let dueAt): "set \(timer) at \(dueAt)"
        case .cancelTimer(let timer): "cancel \(timer)"
        case .acquireLock(let name, let owner, let expiry, let contention):
            "acquire \(name) for \(owner) expiry=\(expiry) \(contention.rawValue)"
        case .releaseLock(let name, let owner): "release \(name) for \(owner)"
        }
    }
}

/// One attempt to send: the reply must name the same step, phase and attempt.
public struct SagaCall: Sendable, Hashable {
    public var step: StepID
    public var phase: SagaPhase
    public var attempt: Int
    public var request: ParticipantRequest

    public init(step: StepID, phase: SagaPhase, attempt: Int, request: ParticipantRequest) {
        self.step = step
        self.phase = phase
        self.attempt = attempt
        self.request = request
    }
}
