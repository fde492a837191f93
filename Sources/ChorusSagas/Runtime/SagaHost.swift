import ChorusCore

/// The sans-IO saga runtime of one node: every saga instance the node knows,
/// the lock table while it leads, and per stream the inputs waiting for a
/// decision to be appended. The node (`ChorusService.SagasRuntime`) and the
/// simulator drive the same host, as etcd's `raft.Node` and its test network
/// drive the same `raft` (README "How a runtime drives it").
///
///     submit(input) ─▶ [.append(stream, events, expected)]   one append in flight per stream
///     appended(stream) ─▶ [.call, .setTimer, .respond, .append …]
///     appendUnsettled(stream) ─▶ [.reload(stream)]           a conflict, or an outcome not known
///     reloaded(stream, events) ─▶ resumption effects, then the next decision
///
/// **One writer.** Only the leader decides; inputs on a follower are refused
/// (`.notLeading`), and a follower's host follows the applied log
/// (`observe`). `lead` is called once the node's applied log holds every
/// committed saga event (the runtime reads the streams to that point): the
/// host rebuilds the lock table from what the streams recorded and returns
/// every saga's resumption effects. Appends carry the expected revision, so
/// a deposed leader that still appends is refused by the store.
///
/// **Effects at least once.** A decision's effects are returned only after its
/// append succeeded; an append whose outcome is unknown (a timeout, a lost
/// leadership) makes the host reload the stream and carry out the resumption
/// effects of what it finds, which repeats calls in flight under the same
/// idempotency key.
///
/// **Time.** Every `now` a runtime passes is raised to `timeFloor`, the
/// latest time recorded in any saga event the host holds, so decisions are
/// never dated before what they follow (a Lamport clock over the leaders'
/// clocks: Lamport, "Time, Clocks, and the Ordering of Events", 1978, IR2).
/// Leaders' clocks differ: without the floor, a new leader whose clock is
/// behind the old one's would record a lock grant *before* the release it
/// follows, and the streams would show two holders at once (found by
/// `chorus simulate sagas`). The runtime's clock need only be monotonic
/// while it leads; timers and expiries on a clock that is behind fire late,
/// never early.
///
/// **Finished sagas** are kept as summaries (`SagaSummary`), not folds, so
/// the host's memory grows with the sagas in progress, not with history; a
/// reply or a start for a finished saga is answered from the summary.
public struct SagaHost: Sendable {
    /// What the runtime must do.
    public enum Output: Sendable, Hashable {
        /// Append `events` to `stream` at `expectedRevision`, then call
        /// `appended` or `appendUnsettled` for the stream.
        case append(stream: String, events: [SagaEvent], expectedRevision: SagaExpectedRevision)
        /// Send the call (with `Idempotency-Key`) and `submit` its answer as `.reply`.
        case call(stream: String, SagaCall)
        /// `submit(.tick)` for the stream at or after `dueAt`.
        case setTimer(stream: String, SagaTimerID, dueAt: UInt64)
        /// The timer is disarmed: its tick would do nothing (an optimization; ignoring it is correct).
        case cancelTimer(stream: String, SagaTimerID)
        /// Read the whole stream and pass it to `reloaded`.
        case reload(stream: String)
        /// Answer the caller that submitted with `ticket`.
        case respond(ticket: UInt64, SagaHostResponse)
    }

    struct Queued: Sendable, Hashable {
        var input: SagaInput
        var ticket: UInt64?
    }

    struct Holder {
        var owner: String
        var grantedAt: UInt64
        var expiresAt: UInt64
    }

    struct InFlight: Sendable, Hashable {
        var queued: Queued
        var decision: SagaDecision
    }

