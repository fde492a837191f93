import ChorusCore

/// The progress of one call of a step: its action, or its compensation.
///
/// Attempts are numbered from 1; `attempts` is the last one sent. The next
/// attempt is always `attempts + 1`, whatever brought it about (the first
/// call, a retry timer, a granted lock, an operator retry).
public struct SagaCallProgress: Sendable, Hashable {
    public enum Phase: Sendable, Hashable {
        /// To be sent next (attempt `attempts + 1`), once nothing holds it back.
        case pending
        /// Waiting for the lock table to grant `name`.
        case awaitingLock(name: String)
        /// Attempt `attempt` is sent; `timer` is its timeout once set.
        case inFlight(attempt: Int, timer: SagaTimerID?)
        /// The last attempt failed or timed out (`lastOutcome` says which):
        /// the saga retries it, gives up on it, or has stopped it.
        case attemptEnded
        /// Attempt `attempts + 1` waits for its backoff timer.
        case awaitingRetry(timer: SagaTimerID)
        /// Done: answered with success, or settled by an operator.
        case succeeded
    }

    /// How the last attempt ended.
    public enum Outcome: Sendable, Hashable {
        case succeeded
        case failed(retryable: Bool)
        case timedOut
    }

    public internal(set) var phase: Phase = .pending
    public internal(set) var attempts = 0
    /// `attempts` when an operator last retried: the policy's attempt budget
    /// counts from here.
    public internal(set) var budgetStart = 0
    public internal(set) var lastOutcome: Outcome?
    /// The stream position (0-based event number) of the last outcome: the
    /// order of completion that compensation reverses.
    public internal(set) var lastOutcomeRevision: Int?
    public internal(set) var lastFailure: SagaFailure?
    /// The request, rendered at the first attempt and re-sent by every later one.
    public internal(set) var request: ParticipantRequest?
    public internal(set) var resolvedByOperator = false

    public var isInFlight: Bool { if case .inFlight = phase { true } else { false } }

    /// The attempt in flight, if any.
    public var attemptInFlight: Int? { if case .inFlight(let attempt, _) = phase { attempt } else { nil } }

    /// Whether the ended attempt may be followed by another under `policy`.
    public func canRetry(_ policy: SagaRetryPolicy) -> Bool {
        guard phase == .attemptEnded else { return false }
        switch lastOutcome {
        case .timedOut, .failed(retryable: true): return attempts - budgetStart < policy.effectiveMaximumAttempts
        case .failed(retryable: false), .succeeded, nil: return false
        }
    }

    /// Ended, and no retry will follow.
    public func isGivenUp(_ policy: SagaRetryPolicy) -> Bool { phase == .attemptEnded && !canRetry(policy) }

    /// The last attempt ended without a definite answer: it timed out, or
    /// failed with a retryable error (a 503 or 504 from a gateway can follow
    /// an applied request). The participant may have applied it. Only a
    /// non-retryable refusal is definite: an idempotent participant that had
    /// applied the key would have answered with the stored success.
    public var isUncertain: Bool {
        phase == .attemptEnded && (lastOutcome == .timedOut || lastOutcome == .failed(retryable: true))
    }
}

/// One step of a running saga: its definition and both of its calls.
public struct SagaStepState: Sendable, Hashable {
    public let definition: SagaStep
    public let stageIndex: Int
    public internal(set) var action = SagaCallProgress()
    public internal(set) var compensation = SagaCallProgress()
    /// The action's result once it succeeded (or an operator resolved it).
    public internal(set) var result: JSONValue?

    public var id: StepID { definition.id }

    public subscript(phase: SagaPhase) -> SagaCallProgress {
        get { phase == .action ? action : compensation }
        set { if phase == .action { action = newValue } else { compensation = newValue } }
    }

    /// Whether compensation must undo this step: it is compensatable, has a
    /// compensation, and its action succeeded or may have (`isUncertain`).
    /// A step that was never sent, or whose last answer was a non-retryable
    /// refusal, did not take effect.
    public var needsCompensation: Bool {
        definition.kind == .compensatable && definition.compensation != nil
            && (action.phase == .succeeded || action.isUncertain)
    }
}

/// A reservation this saga asked for.
public struct SagaLockProgress: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case requested
        case held(grantedAt: UInt64, expiresAt: UInt64)
        case denied
        case released
        case expired(at: UInt64)
    }

    public let step: StepID
    public let expiryMilliseconds: UInt64
    public let contention: SagaLockContention
    public internal(set) var state: State
}

/// A durable timer that has been set and has neither fired nor been disarmed.
public struct SagaArmedTimer: Sendable, Hashable {
    public let purpose: SagaTimerPurpose
    public let dueAt: UInt64
}

/// One failure in a saga's history, for the graveyard and `chorus saga show`.
public struct SagaErrorRecord: Sendable, Hashable {
    public let step: StepID
    public let phase: SagaPhase
    public let attempt: Int
    public let failure: SagaFailure
    public let at: UInt64
}
