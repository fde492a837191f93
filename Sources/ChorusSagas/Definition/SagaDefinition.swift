import ChorusCore

/// A named, versioned saga: an ordered list of stages, each one step or a
/// parallel group of steps (README "Definition format").
///
/// The steps follow the structure of Garcia-Molina & Salem's sagas as
/// refined by Richardson (*Microservices Patterns*, §4.3.1): compensatable
/// steps, then at most one **pivot** (the go/no-go step, which has no
/// compensation), then **retriable** steps that only go forward.
///
///     stage 0        stage 1              stage 2        stage 3
///     [reserve] ──▶ [charge (pivot)] ──▶ [ship] ──▶ [notify-a | notify-b]
///     compensatable                      retriable      retriable group
///
/// A failure before the pivot has succeeded undoes the completed
/// compensatable steps in reverse order of completion; after it, steps are
/// retried and, if they still fail, the saga is parked for an operator.
/// `validate()` checks every structural rule; the orchestrator only runs
/// validated definitions, and a started saga records its definition in its
/// first event, so it keeps running the version it started with.
public struct SagaDefinition: Sendable, Hashable {
    /// Letters, digits, `_` and `.` (no `-`: see `SagaNames.stream`).
    public var name: String
    /// A positive version; a changed definition is registered under a new one.
    public var version: Int
    public var stages: [SagaStage]
    /// How long the saga may take before the pivot: when it passes and the
    /// pivot has not been sent, the saga compensates. Nil: no deadline.
    public var deadlineMilliseconds: UInt64?

    public init(name: String, version: Int, stages: [SagaStage], deadlineMilliseconds: UInt64? = nil) {
        self.name = name
        self.version = version
        self.stages = stages
        self.deadlineMilliseconds = deadlineMilliseconds
    }

    /// Every step, in definition order (stage by stage, members in order).
    public var steps: [SagaStep] { stages.flatMap(\.steps) }

    /// The step with `id`, if the definition has one.
    public func step(_ id: StepID) -> SagaStep? { steps.first { $0.id == id } }

    /// The pivot, if the definition has one.
    public var pivot: SagaStep? { steps.first { $0.kind == .pivot } }
}

/// One stage: a single step, or a parallel group whose members are all
/// called at once and which completes when every member has succeeded.
public struct SagaStage: Sendable, Hashable {
    public var steps: [SagaStep]
    /// Written as a `{"parallel": [...]}` group (even with one member).
    public var isParallel: Bool

    public init(steps: [SagaStep], isParallel: Bool) {
        self.steps = steps
        self.isParallel = isParallel
    }

    public static func single(_ step: SagaStep) -> SagaStage { SagaStage(steps: [step], isParallel: false) }
    public static func parallel(_ steps: [SagaStep]) -> SagaStage { SagaStage(steps: steps, isParallel: true) }
}

/// What role a step plays in the saga (Richardson §4.3.1).
public enum SagaStepKind: String, Sendable, Hashable, CaseIterable {
    /// May be undone by its compensation if a later step before the pivot fails.
    case compensatable
    /// The point of no return: once it succeeds the saga only goes forward.
    /// It has no compensation.
    case pivot
    /// After the pivot: retried until it succeeds; never compensated.
    case retriable
}

/// One step: its action, its optional compensation, how it is retried and
/// timed out, and the semantic lock it takes.
public struct SagaStep: Sendable, Hashable {
    public var id: StepID
    public var kind: SagaStepKind
    public var action: SagaRequestTemplate
    /// Only compensatable steps have one. A compensatable step without one
    /// has nothing to undo (a check or a read).
    public var compensation: SagaCompensation?
    public var retry: SagaRetryPolicy
    /// How long one attempt may take before it is recorded as timed out.
    public var attemptTimeoutMilliseconds: UInt64
    public var lock: SagaLockRequirement?

    public static let defaultAttemptTimeoutMilliseconds: UInt64 = 10_000

    public init(
        id: StepID, kind: SagaStepKind, action: SagaRequestTemplate, compensation: SagaCompensation? = nil,
        retry: SagaRetryPolicy = .default, attemptTimeoutMilliseconds: UInt64 = SagaStep.defaultAttemptTimeoutMilliseconds,
        lock: SagaLockRequirement? = nil
    ) {
        self.id = id
        self.kind = kind
        self.action = action
        self.compensation = compensation
        self.retry = retry
        self.attemptTimeoutMilliseconds = attemptTimeoutMilliseconds
        self.lock = lock
    }

    /// The request, retry policy and timeout of `phase`; nil for the
    /// compensation of a step without one.
    public func call(_ phase: SagaPhase) -> (request: SagaRequestTemplate, retry: SagaRetryPolicy, timeout: UInt64)? {
        switch phase {
        case .action: (action, retry, attemptTimeoutMilliseconds)
        case .compensation: compensation.map { ($0.request, $0.retry, $0.attemptTimeoutMilliseconds) }
        }
    }
}

/// A step's undo: a request of the same shape as the action, with its own
/// retry policy (by default three attempts, so that a compensation that keeps
/// failing parks the saga instead of retrying forever) and timeout.
public struct SagaCompensation: Sendable, Hashable {
    public var request: SagaRequestTemplate
    public var retry: SagaRetryPolicy
    public var attemptTimeoutMilliseconds: UInt64

    public init(
        request: SagaRequestTemplate, retry: SagaRetryPolicy = .compensationDefault,
        attemptTimeoutMilliseconds: UInt64 = SagaStep.defaultAttemptTimeoutMilliseconds
    ) {
        self.request = request
        self.retry = retry
        self.attemptTimeoutMilliseconds = attemptTimeoutMilliseconds
    }
}

/// The HTTP methods a step may use.
public enum SagaHTTPMethod: String, Sendable, Hashable, CaseIterable {
    case get = "GET"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
}

/// An HTTP request to a participant, before rendering: the participant's
/// name (the runtime maps it to a base URL, or to a Swift closure when Chorus
/// is a library), a method, a path template and a JSON body template.
public struct SagaRequestTemplate: Sendable, Hashable {
    public var participant: String
    public var method: SagaHTTPMethod
    /// A template; references are percent-encoded as path components.
    public var path: String
    /// A JSON value whose strings are templates; nil sends no body.
    public var body: JSONValue?

    public init(participant: String, method: SagaHTTPMethod, path: String, body: JSONValue? = nil) {
        self.participant = participant
        self.method = method
        self.path = path
        self.body = body
    }
}

/// A semantic lock (Richardson §4.3.2 "countermeasures"): a named reservation
/// a step takes before its action is sent and the saga holds until it ends
/// (completed, compensated or cancelled) or the reservation expires.
public struct SagaLockRequirement: Sendable, Hashable {
    /// A template, e.g. `account:{{input.accountId}}`.
    public var name: String
    /// How long the reservation lasts from the moment it is granted.
    public var expiryMilliseconds: UInt64
    public var onContention: SagaLockContention

    public init(name: String, expiryMilliseconds: UInt64, onContention: SagaLockContention) {
        self.name = name
        self.expiryMilliseconds = expiryMilliseconds
        self.onContention = onContention
    }
}

/// What a step does when another saga holds its lock.
public enum SagaLockContention: String, Sendable, Hashable, CaseIterable {
    /// Queue behind the holder (first come, first served) until it releases
    /// or its reservation expires.
    case wait
    /// Fail the step at once (code `lock_unavailable`, not retried).
    case fail
}
