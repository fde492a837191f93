import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusReplica
import ChorusSagas
import CoreMetrics
import Synchronization
import Tracing

/// The sagas of one node (issue 12): a `SagaHost` driven by this node's
/// event store. Every node folds the saga streams and the registry from its
/// own applied log (`SagasService`'s tail), so any node answers reads; the
/// node that leads the Raft group also decides: it appends each decision to
/// the saga's stream at its expected revision, and only then sends the calls,
/// sets the timers and takes the locks that follow (README of ChorusSagas).
///
/// A leader change hands over without re-running a recorded step: the new
/// leader waits until its applied log holds everything committed before its
/// term (a linearizable read, then the tail caught up to it), then leads,
/// which re-sends the calls in flight under their recorded idempotency keys
/// and re-arms the timers. Work of an earlier leadership (a timer, a call's
/// answer, an append's result) carries its `generation` and is dropped if
/// the node has stepped down or led again since.
public actor SagasRuntime {
    public struct Options: Sendable {
        /// Participants inside the process, by name (library use, tests, benchmarks).
        public var localParticipants: [String: SagaLocalParticipant]
        /// How often the node checks whether it leads.
        public var leadershipPollMilliseconds: Int
        /// Added to a step's attempt timeout for the HTTP exchange, so the
        /// orchestrator's timer (not the HTTP client) decides a timeout.
        public var transportSlackMilliseconds: UInt64
        /// Saga events read per tail batch.
        public var batchSize: Int
        /// Where sagas' spans go (`SagaTracing`); nil: `InstrumentationSystem.tracer` (no-op unless bootstrapped).
        public var tracer: (any Tracer)?

        public init(
            localParticipants: [String: SagaLocalParticipant] = [:], leadershipPollMilliseconds: Int = 50,
            transportSlackMilliseconds: UInt64 = 1_000, batchSize: Int = 512
        ) {
            self.localParticipants = localParticipants
            self.leadershipPollMilliseconds = leadershipPollMilliseconds
            self.transportSlackMilliseconds = transportSlackMilliseconds
            self.batchSize = batchSize
        }
    }

    let options: Options
    let proposer: EventStoreProposer
    let transport: SagaParticipantTransport
    let clock: WallClock
    let metrics: SagasMetrics

    var host = SagaHost()
    var tracing: SagaTracing
    /// The events of the append in flight per stream, for the spans once it settles.
    var appending: [String: [SagaEvent]] = [:]
    public private(set) var registry = SagaRegistry()
    /// Callers waiting for their input's decision.
    var waiting: [UInt64: CheckedContinuation<SagaHostResponse, Never>] = [:]
    var nextTicket: UInt64 = 1
    /// Bumped on every `lead` and `follow`; work of another generation is dropped.
    var generation: UInt64 = 0
    /// The Raft term this node leads in, while it leads.
    public private(set) var leadingTerm: Term?
    var timers: [UInt64: Task<Void, Never>] = [:]
    /// The `timers` entry of each saga timer armed, so a disarmed one stops sleeping.
    var sagaTimers: [SagaTimerKey: UInt64] = [:]
    var nextTimer: UInt64 = 1
    var lockExpiryScheduledAt: UInt64?
    /// The tail's position in `$all`, and the applied index its last caught-up batch reflected.
    var cursor = SubscriptionCursor.start
    public private(set) var caughtUpThrough = LogIndex.zero
    /// A follower's saga events not folded yet, by stream: folded when the
    /// fold is needed (leading, a read), or never, when the saga ends first —
    /// then only its first and last events are decoded (`finishUnfolded`).
    var unfolded: [String: [RecordedEvent]] = [:]
    var unfoldedEventCount = 0
    /// Beyond this many unfolded events, a follower folds them all.
    static let maximumUnfoldedEvents = 100_000
    /// Callers waiting for a saga to end, by stream.
    var endWaiters: [String: [CheckedContinuation<SagaSummary?, Never>]] = [:]

    init(options: Options, proposer: EventStoreProposer, clock: WallClock, metrics: SagasMetrics) {
        self.options = options
        self.proposer = proposer
        self.transport = SagaParticipantTransport(local: options.localParticipants)
        self.clock = clock
        self.metrics = metrics
        self.tracing = SagaTracing(tracer: options.tracer ?? InstrumentationSystem.tracer)
    }

    var now: UInt64 { UInt64(max(clock.now().microsecondsSinceEpoch / 1_000, 0)) }

    public var isLeading: Bool { leadingTerm != nil }

    // MARK: Reads

    public func state(of stream: String) -> SagaState? {
        foldUnfolded()
        return host.state(of: stream)
    }
    public func summary(of stream: String) -> SagaSummary? {
        foldUnfolded()
        return host.state(of: stream).map(SagaSummary.init) ?? host.finished[stream]
    }
    public var summaries: [SagaSummary] {
        foldUnfolded()
        return host.summaries
    }

    // MARK: Inputs

    /// Decides `input` for the saga in `stream` on this node, which must lead.
    func submit(_ input: SagaInput, stream: String) async -> SagaHostResponse {
        let ticket = nextTicket
        nextTicket += 1
        return await withCheckedContinuation { continuation in
            waiting[ticket] = continuation
            perform(host.submit(input, stream: stream, ticket: ticket, now: now))
        }
    }

    // MARK: Leadership

    /// The node leads in `term` and its host has folded every saga event
    /// committed before it.
    func lead(term: Term) {
        guard leadingTerm != term else { return }
        foldUnfolded()
        generation += 1
        leadingTerm = term
        perform(host.lead(now: now))
    }

    /// The node no longer leads.
    func follow() {
        guard leadingTerm != nil else { return }
        generation += 1
        leadingTerm = nil
        for task in timers.values { task.cancel() }
        timers = [:]
        sagaTimers = [:]
        lockExpiryScheduledAt = nil
        perform(host.follow())
        tracing.endAll()
        appending = [:]
        for waiters in endWaiters.values { for waiter in waiters { waiter.resume(returning: nil) } }
        endWaiters = [:]
    }

    // MARK: The tail

    /// Folds a batch of saga and registry events from this node's applied
    /// log; `caughtUp` says the batch reached the head as of `appliedIndex`.
    func observe(_ events: [RecordedEvent], cursor: SubscriptionCursor, caughtUp: Bool, appliedIndex: LogIndex) throws(ServiceError) {
        var index = 0
        while index < events.count {
            let stream = events[index].stream.text
            var end = index + 1
            while end < events.count && events[end].stream.text == stream { end += 1 }
            let run = events[index..<end]
            if stream == SagaRegistry.stream {
                for event in run where event.revision.rawValue >= UInt64(registry.eventCount) {
                    do { try registry.apply(type: event.type, data: event.data) } catch {
                        throw ServiceError(.internal, "the saga registry holds an event it cannot read at \(event.position): \(error)")
                    }
                }
            } else if !isLeading, host.finished[stream] == nil {
                // The leader's own appends are already folded; a follower defers the fold.
                unfolded[stream, default: []] += run
                unfoldedEventCount += run.count
                if let last = run.last, let status = SagaStreamEvents.finalStatus(ofType: last.type) {
                    finishUnfolded(stream, status: status, last: last)
                }
            }
            index = end
        }
        if unfoldedEventCount > Self.maximumUnfoldedEvents { foldUnfolded() }
        self.cursor = cursor
        if caughtUp { caughtUpThrough = max(caughtUpThrough, appliedIndex) }
        metrics.inFlight.record(host.instances.count)
    }

    var tailCursor: SubscriptionCursor { cursor }

    /// A follower's saga ended: its summary from its first event (or the
    /// fold the host already holds) and its last, nothing else decoded. A
    /// stream that does not add up (its start passed while this node led, an
    /// unreadable event) is read whole instead.
    func finishUnfolded(_ stream: String, status: SagaStatus, last: RecordedEvent) {
        let events = unfolded.removeValue(forKey: stream) ?? []
        unfoldedEventCount -= events.count
        var start: (definition: String, version: Int, sagaID: SagaID, at: UInt64)?
        if let state = host.state(of: stream), let known = state.definition, let id = state.sagaID,
            state.eventCount == Int(events.first?.revision.rawValue ?? 0)
        {
            start = (known.name, known.version, id, state.startedAt)
        } else if let first = events.first, first.revision.rawValue == 0 {
            start = try? SagaStreamEvents.startFacts(first)
        }
        guard let start, let finishedAt = try? SagaStreamEvents.sagaEvent(last).at else {
            refold(stream)
            return
        }
        host.observeFinished(SagaSummary(
            stream: stream, definition: start.definition, definitionVersion: start.version, sagaID: start.sagaID, status: status,
            startedAt: start.at, finishedAt: finishedAt, revision: last.revision.rawValue))
    }

    /// Folds every deferred event into the host (a follower about to lead or to answer a read).
    func foldUnfolded() {
        guard !unfolded.isEmpty else { return }
        for stream in unfolded.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let run = unfolded[stream]!
            do {
                let events = try run.map(SagaStreamEvents.sagaEvent)
                try host.observe(stream: stream, events: events, firstRevision: Int(run.first!.revision.rawValue))
            } catch {
                // A gap: events this node's tail passed while it led (an append whose outcome it never
                // learned, committed before it stepped down). The stream itself is the truth: read it whole.
                refold(stream)
            }
        }
        unfolded = [:]
        unfoldedEventCount = 0
    }

    /// Replaces the host's fold of `stream` by the fold of the stream as this node has applied it.
    func refold(_ stream: String) {
        let proposer = proposer
        Task {
            do {
                let recorded = try await proposer.readWholeStream(stream, requirement: .immediate)
                let events = try recorded.map(SagaStreamEvents.sagaEvent)
                self.refolded(stream, events)
            } catch {
                self.metrics.foldFailures.increment()
            }
        }
    }

    func refolded(_ stream: String, _ events: [SagaEvent]) {
        guard !isLeading else { return }  // a leader reloads through the host itself
        do { perform(try host.reloaded(stream: stream, events: events, now: now)) } catch { metrics.foldFailures.increment() }
    }

    /// Registers a definition or participant: appended to `saga-registry`
    /// (expected: its current revision), then waited for in this node's fold.
    func register(_ registration: SagaRegistry.Registration) async throws(ServiceError) {
        guard case .append(let type, let data) = registration else { return }
        let expected: ExpectedState = registry.eventCount == 0 ? .noStream : .revision(StreamRevision(UInt64(registry.eventCount - 1)))
        let event = ProposedEvent(
            id: EventID(high: SagaStreamEvents.fnv1a(SagaRegistry.stream), low: UInt64(registry.eventCount)), type: type, data: data)
        let (result, _, _) = try await proposer.propose(.append(StreamAppend(stream: StreamName(SagaRegistry.stream), expected: expected, events: [event])))
        guard case .appended(let outcome) = result else {
            if case .wrongExpectedVersion = result {
                throw ServiceError(.wrongExpectedVersion, "the saga registry changed meanwhile; send the registration again")
            }
            throw ChorusService.refusal(result, expected: "appended")
        }
        let revision = outcome.lastRevision.rawValue
        for _ in 0..<1_000 where UInt64(registry.eventCount) <= revision {
            try? await Task.sleep(for: .milliseconds(5))
        }
        guard UInt64(registry.eventCount) > revision else {
            throw ServiceError(.readTimeout, "the registration is recorded but this node has not applied it yet")
        }
    }

    // MARK: Carrying out the host's outputs

    func perform(_ outputs: [SagaHost.Output]) {
        for output in outputs {
            switch output {
            case .append(let stream, let events, let expected):
                count(events)
                appending[stream] = events
                let generation = generation
                let proposed = SagaStreamEvents.proposed(events, stream: stream, firstRevision: SagaStreamEvents.firstRevision(after: expected))
                let append = StreamAppend(stream: StreamName(stream), expected: SagaStreamEvents.expectedState(expected), events: proposed)
                let proposer = proposer
                Task {
                    let settled: Bool
                    do {
                        let (result, _, _) = try await proposer.propose(.append(append))
                        settled = SagaStreamEvents.recordsDecision(result)
                    } catch {
                        settled = false
                    }
                    self.appendFinished(stream: stream, settled: settled, generation: generation)
                }
            case .call(let stream, let call):
                send(call, stream: stream)
            case .setTimer(let stream, let timer, let dueAt):
                let key = SagaTimerKey(stream: stream, timer: timer)
                if let previous = sagaTimers[key] { timers.removeValue(forKey: previous)?.cancel() }
                sagaTimers[key] = schedule(at: dueAt) { runtime in
                    runtime.sagaTimers[key] = nil
                    runtime.perform(runtime.host.submit(.tick, stream: stream, ticket: nil, now: runtime.now))
                }
            case .cancelTimer(let stream, let timer):
                if let id = sagaTimers.removeValue(forKey: SagaTimerKey(stream: stream, timer: timer)) {
                    timers.removeValue(forKey: id)?.cancel()
                }
            case .reload(let stream):
                let generation = generation
                let proposer = proposer
                Task {
                    let events = try? await Self.readStream(stream, proposer: proposer)
                    self.reloadFinished(stream: stream, events: events, generation: generation)
                }
            case .respond(let ticket, let response):
                waiting.removeValue(forKey: ticket)?.resume(returning: response)
            }
        }
        scheduleLockExpiry()
    }

    func appendFinished(stream: String, settled: Bool, generation: UInt64) {
        guard generation == self.generation else { return }
        if let events = appending.removeValue(forKey: stream), settled { tracing.appended(events, stream: stream) }
        perform(settled ? host.appended(stream: stream, now: now) : host.appendUnsettled(stream: stream))
        if let summary = host.finished[stream], let waiters = endWaiters.removeValue(forKey: stream) {
            for waiter in waiters { waiter.resume(returning: summary) }
        }
    }

    /// Waits on the leader until the saga in `stream` ends (completed,
    /// compensated or cancelled) and returns its summary; nil if this node
    /// does not lead or stops leading first. A parked saga keeps it waiting.
    public func waitForEnd(of stream: String) async -> SagaSummary? {
        if let summary = host.finished[stream] { return summary }
        guard isLeading else { return nil }
        return await withCheckedContinuation { continuation in endWaiters[stream, default: []].append(continuation) }
    }

    func reloadFinished(stream: String, events: [SagaEvent]?, generation: UInt64) {
        guard generation == self.generation, isLeading else { return }
        guard let events else {
            // The stream could not be read (this node may be losing the lead): try again shortly.
            schedule(at: now + 100) { runtime in runtime.perform([.reload(stream: stream)]) }
            return
        }
        do {
            perform(try host.reloaded(stream: stream, events: events, now: now))
        } catch {
            metrics.foldFailures.increment()
        }
    }

    func send(_ call: SagaCall, stream: String) {
        let generation = generation
        let baseURL = registry.participants[call.request.participant]
        let timeout = (host.state(of: stream)?.step(call.step).map { step in
            call.phase == .action ? step.definition.attemptTimeoutMilliseconds : step.definition.compensation?.attemptTimeoutMilliseconds ?? step.definition.attemptTimeoutMilliseconds
        } ?? 10_000) + options.transportSlackMilliseconds
        let transport = transport
        let started = ContinuousClock.now
        if call.attempt > 1 { metrics.retries.increment() }
        let span = tracing.startAttempt(call, stream: stream, state: host.state(of: stream))
        var headers = tracing.headers(for: span)
        if headers["traceparent"] == nil { headers["traceparent"] = SagaParticipantTransport.traceParent(stream: stream, call: call) }
        let traceHeaders = headers
        Task {
            let outcome = await transport.send(call.request, baseURL: baseURL, headers: traceHeaders, timeoutMilliseconds: timeout)
            SagaTracing.finish(span, outcome: outcome)
            self.callFinished(stream: stream, call: call, outcome: outcome, started: started, generation: generation)
        }
    }

    func callFinished(stream: String, call: SagaCall, outcome: ParticipantOutcome, started: ContinuousClock.Instant, generation: UInt64) {
        metrics.recordStep(outcome: outcome, duration: ContinuousClock.now - started)
        guard generation == self.generation else { return }
        let reply = SagaReply(step: call.step, phase: call.phase, attempt: call.attempt, outcome: outcome)
        perform(host.submit(.reply(reply), stream: stream, ticket: nil, now: now))
    }

    /// Runs `work` on the actor at `dueAt` (wall clock, ms), unless the
    /// generation changed or the returned task is cancelled first.
    @discardableResult
    func schedule(at dueAt: UInt64, _ work: @escaping @Sendable (isolated SagasRuntime) -> Void) -> UInt64 {
        let generation = generation
        let id = nextTimer
        nextTimer += 1
        let delay = dueAt > now ? dueAt - now : 0
        let task = Task {
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(min(delay, SagaLimits.maximumDurationMilliseconds)))) }
            guard !Task.isCancelled else { return }
            self.fire(id: id, generation: generation, work)
        }
        timers[id] = task
        return id
    }

    func fire(id: UInt64, generation: UInt64, _ work: @Sendable (isolated SagasRuntime) -> Void) {
        guard timers.removeValue(forKey: id) != nil, generation == self.generation else { return }
        work(self)
    }

    func scheduleLockExpiry() {
        guard let next = host.nextLockExpiryAt else { return }
        if let scheduled = lockExpiryScheduledAt, scheduled <= next { return }
        lockExpiryScheduledAt = next
        schedule(at: next) { runtime in
            runtime.lockExpiryScheduledAt = nil
            runtime.perform(runtime.host.expireLocks(now: runtime.now))
        }
    }

    func count(_ events: [SagaEvent]) {
        for event in events {
            switch event {
            case .started: metrics.started.increment()
            case .completed: metrics.completed.increment()
            case .compensated: metrics.compensated.increment()
            case .cancelled: metrics.cancelled.increment()
            case .parked: metrics.parked.increment()
            case .lockRequested: metrics.lockRequests.increment()
            default: break
            }
        }
        metrics.lockWaits.increment(by: host.takeLockWaits())
    }

    /// The whole stream, read from this node at linearizable consistency.
    static func readStream(_ stream: String, proposer: EventStoreProposer) async throws(ServiceError) -> [SagaEvent] {
        let recorded = try await proposer.readWholeStream(stream, requirement: .linearizable)
        do { return try recorded.map(SagaStreamEvents.sagaEvent) } catch {
            throw ServiceError(.internal, "saga stream \(stream) holds an event that is not a saga event: \(error)")
        }
    }
}

/// A saga's timer, as the runtime keeps its sleeping task.
struct SagaTimerKey: Hashable, Sendable {
    var stream: String
    var timer: SagaTimerID
}
