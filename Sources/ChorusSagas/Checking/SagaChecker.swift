/// Checks recorded saga streams and participants' effect logs against the
/// guarantees the saga engine claims (issue 12, "Proof"), independently of
/// the orchestrator: it reads the events and the definition recorded in each
/// stream and never uses `SagaState`, so a bug in the fold cannot hide itself.
///
/// - **Ends visible**: every saga ends completed, compensated or cancelled,
///   or is parked (waiting for an operator); nothing comes after its end.
/// - **One outcome per attempt**: no attempt has two recorded outcomes, and
///   none has an outcome without having been sent.
/// - **Stable idempotency keys**: every attempt of one step's action (or
///   compensation) carries the same key.
/// - **Reverse order**: compensations run one at a time, in reverse order of
///   completion (by the position of each step's last forward outcome), over
///   exactly the steps that succeeded or may have (the last attempt timed out
///   or failed with a retryable error; only a non-retryable refusal proves
///   that nothing was applied);
///   a compensated or cancelled saga compensated all of them, and a saga
///   that never aborted compensated nothing.
/// - **Applied once**: no participant applied one idempotency key twice, no
///   step was applied under two keys, and no key was applied that no saga sent.
/// - **Exclusive locks**: no two sagas held one lock at once. A holding runs
///   from its grant to the earliest of its release, its expiry as recorded,
///   and its `expiresAt`.
public enum SagaChecker {
    public static func check(streams: [SagaStreamRecord], applications: [ParticipantApplication]) -> SagaCheckResult {
        var result = SagaCheckResult()
        var keyOwners: [KeyOwner: CallIdentity] = [:]
        var holdings: [String: [LockHolding]] = [:]
        for record in streams {
            checkStream(record, into: &result, keyOwners: &keyOwners, holdings: &holdings)
        }
        checkApplications(applications, keyOwners: keyOwners, into: &result)
        for name in holdings.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            checkExclusive(name: name, holdings: holdings[name]!, into: &result)
        }
        return result
    }

    struct KeyOwner: Hashable {
        var participant: String
        var key: String
    }

    struct CallIdentity: Hashable {
        var stream: String
        var step: StepID
        var phase: SagaPhase
    }

    struct LockHolding {
        var stream: String
        var start: UInt64
        var end: UInt64
    }

    private struct AttemptKey: Hashable {
        var step: StepID
        var phase: SagaPhase
        var attempt: Int
    }

    private static func checkStream(
        _ record: SagaStreamRecord, into result: inout SagaCheckResult, keyOwners: inout [KeyOwner: CallIdentity],
        holdings: inout [String: [LockHolding]]
    ) {
        let stream = record.stream
        guard case .started(let definition, let sagaID, _, _)? = record.events.first else {
            result.violations.append(.malformedStream(stream: stream, message: "the stream does not begin with SagaStarted"))
            return
        }
        guard SagaNames.stream(definition: definition.name, id: sagaID) == stream else {
            result.violations.append(.malformedStream(stream: stream, message: "SagaStarted names another stream"))
            return
        }

        var finishedAt: Int?
        var parkedOpen = false
        var final = "running"
        var scheduled: Set<AttemptKey> = []
        var outcomes: [AttemptKey: Int] = [:]
        var keys: [CallIdentity: [String]] = [:]
        var abortedAt: Int?
        var lastForwardOutcome: [StepID: (index: Int, possiblyApplied: Bool)] = [:]
        var compensationStarts: [StepID] = []
        var compensationDone: Set<StepID> = []
        var compensationCurrent: StepID?
        var parkedOnCompensation: StepID?
        var openLocks: [String: LockHolding] = [:]

        for (index, event) in record.events.enumerated() {
            if finishedAt != nil {
                result.violations.append(.eventAfterFinish(stream: stream, revision: index))
                break
            }
            switch event {
            case .started where index > 0:
                result.violations.append(.malformedStream(stream: stream, message: "a second SagaStarted at \(index)"))
            case .scheduled(let step, let phase, let attempt, let request, _):
                scheduled.insert(AttemptKey(step: step, phase: phase, attempt: attempt))
                let identity = CallIdentity(stream: stream, step: step, phase: phase)
                if !(keys[identity]?.contains(request.idempotencyKey) ?? false) {
                    keys[identity, default: []].append(request.idempotencyKey)
                }
                keyOwners[KeyOwner(participant: request.participant, key: request.idempotencyKey)] = identity
                if phase == .compensation && !compensationStarts.contains(step) {
                    if abortedAt == nil {
                        result.violations.append(.compensationWithoutAbort(stream: stream, step: step))
                    }
                    if let current = compensationCurrent, !compensationDone.contains(current) {
                        result.violations.append(.compensationOverlap(stream: stream, running: current, started: step))
                    }
                    compensationStarts.append(step)
                    compensationCurrent = step
                }
            case .succeeded(let step, let phase, let attempt, _, _), .failed(let step, let phase, let attempt, _, _, _),
                .timedOut(let step, let phase, let attempt, _):
                let key = AttemptKey(step: step, phase: phase, attempt: attempt)
                if !scheduled.contains(key) {
                    result.violations.append(.outcomeWithoutCall(stream: stream, step: step, phase: phase, attempt: attempt))
                }
                outcomes[key, default: 0] += 1
                if outcomes[key] == 2 {
                    result.violations.append(.twoOutcomes(stream: stream, step: step, phase: phase, attempt: attempt))
                }
                if phase == .action {
                    var applied = true
                    if case .failed(_, _, _, _, false, _) = event { applied = false }
                    lastForwardOutcome[step] = (index, applied)
                } else if case .succeeded = event {
                    compensationDone.insert(step)
                }
            case .renderingFailed(let step, .action, _, _), .lockDenied(_, let step, _):
                lastForwardOutcome[step] = (index, false)
            case .aborted:
                if abortedAt == nil { abortedAt = index }
            case .parked(let reason, _, _):
                parkedOpen = true
                if case .compensationFailed(let step) = reason { parkedOnCompensation = step } else { parkedOnCompensation = nil }
            case .operatorRetried:
                parkedOpen = false
                parkedOnCompensation = nil
            case .operatorResolved(let resolution, _, _):
                parkedOpen = false
                if let step = parkedOnCompensation { compensationDone.insert(step) }
                parkedOnCompensation = nil
                if case .succeeded = resolution, let step = lastParkedForwardStep(record.events, before: index) {
                    lastForwardOutcome[step] = (index, true)
                }
            case .lockAcquired(let name, _, let grantedAt, let expiresAt, _):
                if let open = openLocks[name] { holdings[name, default: []].append(open) }
                openLocks[name] = LockHolding(stream: stream, start: grantedAt, end: expiresAt)
            case .lockReleased(let name, let at):
                if var open = openLocks.removeValue(forKey: name) {
                    open.end = min(open.end, at)
                    holdings[name, default: []].append(open)
                }
            case .lockExpired(let name, let expiredAt, _):
                if var open = openLocks.removeValue(forKey: name) {
                    open.end = min(open.end, expiredAt)
                    holdings[name, default: []].append(open)
                }
            case .completed: finishedAt = index; final = "completed"
            case .compensated: finishedAt = index; final = "compensated"
            case .cancelled: finishedAt = index; final = "cancelled"
            default: break
            }
        }
        for name in openLocks.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            holdings[name, default: []].append(openLocks[name]!)
        }
        if finishedAt == nil {
            if parkedOpen {
                final = "parked"
            } else {
                result.violations.append(.notFinished(stream: stream, lastEvent: SagaEventType(record.events.last!).rawValue))
            }
        }
        result.statusCounts[final, default: 0] += 1

        for identity in keys.keys.sorted(by: { ($0.step, $0.phase.rawValue) < ($1.step, $1.phase.rawValue) })
        where keys[identity]!.count > 1 {
            result.violations.append(
                .idempotencyKeyChanged(stream: stream, step: identity.step, phase: identity.phase, keys: keys[identity]!))
        }

        // Compensation order: every step that may have taken effect, most recent first.
        let compensatable = Set(definition.steps.filter { $0.kind == .compensatable && $0.compensation != nil }.map(\.id))
        let expected = lastForwardOutcome.filter { compensatable.contains($0.key) && $0.value.possiblyApplied }
            .sorted { $0.value.index > $1.value.index }.map(\.key)
        if abortedAt != nil {
            let isPrefix = compensationStarts.count <= expected.count && Array(expected.prefix(compensationStarts.count)) == compensationStarts
            if !isPrefix {
                result.violations.append(.compensationOrder(stream: stream, expected: expected, actual: compensationStarts))
            }
            if final == "compensated" || final == "cancelled" {
                for step in expected where !compensationDone.contains(step) {
                    result.violations.append(.compensationMissing(stream: stream, step: step))
                }
            }
        }
    }

    /// The step a forward park was about, for an operator's resolution.
    private static func lastParkedForwardStep(_ events: [SagaEvent], before index: Int) -> StepID? {
        for event in events[..<index].reversed() {
            if case .parked(let reason, _, _) = event {
                switch reason {
                case .stepFailed(let step), .pivotUncertain(let step): return step
                case .compensationFailed: return nil
                }
            }
        }
        return nil
    }

    private static func checkApplications(
        _ applications: [ParticipantApplication], keyOwners: [KeyOwner: CallIdentity], into result: inout SagaCheckResult
    ) {
        var counts: [KeyOwner: Int] = [:]
        var keysApplied: [CallIdentity: [String]] = [:]
        var order: [CallIdentity] = []
        for application in applications {
            let owner = KeyOwner(participant: application.participant, key: application.idempotencyKey)
            counts[owner, default: 0] += 1
            if counts[owner] == 2 {
                result.violations.append(.keyAppliedTwice(participant: application.participant, key: application.idempotencyKey))
            }
            guard let identity = keyOwners[owner] else {
                if counts[owner] == 1 {
                    result.violations.append(.unknownKeyApplied(participant: application.participant, key: application.idempotencyKey))
                }
                continue
            }
            if keysApplied[identity] == nil { order.append(identity) }
            if !(keysApplied[identity]?.contains(application.idempotencyKey) ?? false) {
                keysApplied[identity, default: []].append(application.idempotencyKey)
            }
        }
        for identity in order where keysApplied[identity]!.count > 1 {
            result.violations.append(
                .stepAppliedUnderSeveralKeys(stream: identity.stream, step: identity.step, phase: identity.phase, keys: keysApplied[identity]!))
        }
    }

    private static func checkExclusive(name: String, holdings: [LockHolding], into result: inout SagaCheckResult) {
        let sorted = holdings.filter { $0.end > $0.start }.sorted { ($0.start, $0.stream) < ($1.start, $1.stream) }
        var active: [LockHolding] = []
        for holding in sorted {
            active.removeAll { $0.end <= holding.start }
            if let other = active.first(where: { $0.stream != holding.stream }) {
                result.violations.append(.lockHeldTwice(name: name, first: other.stream, second: holding.stream, at: holding.start))
            }
            active.append(holding)
        }
    }
}

