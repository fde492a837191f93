import ChorusCore
import ChorusSagas
import Testing

/// Many sagas against simulated participants that fail, time out, lose
/// requests and replies and answer late, with a runtime that crashes (after
/// appends, before carrying out effects) and is replaced by a new leader that
/// folds every stream. Faults stop after a while; an operator then retries
/// and finally resolves parked sagas. Every seed must end with every saga
/// final and the checker silent; two injected bugs must be caught.
@Suite struct SagaSimulationTests {
    @Test func randomizedSagasEndFinalAndPassTheChecker() throws {
        let seeds: [UInt64] = Array(1...6)
        var totals: [String: Int] = [:]
        for seed in seeds {
            var world = SimulatedSagaWorld(seed: seed, bug: .none)
            world.run()
            let result = world.check()
            #expect(result.violations.isEmpty, "seed \(seed): \(result.violations.prefix(3))")
            #expect(world.sagaCount == SimulatedSagaWorld.sagasPerSeed, "seed \(seed)")
            let statuses = try world.finalStatuses()
            let unfinished = statuses.filter { !$0.value.isFinal }.map(\.key).sorted()
            #expect(unfinished.isEmpty, "seed \(seed): \(unfinished.prefix(3))")
            #expect(world.unrefundedApplications().isEmpty, "seed \(seed): \(world.unrefundedApplications().prefix(3))")
            #expect(try world.replaysMatch(), "seed \(seed)")
            for (name, count) in result.statusCounts { totals[name, default: 0] += count }
            totals["crashes", default: 0] += world.crashes
            totals["parks", default: 0] += world.parks
        }
        // The faults did bite: every outcome and every recovery path occurred.
        #expect(totals["completed", default: 0] > 0)
        #expect(totals["compensated", default: 0] > 0)
        #expect(totals["cancelled", default: 0] > 0)
        #expect(totals["crashes", default: 0] > 0)
        #expect(totals["parks", default: 0] > 0)
        print("saga simulation seeds=\(seeds.count) \(totals.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }

    @Test func aParticipantThatIsNotIdempotentIsCaught() {
        let caught = (1...10).first { seed in
            var world = SimulatedSagaWorld(seed: UInt64(seed), bug: .nonIdempotentParticipant)
            world.run()
            return world.check().violations.contains { if case .keyAppliedTwice = $0 { true } else { false } }
        }
        #expect(caught == 1)
    }

    /// The runtime rewrites the key after the stream recorded it, so the
    /// participant applies a key that no saga sent.
    @Test func aRetryWithAFreshIdempotencyKeyIsCaught() {
        let caught = (1...10).first { seed in
            var world = SimulatedSagaWorld(seed: UInt64(seed), bug: .freshKeyOnRetry)
            world.run()
            return world.check().violations.contains { if case .unknownKeyApplied = $0 { true } else { false } }
        }
        #expect(caught == 1)
    }
}

/// One seeded world: an event store of saga streams, a leader's in-memory
/// orchestrators, a lock table, a network and idempotent participants.
struct SimulatedSagaWorld {
    enum Bug {
        case none
        /// The participant applies a repeated key again.
        case nonIdempotentParticipant
        /// The runtime sends retries under a key with the attempt in it.
        case freshKeyOnRetry
    }

    enum Action {
        case start(stream: String, definition: SagaDefinition, id: SagaID, input: JSONValue)
        case cancel(stream: String)
        case request(stream: String, call: SagaCall)
        case reply(stream: String, reply: SagaReply)
        case timer(stream: String)
        case lockExpiry
        case crash
        case operatorSweep
    }

    struct Pending {
        var at: UInt64
        var sequence: UInt64
        var action: Action
    }

    static let sagasPerSeed = 40
    static let faultsEndAt: UInt64 = 60_000
    static let timeLimit: UInt64 = 3_600_000

    let seed: UInt64
    let bug: Bug
    var random: SeededGenerator
    var now: UInt64 = 0
    var queue = PendingQueue()
    var sequence: UInt64 = 0
    /// The event store: every appended event, per stream.
    var store: [String: [SagaEvent]] = [:]
    /// The leader's orchestrators; lost on a crash.
    var live: [String: SagaOrchestrator] = [:]
    var crashed = false
    var table = SagaLockTable()
    var expiriesScheduled: Set<UInt64> = []
    /// participant → idempotency key → the stored answer.
    var answers: [String: [String: ParticipantOutcome]] = [:]
    var applications: [ParticipantApplication] = []
    var operatorRetries: [String: Int] = [:]
    var crashes = 0
    var parks = 0

    init(seed: UInt64, bug: Bug) {
        self.seed = seed
        self.bug = bug
        random = SeededGenerator(seed: seed)
        for index in 0..<Self.sagasPerSeed {
            let useTrip = random.chance(0.3)
            let definition = useTrip ? Self.trip : Self.order
            let id = SagaID("s\(index)")
            let stream = SagaNames.stream(definition: definition.name, id: id)
            let input: JSONValue = ["orderId": .string(id.rawValue), "sku": .string(["tea", "rice", "salt"][Int(random.next() % 3)]), "amount": .integer(Int64(random.next() % 500 + 1))]
            let startAt = random.next() % 20_000
            schedule(.start(stream: stream, definition: definition, id: id, input: input), at: startAt)
            if random.chance(0.2) { schedule(.start(stream: stream, definition: definition, id: id, input: input), at: startAt + random.next() % 3_000) }
            if random.chance(0.15) { schedule(.cancel(stream: stream), at: startAt + random.next() % 4_000) }
        }
        for _ in 0..<3 { schedule(.crash, at: 5_000 + random.next() % (Self.faultsEndAt - 5_000)) }
        schedule(.operatorSweep, at: Self.faultsEndAt + 30_000)
    }

    // MARK: Definitions

    static let order: SagaDefinition = {
        let fast = SagaRetryPolicy(initialIntervalMilliseconds: 200, maximumAttempts: 4, nonRetryableErrorCodes: ["out_of_stock", "card_declined"])
        let reserve = SagaStep(
            id: "reserve", kind: .compensatable,
            action: SagaRequestTemplate(participant: "inventory", method: .post, path: "/reservations", body: ["sku": "{{input.sku}}"]),
            compensation: SagaCompensation(
                request: SagaRequestTemplate(participant: "inventory", method: .delete, path: "/reservations/{{steps.reserve.idempotencyKey}}"),
                retry: SagaRetryPolicy(initialIntervalMilliseconds: 200, maximumAttempts: 3), attemptTimeoutMilliseconds: 1_500),
            retry: fast, attemptTimeoutMilliseconds: 1_500,
            lock: SagaLockRequirement(name: "sku:{{input.sku}}", expiryMilliseconds: 8_000, onContention: .wait))
        let charge = SagaStep(
            id: "charge", kind: .pivot,
            action: SagaRequestTemplate(participant: "payments", method: .post, path: "/charges", body: ["amount": "{{input.amount}}"]),
            retry: fast, attemptTimeoutMilliseconds: 1_500)
        let ship = SagaStep(
            id: "ship", kind: .retriable,
            action: SagaRequestTemplate(participant: "shipping", method: .post, path: "/shipments", body: ["charge": "{{steps.charge.result.id}}"]),
            retry: SagaRetryPolicy(initialIntervalMilliseconds: 200, maximumAttempts: 4), attemptTimeoutMilliseconds: 1_500)
        return SagaDefinition(name: "order", version: 1, stages: [.single(reserve), .single(charge), .single(ship)], deadlineMilliseconds: 40_000)
    }()

    static let trip: SagaDefinition = {
        func booking(_ id: StepID) -> SagaStep {
            SagaStep(
                id: id, kind: .compensatable,
                action: SagaRequestTemplate(participant: id.rawValue, method: .post, path: "/bookings", body: ["order": "{{input.orderId}}"]),
                compensation: SagaCompensation(
                    request: SagaRequestTemplate(participant: id.rawValue, method: .delete, path: "/bookings/{{steps.\(id).idempotencyKey}}"),
                    retry: SagaRetryPolicy(initialIntervalMilliseconds: 200, maximumAttempts: 3), attemptTimeoutMilliseconds: 1_500),
                retry: SagaRetryPolicy(initialIntervalMilliseconds: 200, maximumAttempts: 3, nonRetryableErrorCodes: ["sold_out"]),
                attemptTimeoutMilliseconds: 1_500)
        }
        let pay = SagaStep(
            id: "pay", kind: .pivot,
            action: SagaRequestTemplate(participant: "payments", method: .post, path: "/charges", body: ["hotel": "{{steps.hotel.result.id}}"]),
            retry: SagaRetryPolicy(initialIntervalMilliseconds: 200, maximumAttempts: 4, nonRetryableErrorCodes: ["card_declined"]),
            attemptTimeoutMilliseconds: 1_500)
        return SagaDefinition(name: "trip", version: 1, stages: [.parallel([booking("hotel"), booking("flight"), booking("car")]), .single(pay)])
    }()

    var faultsActive: Bool { now < Self.faultsEndAt }
    var sagaCount: Int { store.count }

    // MARK: Running

    mutating func schedule(_ action: Action, at: UInt64) {
        sequence += 1
        queue.push(Pending(at: at, sequence: sequence, action: action))
    }

    mutating func run() {
        var steps = 0
        while let item = queue.pop() {
            guard item.at <= Self.timeLimit else { break }
            steps += 1
            precondition(steps < 1_000_000, "seed \(seed): the simulation does not settle")
            now = max(now, item.at)
            handle(item.action)
            if crashed { recover() }
        }
    }

    mutating func handle(_ action: Action) {
        switch action {
        case .start(let stream, let definition, let id, let input):
            process(stream, .start(definition: definition, sagaID: id, input: input))
        case .cancel(let stream):
            if store[stream] != nil { process(stream, .cancel(reason: "the customer asked")) }
        case .request(let stream, let call):
            participantHandles(stream, call)
        case .reply(let stream, let reply):
            process(stream, .reply(reply))
        case .timer(let stream):
            process(stream, .tick)
        case .lockExpiry:
            expiriesScheduled.remove(now)
            deliver(table.expire(now: now))
        case .crash:
            crashed = true
        case .operatorSweep:
            operatorSweep()
        }
    }

    /// Decide, append, and (unless the leader crashes right after the
    /// append) apply and carry out the effects.
    mutating func process(_ stream: String, _ input: SagaInput) {
        guard !crashed else { return }
        var orchestrator: SagaOrchestrator
        if let existing = live[stream] {
            orchestrator = existing
        } else {
            orchestrator = try! SagaOrchestrator(replaying: store[stream] ?? [])
        }
        let decision = orchestrator.decide(input, now: now)
        guard !decision.events.isEmpty else { return }
        let expected: SagaExpectedRevision = (store[stream]?.count ?? 0) == 0 ? .noStream : .exact(UInt64(store[stream]!.count - 1))
        precondition(decision.expectedRevision == expected, "one leader: appends never conflict")
        store[stream, default: []] += decision.events
        parks += decision.events.filter { if case .parked = $0 { true } else { false } }.count
        if faultsActive && random.chance(0.01) {
            crashed = true  // appended, but the effects are never carried out by this leader
            return
        }
        let effects = try! orchestrator.apply(decision.events)
        live[stream] = orchestrator
        for effect in effects { carryOut(effect, stream) }
    }

    mutating func carryOut(_ effect: SagaEffect, _ stream: String) {
        guard !crashed else { return }
        switch effect {
        case .call(var call):
            if bug == .freshKeyOnRetry && call.attempt > 1 { call.request.idempotencyKey += "#\(call.attempt)" }
            if faultsActive && random.chance(0.05) { return }  // the request is lost
            schedule(.request(stream: stream, call: call), at: now + 5 + random.next() % 100)
        case .setTimer(_, let dueAt):
            schedule(.timer(stream: stream), at: dueAt)
        case .cancelTimer:
            break
        case .acquireLock(let name, let owner, let expiry, let contention):
            deliver(table.acquire(name: name, owner: owner, expiryMilliseconds: expiry, contention: contention, now: now))
        case .releaseLock(let name, let owner):
            deliver(table.release(name: name, owner: owner, now: now))
        }
    }

    mutating func deliver(_ events: [SagaLockTable.Event]) {
        for event in events {
            switch event {
            case .granted(let name, let owner, let grantedAt, let expiresAt):
                process(owner, .lockGranted(name: name, grantedAt: grantedAt, expiresAt: expiresAt))
            case .denied(let name, let owner, _):
                process(owner, .lockDenied(name: name))
            case .expired(let name, let owner, let at):
                process(owner, .lockExpired(name: name, expiredAt: at))
            case .queued, .released, .withdrawn:
                break
            }
        }
        scheduleLockExpiry()
    }

    mutating func scheduleLockExpiry() {
        if let next = table.nextExpiryAt, expiriesScheduled.insert(max(next, now)).inserted {
            schedule(.lockExpiry, at: max(next, now))
        }
    }

    /// The leader is gone: its orchestrators and its in-memory timers with
    /// it; replies addressed to it are partly lost. A new leader folds every
    /// stream, restores the replicated lock table from its snapshot, and
    /// carries out every saga's resumption effects.
    mutating func recover() {
        crashed = false
        crashes += 1
        live = [:]
        var random = self.random
        queue.removeAll {
            switch $0.action {
            case .timer: return true
            case .reply: return random.chance(0.5)
            default: return false
            }
        }
        self.random = random
        table = try! SagaLockTable(restoring: table.snapshot())
        for stream in store.keys.sorted() {
            let orchestrator = try! SagaOrchestrator(replaying: store[stream]!)
            live[stream] = orchestrator
            for effect in orchestrator.resumptionEffects() { carryOut(effect, stream) }
        }
        scheduleLockExpiry()
    }

    /// Parked sagas get two operator retries, then are resolved by hand.
    mutating func operatorSweep() {
        var anyParked = false
        for stream in store.keys.sorted() {
            let state = try! live[stream]?.state ?? SagaState(replaying: store[stream]!)
            guard case .parked(let reason, _) = state.status else { continue }
            anyParked = true
            if operatorRetries[stream, default: 0] < 2 {
                operatorRetries[stream, default: 0] += 1
                process(stream, .operatorRetry(note: "sweep"))
            } else {
                // The operator looks at the participant and does by hand what is left.
                let step = state.step(reason.step)!
                let resolution: SagaResolution
                switch reason {
                case .pivotUncertain:
                    let key = SagaNames.idempotencyKey(stream: stream, step: step.id, phase: .action)
                    if case .succeeded(let result)? = answers[step.definition.action.participant]?[key] {
                        resolution = .succeeded(result: result)
                    } else {
                        resolution = .failed(code: "checked_not_applied")
                    }
                case .compensationFailed:
                    let participant = step.definition.compensation!.request.participant
                    let key = SagaNames.idempotencyKey(stream: stream, step: step.id, phase: .compensation)
                    if answers[participant]?[key] == nil {
                        applications.append(ParticipantApplication(participant: participant, idempotencyKey: key))
                        answers[participant, default: [:]][key] = .succeeded(result: nil)
                    }
                    resolution = .succeeded(result: nil)
                case .stepFailed:
                    resolution = .succeeded(result: ["byHand": true])
                }
                process(stream, .operatorResolve(resolution, note: "resolved by hand"))
            }
        }
        if anyParked || !queue.isEmpty {
            schedule(.operatorSweep, at: now + 30_000)
        }
    }

    // MARK: Participants

    mutating func participantHandles(_ stream: String, _ call: SagaCall) {
        let participant = call.request.participant
        let key = call.request.idempotencyKey
        let outcome: ParticipantOutcome
        if faultsActive && random.chance(0.15) {
            outcome = .failed(code: "unavailable", message: "try again", nonRetryable: false)
        } else if let stored = answers[participant]?[key] {
            outcome = stored
            if bug == .nonIdempotentParticipant, case .succeeded = stored {
                applications.append(ParticipantApplication(participant: participant, idempotencyKey: key))
            }
        } else {
            if call.phase == .action, let refusal = businessRefusal(participant) {
                outcome = .failed(code: refusal, message: "refused", nonRetryable: false)
            } else {
                applications.append(ParticipantApplication(participant: participant, idempotencyKey: key))
                outcome = .succeeded(result: ["id": .string("\(participant)-\(applications.count)")])
            }
            answers[participant, default: [:]][key] = outcome
        }
        if faultsActive && random.chance(0.05) { return }  // the reply is lost
        let late = faultsActive && random.chance(0.08)
        let delay = late ? 1_500 + random.next() % 3_000 : 5 + random.next() % 300
        schedule(.reply(stream: stream, reply: SagaReply(step: call.step, phase: call.phase, attempt: call.attempt, outcome: outcome)), at: now + delay)
    }

    mutating func businessRefusal(_ participant: String) -> String? {
        switch participant {
        case "inventory": random.chance(0.1) ? "out_of_stock" : nil
        case "payments": random.chance(0.1) ? "card_declined" : nil
        case "hotel", "flight", "car": random.chance(0.08) ? "sold_out" : nil
        case "shipping": random.chance(0.05) ? "address_invalid" : nil
        default: nil
        }
    }

    // MARK: Checking

    func check() -> SagaCheckResult {
        SagaChecker.check(
            streams: store.keys.sorted().map { SagaStreamRecord(stream: $0, events: store[$0]!) }, applications: applications)
    }

    func finalStatuses() throws -> [String: SagaStatus] {
        var statuses: [String: SagaStatus] = [:]
        for (stream, events) in store { statuses[stream] = try SagaState(replaying: events).status }
        return statuses
    }

    /// Applied actions of compensatable steps in sagas that ended compensated
    /// or cancelled whose compensation was never applied (nor resolved by
    /// hand): a charge with no refund.
    func unrefundedApplications() -> [String] {
        let applied = Set(applications.map(\.idempotencyKey))
        var missing: [String] = []
        for stream in store.keys.sorted() {
            let state = try! SagaState(replaying: store[stream]!)
            guard state.status == .compensated || state.status == .cancelled else { continue }
            for step in state.steps where step.definition.kind == .compensatable {
                let key = SagaNames.idempotencyKey(stream: stream, step: step.id, phase: .action)
                if applied.contains(key) && !applied.contains(key + "/compensation") {
                    missing.append(key)
                }
            }
        }
        return missing
    }

    /// Folding each stream from scratch, and through the codec, gives the
    /// leader's state; and re-deciding each recorded decision is impossible
    /// to tell apart, which the replay suite checks in detail.
    func replaysMatch() throws -> Bool {
        for (stream, events) in store {
            let decoded = try events.map { try SagaEvent(decoding: $0.encoded()) }
            guard decoded == events else { return false }
            let folded = try SagaOrchestrator(replaying: decoded)
            if let leader = live[stream], leader.state != folded.state { return false }
        }
        return true
    }
}

/// A binary min-heap of pending actions by (time, sequence): the
/// simulation's clock, deterministic for equal times.
struct PendingQueue {
    private var heap: [SimulatedSagaWorld.Pending] = []

    var isEmpty: Bool { heap.isEmpty }

    private static func precedes(_ lhs: SimulatedSagaWorld.Pending, _ rhs: SimulatedSagaWorld.Pending) -> Bool {
        (lhs.at, lhs.sequence) < (rhs.at, rhs.sequence)
    }

    mutating func push(_ item: SimulatedSagaWorld.Pending) {
        heap.append(item)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> SimulatedSagaWorld.Pending? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && Self.precedes(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.precedes(heap[right], heap[smallest]) { smallest = right }
            guard smallest != parent else { return top }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Removes matching items, in an order that depends only on the heap's contents.
    mutating func removeAll(where matches: (SimulatedSagaWorld.Pending) -> Bool) {
        let kept = heap.sorted(by: Self.precedes).filter { !matches($0) }
        heap = []
        for item in kept { push(item) }
    }
}