    /// Sagas in progress (or parked), by stream.
    public private(set) var instances: [String: SagaOrchestrator] = [:]
    /// Sagas that ended, by stream.
    public private(set) var finished: [String: SagaSummary] = [:]
    public private(set) var isLeading = false
    /// The leader's lock table; rebuilt from the streams by `lead`.
    public private(set) var locks = SagaLockTable()
    var queues: [String: [Queued]] = [:]
    var inFlight: [String: InFlight] = [:]
    /// Streams whose state is unknown until `reloaded`.
    var reloading: Set<String> = []
    /// Lock requests that had to wait in line, since `takeLockWaits`.
    var lockWaits = 0
    /// The latest `at` of every event the host folded (see "Time").
    public private(set) var timeFloor: UInt64 = 0
    let lockLimits: SagaLockTableLimits
    /// A deliberate bug for a negative control (`InjectedBug.sagas`); nil but in the simulator.
    public let injectedBug: InjectedBug?

    public init(lockLimits: SagaLockTableLimits = .default, injectedBug: InjectedBug? = nil) {
        self.lockLimits = lockLimits
        self.injectedBug = injectedBug
        locks = SagaLockTable(limits: lockLimits)
    }

    /// The saga's state: its fold, or nil when it is unknown or finished (see `finished`).
    public func state(of stream: String) -> SagaState? { instances[stream]?.state }

    /// The summary of every saga the host knows, sorted by stream.
    public var summaries: [SagaSummary] {
        (instances.map { SagaSummary($0.value.state) } + finished.values).sorted {
            $0.stream.utf8.lexicographicallyPrecedes($1.stream.utf8)
        }
    }

    /// Inputs queued or deciding, across every stream.
    public var pendingInputCount: Int { queues.values.reduce(0) { $0 + $1.count } + inFlight.count }

    // MARK: Leading

    /// The node leads and its applied log holds every committed saga event:
    /// rebuild the lock table from the holdings the streams recorded and
    /// carry out every saga's resumption effects (README "Leader change").
    public mutating func lead(now: UInt64) -> [Output] {
        let now = max(now, timeFloor)
        isLeading = true
        locks = SagaLockTable(limits: lockLimits)
        var outputs: [Output] = []
        // The latest recorded grant of each lock is its holder; an earlier
        // one for the same name ended (released or expired) without the
        // saga having recorded it yet, so it is told now.
        var holders: [String: Holder] = [:]
        var superseded: [(holder: Holder, name: String)] = []
        for stream in instances.keys.sorted(by: Self.byBytes) {
            for (name, lock) in instances[stream]!.state.locks {
                guard case .held(let grantedAt, let expiresAt) = lock.state else { continue }
                let holder = Holder(owner: stream, grantedAt: grantedAt, expiresAt: expiresAt)
                guard let current = holders[name] else {
                    holders[name] = holder
                    continue
                }
                let later = current.grantedAt <= grantedAt
                superseded.append((later ? current : holder, name))
                holders[name] = later ? holder : current
            }
        }
        // The negative control skips the rebuild: the table starts empty.
        for name in holders.keys.sorted(by: Self.byBytes) where injectedBug != .sagaLockTableNotRebuilt {
            let holder = holders[name]!
            locks.restore(name: name, holding: SagaLockTable.Holding(owner: holder.owner, grantedAt: holder.grantedAt, expiresAt: holder.expiresAt))
        }
        for stream in instances.keys.sorted(by: Self.byBytes) {
            for effect in instances[stream]!.resumptionEffects() {
                outputs += carryOut(effect, stream: stream, now: now)
            }
        }
        for notice in superseded {
            let input = SagaInput.lockExpired(name: notice.name, expiredAt: notice.holder.expiresAt)
            outputs += submit(input, stream: notice.holder.owner, ticket: nil, now: now)
        }
        outputs += expireLocks(now: now)
        return outputs
    }