/// One saga's stream as recorded.
public struct SagaStreamRecord: Sendable, Hashable {
    public var stream: String
    public var events: [SagaEvent]

    public init(stream: String, events: [SagaEvent]) {
        self.stream = stream
        self.events = events
    }
}

/// One time a participant applied a request (not a reply: an application).
public struct ParticipantApplication: Sendable, Hashable {
    public var participant: String
    public var idempotencyKey: String

    public init(participant: String, idempotencyKey: String) {
        self.participant = participant
        self.idempotencyKey = idempotencyKey
    }
}

/// What the checker found: the violations in the order found, and how many
/// sagas ended in each state (`completed`, `compensated`, `cancelled`,
/// `parked`, or `running` for one that did not end).
public struct SagaCheckResult: Sendable, Hashable {
    public var violations: [SagaViolation] = []
    public var statusCounts: [String: Int] = [:]

    public var isValid: Bool { violations.isEmpty }
}

/// One broken guarantee, naming the stream (or lock, or participant) at fault.
public enum SagaViolation: Sendable, Hashable, CustomStringConvertible {
    case malformedStream(stream: String, message: String)
    case notFinished(stream: String, lastEvent: String)
    case eventAfterFinish(stream: String, revision: Int)
    case twoOutcomes(stream: String, step: StepID, phase: SagaPhase, attempt: Int)
    case outcomeWithoutCall(stream: String, step: StepID, phase: SagaPhase, attempt: Int)
    case idempotencyKeyChanged(stream: String, step: StepID, phase: SagaPhase, keys: [String])
    case compensationWithoutAbort(stream: String, step: StepID)
    case compensationOverlap(stream: String, running: StepID, started: StepID)
    case compensationOrder(stream: String, expected: [StepID], actual: [StepID])
    case compensationMissing(stream: String, step: StepID)
    case keyAppliedTwice(participant: String, key: String)
    case stepAppliedUnderSeveralKeys(stream: String, step: StepID, phase: SagaPhase, keys: [String])
    case unknownKeyApplied(participant: String, key: String)
    case lockHeldTwice(name: String, first: String, second: String, at: UInt64)

