import ChorusCore

/// One decision of a saga, as recorded in its stream (`saga-{definition}-{id}`).
///
/// The stream is the saga: its state is the fold of these events
/// (`SagaState`), nothing else is kept, so a crash, a restart or a leader
/// change resumes exactly where the stream ends, and replaying a stream gives
/// the same decisions. Every event carries the time of the decision (`at`,
/// milliseconds of the runtime's clock, passed in), so a stream is a
/// timeline. README "Events" lists the type names and their fields.
public enum SagaEvent: Sendable, Hashable {
    /// The first event: the definition the saga runs (recorded whole, so a
    /// later version never changes a running saga), its id and input.
    case started(definition: SagaDefinition, sagaID: SagaID, input: JSONValue, at: UInt64)
    /// An attempt of a step's action or compensation is sent. The request is
    /// rendered once, at the first attempt, and every attempt sends it again
    /// with the same idempotency key.
    case scheduled(step: StepID, phase: SagaPhase, attempt: Int, request: ParticipantRequest, at: UInt64)
    /// The participant answered the attempt with success.
    case succeeded(step: StepID, phase: SagaPhase, attempt: Int, result: JSONValue, at: UInt64)
    /// The participant answered the attempt with an error; `retryable` is
    /// the policy's verdict on its code.
    case failed(step: StepID, phase: SagaPhase, attempt: Int, failure: SagaFailure, retryable: Bool, at: UInt64)
    /// No answer within the attempt timeout. The attempt may have been
    /// applied; any later answer to it is discarded.
    case timedOut(step: StepID, phase: SagaPhase, attempt: Int, at: UInt64)
    /// The request could not be rendered from its templates (a referenced
    /// member is missing); the call is never sent and the step fails.
    case renderingFailed(step: StepID, phase: SagaPhase, failure: SagaFailure, at: UInt64)
    /// The step asks the lock table for its reservation.
    case lockRequested(name: String, step: StepID, expiryMilliseconds: UInt64, contention: SagaLockContention, at: UInt64)
    /// The lock table granted the reservation, valid until `expiresAt`.
    case lockAcquired(name: String, step: StepID, grantedAt: UInt64, expiresAt: UInt64, at: UInt64)
    /// The lock was held by another saga and the step does not wait.
    case lockDenied(name: String, step: StepID, at: UInt64)
    /// The saga gives the reservation back (or withdraws its request).
    case lockReleased(name: String, at: UInt64)
    /// The lock table expired the reservation at `expiredAt`.
    case lockExpired(name: String, expiredAt: UInt64, at: UInt64)
    /// A durable timer: it survives crashes (it is in the stream) and fires once.
    case timerSet(timer: SagaTimerID, purpose: SagaTimerPurpose, dueAt: UInt64, at: UInt64)
    case timerFired(timer: SagaTimerID, at: UInt64)
    /// A client asked to cancel; it takes effect as soon as no pivot is in flight.
    case cancelRequested(reason: String, at: UInt64)
    /// The saga stops going forward and compensates what completed.
    case aborted(reason: SagaAbortReason, at: UInt64)
    /// The saga waits for an operator (the graveyard), with the last error.
    case parked(reason: SagaParkReason, failure: SagaFailure, at: UInt64)
    /// An operator retries the parked step or compensation with fresh attempts.
    case operatorRetried(note: String, at: UInt64)
    /// An operator settles the parked step or compensation by hand.
    case operatorResolved(resolution: SagaResolution, note: String, at: UInt64)
    /// Final: every step succeeded.
    case completed(at: UInt64)
    /// Final: the saga aborted and every compensation ran.
    case compensated(at: UInt64)
    /// Final: the saga was cancelled and every compensation ran.
    case cancelled(at: UInt64)

    /// The time of the decision.
    public var at: UInt64 {
        switch self {
        case .started(_, _, _, let at), .scheduled(_, _, _, _, let at), .succeeded(_, _, _, _, let at),
            .failed(_, _, _, _, _, let at), .timedOut(_, _, _, let at), .renderingFailed(_, _, _, let at),
            .lockRequested(_, _, _, _, let at), .lockAcquired(_, _, _, _, let at), .lockDenied(_, _, let at),
            .lockReleased(_, let at), .lockExpired(_, _, let at), .timerSet(_, _, _, let at), .timerFired(_, let at),
            .cancelRequested(_, let at), .aborted(_, let at), .parked(_, _, let at), .operatorRetried(_, let at),
            .operatorResolved(_, _, let at), .completed(let at), .compensated(let at), .cancelled(let at):
            at
        }
    }