    /// The node stopped leading: every waiting caller is answered
    /// `.notLeading`, nothing queued is kept (the new leader resumes from
    /// the streams), and the host follows the applied log again. (It did not
    /// observe its own appends while leading, and an append whose outcome it
    /// never learned may be in the log: the runtime observes its applied log
    /// from the start again; `observe` skips what the host holds.)
    public mutating func follow() -> [Output] {
        isLeading = false
        var outputs: [Output] = []
        for stream in queues.keys.sorted(by: Self.byBytes) {
            for queued in queues[stream]! { if let ticket = queued.ticket { outputs.append(.respond(ticket: ticket, .notLeading)) } }
        }
        for stream in inFlight.keys.sorted(by: Self.byBytes) {
            if let ticket = inFlight[stream]!.queued.ticket { outputs.append(.respond(ticket: ticket, .outcomeUnknown)) }
        }
        queues = [:]
        inFlight = [:]
        reloading = []
        locks = SagaLockTable(limits: lockLimits)
        return outputs
    }

    // MARK: Inputs

    /// Queues `input` for the saga in `stream`, and decides it if nothing else
    /// for the stream is deciding. `ticket`, if given, is answered once.
    public mutating func submit(_ input: SagaInput, stream: String, ticket: UInt64?, now: UInt64) -> [Output] {
        let now = max(now, timeFloor)
        guard isLeading else { return ticket.map { [.respond(ticket: $0, .notLeading)] } ?? [] }
        if finished[stream] != nil {
            let response: SagaResponse = if case .start = input { .alreadyStarted } else { .ignored(.sagaFinished) }
            return ticket.map { [.respond(ticket: $0, .decided(response, revision: nil))] } ?? []
        }
        queues[stream, default: []].append(Queued(input: input, ticket: ticket))
        return decideNext(stream, now: now)
    }

    /// The append of the decision in flight for `stream` succeeded: the
    /// store wrote it. Report only the answer to the latest `.append` for
    /// the stream (an earlier one's, arriving late, is dropped). An exact
    /// retry (the store answered `alreadyWritten`) is not a success here:
    /// the events at those revisions may be another decision's, so it is
    /// `appendUnsettled`.
    public mutating func appended(stream: String, now: UInt64) -> [Output] {
        guard let flight = inFlight.removeValue(forKey: stream) else { return [] }
        raiseTimeFloor(flight.decision.events)
        let now = max(now, timeFloor)
        var orchestrator = instances[stream] ?? SagaOrchestrator()
        let effects: [SagaEffect]
        do {
            effects = try orchestrator.apply(flight.decision.events)
        } catch {
            preconditionFailure("the orchestrator's own decision does not fold: \(error)")
        }
        let revision = UInt64(orchestrator.state.eventCount - 1)
        store(orchestrator, stream: stream)
        var outputs: [Output] = []
        if let ticket = flight.queued.ticket {
            outputs.append(.respond(ticket: ticket, .decided(flight.decision.response, revision: revision)))
        }
        for effect in effects { outputs += carryOut(effect, stream: stream, now: now) }
        return outputs + decideNext(stream, now: now)
    }

    /// The append for `stream` conflicted, was an exact retry, or its outcome
    /// is unknown: the stream must be read again before anything else is
    /// decided for it. (After a refusal that will repeat at once — not
    /// leading, a leadership transfer — the runtime should pause first.)
    public mutating func appendUnsettled(stream: String) -> [Output] {
        guard let flight = inFlight.removeValue(forKey: stream) else { return [] }
        queues[stream, default: []].insert(flight.queued, at: 0)
        reloading.insert(stream)
        return [.reload(stream: stream)]
    }

    /// The stream as the store holds it, after `.reload`: fold it, carry
    /// out its resumption effects (what a recorded decision may not have
    /// done yet), then decide the inputs waiting for it.
    public mutating func reloaded(stream: String, events: [SagaEvent], now: UInt64) throws(SagaFoldError) -> [Output] {
        reloading.remove(stream)
        let orchestrator = try SagaOrchestrator(replaying: events)
        raiseTimeFloor(events)
        let now = max(now, timeFloor)
        instances[stream] = nil
        store(orchestrator, stream: stream)
        var outputs: [Output] = []
        if isLeading, !orchestrator.state.status.isFinal {
            for effect in orchestrator.resumptionEffects() { outputs += carryOut(effect, stream: stream, now: now) }
        }
        return outputs + decideNext(stream, now: now)
    }

