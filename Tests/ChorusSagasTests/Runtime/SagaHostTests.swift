import ChorusCore
import ChorusSagas
import Testing

/// The host's contract with a runtime: one append in flight per stream,
/// effects only after the append, reloads after an unsettled append, one
/// writer (the leader), and a lock table rebuilt from the streams.
@Suite struct SagaHostTests {
    static let stream = SagaNames.stream(definition: "order", id: "42")

    /// A runtime over an in-memory store that appends every `.append` at once.
    struct World {
        var host = SagaHost()
        var store: [String: [SagaEvent]] = [:]
        var calls: [SagaCall] = []
        var timers: [(String, UInt64)] = []
        var cancelledTimers = 0
        var responses: [UInt64: SagaHostResponse] = [:]
        var appendsPending: [(String, [SagaEvent], SagaExpectedRevision)] = []
        /// When false, appends wait in `appendsPending` for `settle`.
        var appendAtOnce = true

        mutating func run(_ outputs: [SagaHost.Output], now: UInt64) {
            var work = outputs
            while !work.isEmpty {
                let output = work.removeFirst()
                switch output {
                case .append(let stream, let events, let expected):
                    if appendAtOnce {
                        work += append(stream, events, expected, now: now)
                    } else {
                        appendsPending.append((stream, events, expected))
                    }
                case .call(_, let call): calls.append(call)
                case .setTimer(let stream, _, let dueAt): timers.append((stream, dueAt))
                case .cancelTimer: cancelledTimers += 1
                case .reload(let stream): work += try! host.reloaded(stream: stream, events: store[stream] ?? [], now: now)
                case .respond(let ticket, let response): responses[ticket] = response
                }
            }
        }

        mutating func append(_ stream: String, _ events: [SagaEvent], _ expected: SagaExpectedRevision, now: UInt64) -> [SagaHost.Output] {
            let current: SagaExpectedRevision = (store[stream]?.count ?? 0) == 0 ? .noStream : .exact(UInt64(store[stream]!.count - 1))
            guard current == expected else { return host.appendUnsettled(stream: stream) }
            store[stream, default: []] += events
            return host.appended(stream: stream, now: now)
        }

        mutating func settle(now: UInt64) {
            appendAtOnce = true
            let pending = appendsPending
            appendsPending = []
            for (stream, events, expected) in pending { run(append(stream, events, expected, now: now), now: now) }
        }

        mutating func submit(_ input: SagaInput, stream: String = SagaHostTests.stream, ticket: UInt64? = nil, now: UInt64) {
            run(host.submit(input, stream: stream, ticket: ticket, now: now), now: now)
        }

        func lines(_ stream: String = SagaHostTests.stream) -> [String] { (store[stream] ?? []).map(\.summary) }
    }

    static func start(_ id: SagaID = "42", definition: SagaDefinition = OrderSaga.definition()) -> SagaInput {
        .start(definition: definition, sagaID: id, input: OrderSaga.input)
    }

    static func success(_ call: SagaCall, _ result: JSONValue = .null) -> SagaInput {
        .reply(SagaReply(step: call.step, phase: call.phase, attempt: call.attempt, outcome: .succeeded(result: result)))
    }

    @Test func aStartIsAppendedBeforeItsCallIsSentAndTheCallerIsAnsweredOnce() {
        var world = World()
        world.run(world.host.lead(now: 0), now: 0)
        world.appendAtOnce = false
        world.submit(Self.start(), ticket: 1, now: 10)
        #expect(world.calls.isEmpty)
        #expect(world.responses.isEmpty)
        #expect(world.appendsPending.count == 1)
        // A second input for the stream waits for the first append.
        world.submit(Self.start(), ticket: 2, now: 11)
        #expect(world.appendsPending.count == 1)
        world.settle(now: 12)
        #expect(world.calls.map(\.step) == ["reserve"])
        #expect(world.responses[1] == .decided(.accepted, revision: 2))
        #expect(world.responses[2] == .decided(.alreadyStarted, revision: 2))
        #expect(world.lines() == ["started order v1 42", "scheduled reserve#1", "timer-set 1 timeout reserve#1 due 5010"])
        #expect(world.timers.map(\.1) == [5_010])
    }