    /// Whether this event ends the saga for good.
    public var isFinal: Bool {
        switch self {
        case .completed, .compensated, .cancelled: true
        default: false
        }
    }
}

/// An error as recorded: a machine-readable code and a sentence.
public struct SagaFailure: Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    /// Codes and messages are bounded: an over-long code is cut to
    /// `maximumErrorCodeBytes`, a message to `maximumErrorMessageBytes`.
    public init(code: String, message: String) {
        self.code = Self.truncated(code, to: SagaLimits.maximumErrorCodeBytes)
        self.message = Self.truncated(message, to: SagaLimits.maximumErrorMessageBytes)
    }

    static func truncated(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        for character in text {
            if result.utf8.count + character.utf8.count > limit { break }
            result.append(character)
        }
        return result
    }

    public var description: String { message.isEmpty ? code : "\(code): \(message)" }
}

/// A rendered participant call: what goes on the wire (with the
/// `Idempotency-Key` header) and what the participant de-duplicates on.
public struct ParticipantRequest: Sendable, Hashable, CustomStringConvertible {
    public var participant: String
    public var method: SagaHTTPMethod
    public var path: String
    public var body: JSONValue?
    public var idempotencyKey: String

    public init(participant: String, method: SagaHTTPMethod, path: String, body: JSONValue?, idempotencyKey: String) {
        self.participant = participant
        self.method = method
        self.path = path
        self.body = body
        self.idempotencyKey = idempotencyKey
    }

    public var description: String {
        "\(method.rawValue) \(participant)\(path) key=\(idempotencyKey)" + (body.map { " body=\($0.text)" } ?? "")
    }
}

/// Why a saga stopped going forward.
public enum SagaAbortReason: Sendable, Hashable, CustomStringConvertible {
    /// A step before the pivot (or the pivot) failed for good.
    case stepFailed(StepID, code: String)
    case cancelled
    /// The definition's deadline passed before the pivot was sent.
    case deadlineExceeded
    /// A reservation expired before the pivot was sent.
    case lockExpired(name: String)

    public var description: String {
        switch self {
        case .stepFailed(let step, let code): "step \(step) failed (\(code))"
        case .cancelled: "cancelled"
        case .deadlineExceeded: "deadline exceeded"
        case .lockExpired(let name): "lock \(name) expired"
        }
    }
}

/// What a parked saga waits on.
public enum SagaParkReason: Sendable, Hashable, CustomStringConvertible {
    /// A compensation failed for good: what it undoes is still in effect.
    case compensationFailed(StepID)
    /// A step after the pivot failed for good: it cannot be compensated.
    case stepFailed(StepID)
    /// The pivot's attempts ran out without a definite answer (the last timed
    /// out or failed with a retryable error): it may or may not have taken
    /// effect, and it has no compensation.
    case pivotUncertain(StepID)

    public var step: StepID {
        switch self {
        case .compensationFailed(let step), .stepFailed(let step), .pivotUncertain(let step): step
        }
    }

    public var description: String {
        switch self {
        case .compensationFailed(let step): "compensation of \(step) failed"
        case .stepFailed(let step): "step \(step) failed after the pivot"
        case .pivotUncertain(let step): "the outcome of pivot \(step) is unknown"
        }
    }
}

/// What a durable timer is for.
public enum SagaTimerPurpose: Sendable, Hashable, CustomStringConvertible {
    /// The timeout of one attempt.
    case attemptTimeout(step: StepID, phase: SagaPhase, attempt: Int)
    /// The backoff before `attempt` is sent.
    case retry(step: StepID, phase: SagaPhase, attempt: Int)
    /// The definition's overall deadline.
    case deadline

    public var description: String {
        switch self {
        case .attemptTimeout(let step, let phase, let attempt): "timeout \(step)\(phase == .compensation ? "/c" : "")#\(attempt)"
        case .retry(let step, let phase, let attempt): "retry \(step)\(phase == .compensation ? "/c" : "")#\(attempt)"
        case .deadline: "deadline"
        }
    }
}

/// How an operator settles a parked saga by hand.
public enum SagaResolution: Sendable, Hashable {
    /// The parked step (or compensation) is done: for a step, with this
    /// result, which later templates may read.
    case succeeded(result: JSONValue)
    /// Only for a pivot whose outcome is unknown: it did not take effect,
    /// and the saga compensates.
    case failed(code: String)
}