    /// Lock reservations whose expiry has come: each is told to its saga (an
    /// event in its stream), and the next waiter is granted.
    public mutating func expireLocks(now: UInt64) -> [Output] {
        guard isLeading else { return [] }
        let now = max(now, timeFloor)
        return deliver(locks.expire(now: now), now: now)
    }

    /// Lock requests that queued behind a holder since the last call (for a metric).
    public mutating func takeLockWaits() -> Int {
        defer { lockWaits = 0 }
        return lockWaits
    }

    /// When `expireLocks` must next be called.
    public var nextLockExpiryAt: UInt64? { isLeading ? locks.nextExpiryAt : nil }

    // MARK: Following

    /// Events of `stream` from this node's applied log, starting at
    /// `firstRevision`. On the leader, its own appends are already folded
    /// (and nobody else writes saga streams), so they are skipped; a
    /// follower folds them. Events the host already holds are skipped; a gap
    /// is a `SagaFoldError` (read the stream from the start instead).
    public mutating func observe(stream: String, events: [SagaEvent], firstRevision: Int) throws(SagaFoldError) {
        guard !isLeading else { return }
        if finished[stream] != nil { return }
        var orchestrator = instances[stream] ?? SagaOrchestrator()
        let known = orchestrator.state.eventCount
        guard firstRevision <= known else {
            throw SagaFoldError(revision: firstRevision, message: "events \(known)..<\(firstRevision) of \(stream) were not observed")
        }
        let fresh = events.dropFirst(known - firstRevision)
        guard !fresh.isEmpty else { return }
        _ = try orchestrator.apply(Array(fresh))
        raiseTimeFloor(fresh)
        store(orchestrator, stream: stream)
    }

    /// A follower learned that the saga in `stream` ended, without folding
    /// its stream (`SagasRuntime` decodes only its first and last events):
    /// the summary replaces whatever fold the host held.
    public mutating func observeFinished(_ summary: SagaSummary) {
        guard !isLeading else { return }
        instances[summary.stream] = nil
        finished[summary.stream] = summary
        // Its final event is its latest: the floor covers the events this fold skipped.
        timeFloor = max(timeFloor, summary.finishedAt ?? summary.startedAt)
    }

    // MARK: Internals

    /// Decides the inputs queued for `stream`, one append at a time. Inputs
    /// for a saga that has finished (the decision before them finished it)
    /// are answered from its summary: its fold is gone, and deciding on an
    /// empty one would start it again.
    mutating func decideNext(_ stream: String, now: UInt64) -> [Output] {
        var outputs: [Output] = []
        if finished[stream] != nil, inFlight[stream] == nil, !reloading.contains(stream) {
            for queued in queues.removeValue(forKey: stream) ?? [] {
                let response: SagaResponse = if case .start = queued.input { .alreadyStarted } else { .ignored(.sagaFinished) }
                if let ticket = queued.ticket { outputs.append(.respond(ticket: ticket, .decided(response, revision: nil))) }
            }
            return outputs
        }
        while inFlight[stream] == nil, !reloading.contains(stream), var queue = queues[stream], !queue.isEmpty {
            let queued = queue.removeFirst()
            queues[stream] = queue.isEmpty ? nil : queue
            let orchestrator = instances[stream] ?? SagaOrchestrator()
            let decision = orchestrator.decide(queued.input, now: now, injectedBug: injectedBug)
            if decision.events.isEmpty {
                if let ticket = queued.ticket {
                    let revision = orchestrator.state.eventCount == 0 ? nil : UInt64(orchestrator.state.eventCount - 1)
                    outputs.append(.respond(ticket: ticket, .decided(decision.response, revision: revision)))
                }
                continue
            }
            inFlight[stream] = InFlight(queued: queued, decision: decision)
            outputs.append(.append(stream: stream, events: decision.events, expectedRevision: decision.expectedRevision))
        }
        return outputs
    }