    @Test func aConflictingAppendReloadsTheStreamAndDecidesAgain() {
        var world = World()
        world.run(world.host.lead(now: 0), now: 0)
        world.submit(Self.start(), now: 0)
        let reserve = world.calls[0]
        // Another writer (a deposed leader's append that committed) recorded the reply.
        var other = try! SagaOrchestrator(replaying: world.store[Self.stream]!)
        let decision = other.decide(Self.success(reserve, ["reservationId": "r1"]), now: 5)
        world.store[Self.stream]! += decision.events
        _ = try! other.apply(decision.events)
        // Our host still thinks the stream ends earlier: the reply it decides conflicts, is reloaded, and
        // is then ignored as stale (the outcome is recorded once); the reload re-sends the charge in flight.
        world.submit(Self.success(reserve, ["reservationId": "r1"]), ticket: 7, now: 6)
        #expect(world.responses[7] == .decided(.ignored(.staleReply), revision: UInt64(world.store[Self.stream]!.count - 1)))
        #expect(world.lines().filter { $0.hasPrefix("succeeded") } == ["succeeded reserve#1"])
        #expect(world.calls.map(\.step) == ["reserve", "charge"])
    }

    @Test func aFollowerRefusesInputsFoldsTheLogAndResumesWhenItLeads() throws {
        var leader = World()
        leader.run(leader.host.lead(now: 0), now: 0)
        leader.submit(Self.start(), now: 0)
        leader.submit(Self.success(leader.calls[0], ["reservationId": "r1"]), now: 5)
        var follower = SagaHost()
        #expect(follower.submit(Self.start(), stream: Self.stream, ticket: 3, now: 6) == [.respond(ticket: 3, .notLeading)])
        let events = leader.store[Self.stream]!
        try follower.observe(stream: Self.stream, events: Array(events[..<2]), firstRevision: 0)
        try follower.observe(stream: Self.stream, events: Array(events[1...]), firstRevision: 1)
        #expect(follower.state(of: Self.stream)?.eventCount == events.count)
        #expect(throws: SagaFoldError.self) {
            try follower.observe(stream: Self.stream, events: Array(events[1...]), firstRevision: events.count + 1)
        }
        // Leading, it re-sends the charge in flight with the recorded key and sets its timer again.
        let outputs = follower.lead(now: 7)
        let calls = outputs.compactMap { if case .call(_, let call) = $0 { call } else { nil } }
        #expect(calls == [leader.calls[1]])
        #expect(calls.first?.request.idempotencyKey == "saga-order-42/charge")
        #expect(outputs.contains { if case .setTimer = $0 { true } else { false } })
    }

    @Test func losingTheLeadAnswersWaitingCallersAndKeepsNothingQueued() {
        var world = World()
        world.run(world.host.lead(now: 0), now: 0)
        world.appendAtOnce = false
        world.submit(Self.start(), ticket: 1, now: 0)
        world.submit(Self.start(), ticket: 2, now: 0)
        let outputs = world.host.follow()
        #expect(outputs == [.respond(ticket: 2, .notLeading), .respond(ticket: 1, .outcomeUnknown)])
        #expect(world.host.pendingInputCount == 0)
        #expect(world.host.appended(stream: Self.stream, now: 1).isEmpty)
    }

    @Test func finishedSagasAreSummariesThatAnswerLateRepliesAndRestarts() {
        var world = World()
        world.run(world.host.lead(now: 0), now: 0)
        world.submit(Self.start(), now: 0)
        world.submit(Self.success(world.calls[0], ["reservationId": "r1"]), now: 1)
        world.submit(Self.success(world.calls[1], ["chargeId": "c1"]), now: 2)
        world.submit(Self.success(world.calls[2]), now: 3)
        #expect(world.host.state(of: Self.stream) == nil)
        #expect(world.host.finished[Self.stream]?.status == .completed)
        // Each answered attempt disarms its timeout: the runtime is told, so its sleeping timer can stop.
        #expect(world.cancelledTimers == 3)
        world.submit(Self.success(world.calls[2]), ticket: 9, now: 4)
        world.submit(Self.start(), ticket: 10, now: 4)
        #expect(world.responses[9] == .decided(.ignored(.sagaFinished), revision: nil))
        #expect(world.responses[10] == .decided(.alreadyStarted, revision: nil))
        #expect(world.host.summaries.map(\.status) == [.completed])
    }

    /// Inputs queued behind the decision that finishes a saga are answered
    /// from its summary, never decided on an empty fold (which appended a
    /// second start at `noStream`: an exact retry of the first start's ids in
    /// the store, or a conflict). Found by `chorus simulate sagas --seed 28`.
    @Test func inputsQueuedBehindTheFinalDecisionAreAnsweredFromTheSummary() {
        var world = World()
        world.run(world.host.lead(now: 0), now: 0)
        world.submit(Self.start(), now: 0)
        world.submit(Self.success(world.calls[0], ["reservationId": "r1"]), now: 1)
        world.submit(Self.success(world.calls[1], ["chargeId": "c1"]), now: 2)
        world.appendAtOnce = false
        world.submit(Self.success(world.calls[2]), now: 3)
        world.submit(Self.start(), ticket: 5, now: 4)
        world.submit(Self.success(world.calls[2]), ticket: 6, now: 4)
        #expect(world.appendsPending.count == 1)
        let (stream, events, _) = world.appendsPending.removeFirst()
        world.store[stream]! += events
        let outputs = world.host.appended(stream: stream, now: 5)
        #expect(world.host.finished[stream]?.status == .completed)
        #expect(!outputs.contains { if case .append = $0 { true } else { false } })
        #expect(outputs.contains(.respond(ticket: 5, .decided(.alreadyStarted, revision: nil))))
        #expect(outputs.contains(.respond(ticket: 6, .decided(.ignored(.sagaFinished), revision: nil))))
        #expect(world.host.pendingInputCount == 0)
    }

    /// Leaders' clocks disagree: a new leader whose clock is behind the old
    /// one's dates its decisions no earlier than what it folded, so the grant
    /// that follows a release is never recorded before it (two holders at
    /// once, as the streams tell it). Found by `chorus simulate sagas --seed 18`.
    @Test func aNewLeaderWithASlowerClockNeverDatesAGrantBeforeTheRelease() throws {
        let definition = OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait))
        var old = World()
        old.run(old.host.lead(now: 0), now: 0)
        old.submit(Self.start("a", definition: definition), stream: "saga-order-a", now: 0)
        old.submit(Self.start("b", definition: definition), stream: "saga-order-b", now: 1)
        let reserve = old.calls[0]
        old.submit(Self.success(reserve, ["reservationId": "r1"]), stream: "saga-order-a", now: 1_000)
        old.submit(Self.success(old.calls[1], ["chargeId": "c1"]), stream: "saga-order-a", now: 1_000)
        old.submit(Self.success(old.calls[2]), stream: "saga-order-a", now: 1_000)
        #expect(old.lines("saga-order-a").suffix(2) == ["lock-released sku:tea", "completed"])
        // The old leader's append of b's grant was lost: the new leader has b still waiting.
        let waiting = Array(old.store["saga-order-b"]!.prefix { if case .lockAcquired = $0 { false } else { true } })
        var next = World()
        try next.host.observe(stream: "saga-order-a", events: old.store["saga-order-a"]!, firstRevision: 0)
        try next.host.observe(stream: "saga-order-b", events: waiting, firstRevision: 0)
        next.store = ["saga-order-a": old.store["saga-order-a"]!, "saga-order-b": waiting]
        #expect(next.host.timeFloor == 1_000)
        // Its clock reads 900: behind the release it folded.
        next.run(next.host.lead(now: 900), now: 900)
        let grant = next.store["saga-order-b"]!.first { if case .lockAcquired = $0 { true } else { false } }
        guard case .lockAcquired(_, _, let grantedAt, _, let at)? = grant else {
            Issue.record("b was not granted the lock: \(next.lines("saga-order-b"))")
            return
        }
        #expect(grantedAt == 1_000 && at == 1_000)
        let records = ["saga-order-a", "saga-order-b"].map { SagaStreamRecord(stream: $0, events: next.store[$0]!) }
        #expect(!SagaChecker.check(streams: records, applications: []).violations.contains {
            if case .lockHeldTwice = $0 { true } else { false }
        })
    }

    /// A new leader rebuilds the lock table from the recorded holdings, so a
    /// waiter's re-sent request queues behind the holder instead of being granted.
    @Test func aNewLeaderRebuildsTheLockTableFromTheStreams() throws {
        let definition = OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait))
        var world = World()
        world.run(world.host.lead(now: 0), now: 0)
        world.submit(Self.start("a", definition: definition), stream: "saga-order-a", now: 0)
        world.submit(Self.start("b", definition: definition), stream: "saga-order-b", now: 1)
        #expect(world.calls.map(\.request.idempotencyKey) == ["saga-order-a/reserve"])
        #expect(world.host.locks.holding(of: "sku:tea")?.owner == "saga-order-a")
        // Leadership moves: a new host folds both streams and leads.
        var next = SagaHost()
        for stream in ["saga-order-a", "saga-order-b"] { try next.observe(stream: stream, events: world.store[stream]!, firstRevision: 0) }
        let outputs = next.lead(now: 2)
        #expect(next.locks.holding(of: "sku:tea")?.owner == "saga-order-a")
        #expect(next.locks.waiters(of: "sku:tea") == ["saga-order-b"])
        #expect(!outputs.contains { if case .append(let stream, _, _) = $0 { stream == "saga-order-b" } else { false } })
    }
}