    public var description: String {
        switch self {
        case .malformedStream(let stream, let message): "\(stream): malformed stream: \(message)"
        case .notFinished(let stream, let last): "\(stream): did not end (last event \(last)), and is not parked"
        case .eventAfterFinish(let stream, let revision): "\(stream): event \(revision) after the saga finished"
        case .twoOutcomes(let stream, let step, let phase, let attempt):
            "\(stream): \(step) \(phase) attempt \(attempt) has two recorded outcomes"
        case .outcomeWithoutCall(let stream, let step, let phase, let attempt):
            "\(stream): \(step) \(phase) attempt \(attempt) has an outcome but was never sent"
        case .idempotencyKeyChanged(let stream, let step, let phase, let keys):
            "\(stream): \(step) \(phase) was sent under several idempotency keys \(keys)"
        case .compensationWithoutAbort(let stream, let step): "\(stream): compensation of \(step) without an abort"
        case .compensationOverlap(let stream, let running, let started):
            "\(stream): compensation of \(started) started before that of \(running) finished"
        case .compensationOrder(let stream, let expected, let actual):
            "\(stream): compensations ran in order \(actual.map(\.rawValue)), expected \(expected.map(\.rawValue))"
        case .compensationMissing(let stream, let step): "\(stream): ended without compensating \(step)"
        case .keyAppliedTwice(let participant, let key): "participant \(participant) applied key \(key) twice"
        case .stepAppliedUnderSeveralKeys(let stream, let step, let phase, let keys):
            "\(stream): \(step) \(phase) was applied under several keys \(keys)"
        case .unknownKeyApplied(let participant, let key): "participant \(participant) applied \(key), which no saga sent"
        case .lockHeldTwice(let name, let first, let second, let at):
            "lock \(name) held by \(first) and \(second) at once (from \(at))"
        }
    }
}