    mutating func raiseTimeFloor(_ events: some Sequence<SagaEvent>) {
        for event in events { timeFloor = max(timeFloor, event.at) }
    }

    mutating func store(_ orchestrator: SagaOrchestrator, stream: String) {
        if orchestrator.state.eventCount == 0 {
            instances[stream] = nil  // no saga (a start that was never recorded): nothing to list or resume
        } else if orchestrator.state.status.isFinal {
            instances[stream] = nil
            finished[stream] = SagaSummary(orchestrator.state)
        } else {
            instances[stream] = orchestrator
        }
    }

    mutating func carryOut(_ effect: SagaEffect, stream: String, now: UInt64) -> [Output] {
        switch effect {
        case .call(let call): return [.call(stream: stream, call)]
        case .setTimer(let timer, let dueAt): return [.setTimer(stream: stream, timer, dueAt: dueAt)]
        case .cancelTimer(let timer): return [.cancelTimer(stream: stream, timer)]
        case .acquireLock(let name, let owner, let expiry, let contention):
            return deliver(locks.acquire(name: name, owner: owner, expiryMilliseconds: expiry, contention: contention, now: now), now: now)
        case .releaseLock(let name, let owner):
            return deliver(locks.release(name: name, owner: owner, now: now), now: now)
        }
    }

    /// The lock table's answers, as inputs to the sagas they concern.
    mutating func deliver(_ events: [SagaLockTable.Event], now: UInt64) -> [Output] {
        var outputs: [Output] = []
        for event in events {
            switch event {
            case .granted(let name, let owner, let grantedAt, let expiresAt):
                outputs += submit(.lockGranted(name: name, grantedAt: grantedAt, expiresAt: expiresAt), stream: owner, ticket: nil, now: now)
            case .denied(let name, let owner, _):
                outputs += submit(.lockDenied(name: name), stream: owner, ticket: nil, now: now)
            case .expired(let name, let owner, let at):
                outputs += submit(.lockExpired(name: name, expiredAt: at), stream: owner, ticket: nil, now: now)
            case .queued:
                lockWaits += 1
            case .released, .withdrawn:
                break
            }
        }
        return outputs
    }

    static func byBytes(_ left: String, _ right: String) -> Bool { left.utf8.lexicographicallyPrecedes(right.utf8) }
}

/// What a submitted input came to.
public enum SagaHostResponse: Sendable, Hashable {
    /// The orchestrator's answer; `revision` is the stream's last revision
    /// after the decision (nil for a saga with no stream).
    case decided(SagaResponse, revision: UInt64?)
    /// This node does not lead; send the input to the leader.
    case notLeading
    /// The node stopped leading while the input's decision was being
    /// appended: it may or may not be recorded (retrying is safe).
    case outcomeUnknown
}

/// What the API lists a saga by, kept for finished sagas instead of their fold.
public struct SagaSummary: Sendable, Hashable {
    public var stream: String
    public var definition: String
    public var definitionVersion: Int
    public var sagaID: SagaID
    public var status: SagaStatus
    public var startedAt: UInt64
    public var finishedAt: UInt64?
    /// The stream's last revision.
    public var revision: UInt64

    public init(
        stream: String, definition: String, definitionVersion: Int, sagaID: SagaID, status: SagaStatus, startedAt: UInt64,
        finishedAt: UInt64?, revision: UInt64
    ) {
        self.stream = stream
        self.definition = definition
        self.definitionVersion = definitionVersion
        self.sagaID = sagaID
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.revision = revision
    }

    public init(_ state: SagaState) {
        stream = state.stream ?? ""
        definition = state.definition?.name ?? ""
        definitionVersion = state.definition?.version ?? 0
        sagaID = state.sagaID ?? ""
        status = state.status
        startedAt = state.startedAt
        finishedAt = state.finishedAt
        revision = UInt64(max(state.eventCount - 1, 0))
    }
}
