import ChorusCore

/// Everything that can happen to a saga from outside.
public enum SagaInput: Sendable, Hashable {
    /// Start the saga with `definition`, `sagaID` and `input`. A second start
    /// of a saga that exists answers `.alreadyStarted` and changes nothing.
    case start(definition: SagaDefinition, sagaID: SagaID, input: JSONValue)
    /// A participant answered an attempt.
    case reply(SagaReply)
    /// Time passed: fire the timers that are due.
    case tick
    /// A client asks to stop the saga and undo what it did.
    case cancel(reason: String)
    /// An operator retries what parked the saga, with a fresh attempt budget.
    case operatorRetry(note: String)
    /// An operator settles what parked the saga by hand.
    case operatorResolve(SagaResolution, note: String)
    /// The lock table granted a reservation this saga asked for.
    case lockGranted(name: String, grantedAt: UInt64, expiresAt: UInt64)
    /// The lock table refused a reservation (held, and the step does not wait).
    case lockDenied(name: String)
    /// The lock table expired a reservation this saga held, at `expiredAt`.
    case lockExpired(name: String, expiredAt: UInt64)
}

/// A participant's answer to one attempt.
public struct SagaReply: Sendable, Hashable {
    public var step: StepID
    public var phase: SagaPhase
    public var attempt: Int
    public var outcome: ParticipantOutcome

    public init(step: StepID, phase: SagaPhase, attempt: Int, outcome: ParticipantOutcome) {
        self.step = step
        self.phase = phase
        self.attempt = attempt
        self.outcome = outcome
    }
}

/// What a participant said.
public enum ParticipantOutcome: Sendable, Hashable {
    /// Success (HTTP 2xx), with the parsed body (`null` for an empty one).
    case succeeded(result: JSONValue)
    /// An error. `nonRetryable` marks errors the transport knows are final
    /// (the HTTP statuses listed in `ParticipantOutcome.nonRetryableStatuses`);
    /// the step's policy may name more codes.
    case failed(code: String, message: String, nonRetryable: Bool)

    /// HTTP statuses that mean the request itself is wrong, so repeating it
    /// cannot help: 400, 401, 403, 404, 405, 410, 413, 422. Every other
    /// non-2xx status (408, 409 — an idempotent request still in progress —,
    /// 429, 5xx) is retried.
    public static let nonRetryableStatuses: Set<Int> = [400, 401, 403, 404, 405, 410, 413, 422]

    /// The outcome of an HTTP response: 2xx with a JSON body (or none) is
    /// success; 2xx with a body that is not JSON is a retryable
    /// `invalid_response` (a retry with the same idempotency key asks again);
    /// any other status is a failure whose code is the body's
    /// `{"error":{"code":…}}` if it has one, else `http_<status>`.
    public static func classify(status: Int, body: [UInt8]) -> ParticipantOutcome {
        let parsed = body.isEmpty ? JSONValue.null : try? JSONValue(parsing: body, limits: SagaLimits.json)
        if (200..<300).contains(status) {
            if let parsed { return .succeeded(result: parsed) }
            var message = "the participant answered \(status) with a body that is not JSON"
            do { _ = try JSONValue(parsing: body, limits: SagaLimits.json) } catch { message += " (\(error))" }
            return .failed(code: "invalid_response", message: message, nonRetryable: false)
        }
        let error = parsed?["error"]
        let code = error?["code"]?.stringValue ?? "http_\(status)"
        let message = error?["message"]?.stringValue ?? "the participant answered HTTP \(status)"
        return .failed(code: code, message: message, nonRetryable: nonRetryableStatuses.contains(status))
    }
}

/// What became of an input. Independently of it, the decision's events may
/// include timers that were due and fired first.
public enum SagaResponse: Sendable, Hashable {
    case accepted
    /// A start for a saga that exists: the existing instance is the answer.
    case alreadyStarted
    case ignored(SagaIgnoredReason)
    case rejected(SagaRejection)
}

/// Why an input changed nothing, harmlessly.
public enum SagaIgnoredReason: Sendable, Hashable {
    /// The saga has completed, compensated or been cancelled.
    case sagaFinished
    /// The reply is not for the attempt in flight: late (the attempt timed
    /// out), duplicated, or for an attempt never sent. Never two outcomes for
    /// one attempt.
    case staleReply
    /// A lock notice for a reservation this saga does not wait for or hold.
    case staleLockNotice
    /// A cancel while the saga already compensates.
    case alreadyCompensating
    /// A second cancel.
    case cancelAlreadyRequested
}

/// Why an input was refused: the caller made a mistake.
public enum SagaRejection: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownSaga
    case invalidDefinition(SagaDefinitionError)
    case invalidSagaID(SagaID)
    case inputTooLarge(byteCount: Int, limit: Int)
    case unknownStep(StepID)
    /// A reply whose result exceeds `maximumResultBytes`; it is not recorded,
    /// and the attempt times out (it may have been applied).
    case resultTooLarge(byteCount: Int, limit: Int)
    /// An operator action on a saga that is not parked.
    case notParked(SagaStatus)
    /// A cancel after the pivot succeeded: there is no going back.
    case pivotPassed
    /// A cancel of a parked saga: an operator retries or resolves it.
    case sagaParked
    /// A `.failed` resolution for anything but a pivot with an unknown outcome.
    case resolutionNotAllowed(SagaParkReason)

    public var description: String {
        switch self {
        case .unknownSaga: "no saga with this id"
        case .invalidDefinition(let error): "invalid definition: \(error)"
        case .invalidSagaID(let id):
            "saga id \(JSONString.quoted(id.rawValue)) must be 1…\(SagaLimits.maximumSagaIDBytes) ASCII letters, digits and _ - . :"
        case .inputTooLarge(let count, let limit): "input of \(count) bytes exceeds the limit of \(limit)"
        case .unknownStep(let step): "the saga has no step \(step)"
        case .resultTooLarge(let count, let limit): "result of \(count) bytes exceeds the limit of \(limit)"
        case .notParked(let status): "the saga is \(status.name), not parked"
        case .pivotPassed: "the pivot has succeeded; the saga can only go forward"
        case .sagaParked: "the saga is parked; retry or resolve it"
        case .resolutionNotAllowed(let reason): "only a pivot with an unknown outcome can be resolved as failed (\(reason))"
        }
    }
}
