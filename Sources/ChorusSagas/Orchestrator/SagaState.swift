import ChorusCore

/// A saga's whole state: the fold of its stream, and nothing else.
///
/// `apply(_:)` is the only way the state changes, one recorded event at a
/// time, so the state after a crash is the fold of what was appended before
/// it, and two replicas that read the same stream hold the same state. The
/// fold checks that each event fits the state it is applied to and refuses a
/// stream that could not have been written by the orchestrator
/// (`SagaFoldError`), rather than trapping on bytes from a disk or a peer.
/// What the saga does next is a function of this state (`nextEvent`).
public struct SagaState: Sendable, Hashable {
    public internal(set) var status: SagaStatus = .notStarted
    /// Events applied; the next event is at revision `eventCount`.
    public internal(set) var eventCount = 0
    public internal(set) var definition: SagaDefinition?
    public internal(set) var sagaID: SagaID?
    public internal(set) var stream: String?
    public internal(set) var input: JSONValue = .null
    public internal(set) var startedAt: UInt64 = 0
    public internal(set) var finishedAt: UInt64?
    /// Every step, in definition order.
    public internal(set) var steps: [SagaStepState] = []
    var stepIndex: [StepID: Int] = [:]
    public internal(set) var timers: [SagaTimerID: SagaArmedTimer] = [:]
    var nextTimer: UInt64 = 1
    var deadlineTimerSet = false
    public internal(set) var deadlineExceeded = false
    public internal(set) var cancelRequested = false
    /// The first reservation that expired while the saga could still abort.
    public internal(set) var lostLock: String?
    public internal(set) var locks: [String: SagaLockProgress] = [:]
    /// The most recent failures, oldest first (at most `maximumErrorHistory`).
    public internal(set) var errorHistory: [SagaErrorRecord] = []
    /// The failure that parked the saga, while it is parked.
    public internal(set) var parkedFailure: SagaFailure?

    /// Failures kept in `errorHistory`.
    public static let maximumErrorHistory = 256

    public init() {}

    /// The state after `events`, applied in order.
    public init(replaying events: [SagaEvent]) throws(SagaFoldError) {
        for event in events { try apply(event) }
    }

    /// The revision the next append must expect.
    public var expectedRevision: SagaExpectedRevision {
        eventCount == 0 ? .noStream : .exact(UInt64(eventCount - 1))
    }

    public func step(_ id: StepID) -> SagaStepState? { stepIndex[id].map { steps[$0] } }

    var pivotIndex: Int? { steps.firstIndex { $0.definition.kind == .pivot } }

    /// The pivot succeeded: from here the saga only goes forward.
    public var pivotPassed: Bool { pivotIndex.map { steps[$0].action.phase == .succeeded } ?? false }

    /// The pivot has been sent at least once, so the saga may not abort
    /// until its outcome is known.
    var pivotSent: Bool { pivotIndex.map { steps[$0].action.attempts > 0 } ?? false }

    /// The first stage with a step that has not succeeded; nil when all have.
    var currentStage: Int? { steps.first { $0.action.phase != .succeeded }?.stageIndex }

    /// The steps to compensate, most recently completed first (README
    /// "Compensation order"): by the stream position of each step's last
    /// forward outcome, descending.
    public var compensationOrder: [StepID] {
        steps.filter(\.needsCompensation)
            .sorted { ($0.action.lastOutcomeRevision ?? -1) > ($1.action.lastOutcomeRevision ?? -1) }
            .map(\.id)
    }

    /// Results of the steps that have one, for rendering templates.
    var templateContext: SagaTemplateContext {
        var results: [StepID: JSONValue] = [:]
        for step in steps { if let result = step.result { results[step.id] = result } }
        return SagaTemplateContext(
            sagaID: sagaID ?? "", stream: stream ?? "", definitionName: definition?.name ?? "", input: input,
            results: results)
    }

    /// The earliest armed timer due at `now` (ties: the lowest id).
    func earliestDueTimer(now: UInt64) -> (SagaTimerID, SagaArmedTimer)? {
        timers.filter { $0.value.dueAt <= now }.min { ($0.value.dueAt, $0.key) < ($1.value.dueAt, $1.key) }
            .map { ($0.key, $0.value) }
    }

    /// The id the next `timerSet` must carry.
    var nextTimerID: SagaTimerID { SagaTimerID(nextTimer) }
}

/// The revision an append expects, in the event store's terms: no stream
/// yet, or the revision (0-based) of the stream's last event.
public enum SagaExpectedRevision: Sendable, Hashable {
    case noStream
    case exact(UInt64)
}

/// A stream event that does not fit the state it is applied to.
public struct SagaFoldError: Error, Sendable, Hashable, CustomStringConvertible {
    public var revision: Int
    public var message: String

    public var description: String { "saga stream event \(revision) does not fit the saga's state: \(message)" }
}
