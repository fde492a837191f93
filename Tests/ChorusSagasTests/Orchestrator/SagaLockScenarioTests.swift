import ChorusCore
import ChorusSagas
import Testing

/// Two sagas contending for one semantic lock, through a real lock table.
@Suite struct SagaLockScenarioTests {
    /// Sagas sharing one lock table; effects on locks are carried out at once
    /// and the table's answers fed back, as the runtime does.
    struct World {
        var sagas: [String: SagaHarness] = [:]
        var table = SagaLockTable()
        var carried = 0

        mutating func start(_ id: SagaID, _ definition: SagaDefinition, at now: UInt64) {
            var saga = SagaHarness()
            saga.now = now
            saga.start(definition, id: id)
            sagas[saga.state.stream!] = saga
            route(now: now)
        }

        mutating func with(_ stream: String, now: UInt64, _ body: (inout SagaHarness) -> Void) {
            var saga = sagas[stream]!
            saga.now = now
            body(&saga)
            sagas[stream] = saga
            route(now: now)
        }

        mutating func expire(now: UInt64) {
            deliver(table.expire(now: now), now: now)
            route(now: now)
        }

        /// Carries out every new lock effect of every saga, until none is left.
        mutating func route(now: UInt64) {
            var progressed = true
            while progressed {
                progressed = false
                for stream in sagas.keys.sorted() {
                    var saga = sagas[stream]!
                    let pending = saga.effects.dropFirst(saga.routed)
                    saga.routed = saga.effects.count
                    sagas[stream] = saga
                    for effect in pending {
                        switch effect {
                        case .acquireLock(let name, let owner, let expiry, let contention):
                            progressed = true
                            deliver(table.acquire(name: name, owner: owner, expiryMilliseconds: expiry, contention: contention, now: now), now: now)
                        case .releaseLock(let name, let owner):
                            progressed = true
                            deliver(table.release(name: name, owner: owner, now: now), now: now)
                        default: break
                        }
                    }
                }
            }
        }

        mutating func deliver(_ events: [SagaLockTable.Event], now: UInt64) {
            for event in events {
                switch event {
                case .granted(let name, let owner, let grantedAt, let expiresAt):
                    sagas[owner]!.send(.lockGranted(name: name, grantedAt: grantedAt, expiresAt: expiresAt), at: now)
                case .denied(let name, let owner, _):
                    sagas[owner]!.send(.lockDenied(name: name), at: now)
                case .expired(let name, let owner, let at):
                    sagas[owner]!.send(.lockExpired(name: name, expiredAt: at), at: now)
                case .queued, .released, .withdrawn:
                    break
                }
            }
        }

        var records: [SagaStreamRecord] { sagas.keys.sorted().map { SagaStreamRecord(stream: $0, events: sagas[$0]!.stream) } }
    }

    /// A parallel group whose first member waits for a lock while the second
    /// is in flight, then a cancel: the abort withdraws the lock request at
    /// once (no step may wait for a lock while the saga compensates), and
    /// only then drains the member in flight. Found by `chorus simulate
    /// sagas --seed 15 --quick`, where the old order (drain first) broke that
    /// invariant.
    @Test func anAbortWithdrawsALockRequestBeforeDrainingTheGroup() {
        let booking = { (id: StepID, lock: SagaLockRequirement?) in
            SagaStep(
                id: id, kind: .compensatable,
                action: SagaRequestTemplate(participant: id.rawValue, method: .post, path: "/bookings"),
                compensation: SagaCompensation(
                    request: SagaRequestTemplate(
                        participant: id.rawValue, method: .delete, path: "/bookings/{{steps.\(id).idempotencyKey}}")),
                attemptTimeoutMilliseconds: 1_000, lock: lock)
        }
        let pay = SagaStep(
            id: "pay", kind: .pivot, action: SagaRequestTemplate(participant: "payments", method: .post, path: "/charges"))
        let cityLock = SagaLockRequirement(name: "city:rome", expiryMilliseconds: 5_000, onContention: .wait)
        let trip = SagaDefinition(
            name: "trip", version: 1, stages: [.parallel([booking("hotel", cityLock), booking("flight", nil)]), .single(pay)])
        var saga = SagaHarness()
        saga.start(trip, id: "t1", input: [:])
        #expect(
            saga.lines == [
                "started trip v1 t1", "lock-requested city:rome by hotel wait", "scheduled flight#1",
                "timer-set 1 timeout flight#1 due 1000",
            ])
        let before = saga.stream.count
        #expect(saga.send(.cancel(reason: "the customer asked"), at: 10) == .accepted)
        #expect(saga.lines(from: before) == ["cancel-requested", "aborted cancelled", "lock-released city:rome"])
        #expect(saga.state.step("hotel")?.action.phase == .pending)
        #expect(saga.effects.last == .releaseLock(name: "city:rome", owner: "saga-trip-t1"))
        // The flight in flight is drained, then compensated (it may have been applied), and the saga ends.
        saga.succeed("flight", at: 20)
        saga.succeed("flight", .compensation, at: 30)
        #expect(saga.state.status == .cancelled)
        let record = SagaStreamRecord(stream: "saga-trip-t1", events: saga.stream)
        #expect(SagaChecker.check(streams: [record], applications: []).isValid)
    }

    @Test func aWaitingSagaGetsTheLockWhenTheHolderCompletes() {
        var world = World()
        let definition = OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait))
        world.start("a", definition, at: 0)
        world.start("b", definition, at: 10)
        #expect(world.sagas["saga-order-a"]!.lines == [
            "started order v1 a",
            "lock-requested sku:tea by reserve wait",
            "lock-acquired sku:tea until 30000",
            "scheduled reserve#1",
            "timer-set 1 timeout reserve#1 due 5000",
        ])
        #expect(world.sagas["saga-order-b"]!.lines == ["started order v1 b", "lock-requested sku:tea by reserve wait"])
        #expect(world.table.waiters(of: "sku:tea") == ["saga-order-b"])
        world.with("saga-order-a", now: 100) { $0.succeed("reserve", result: ["reservationId": "r-a"]) }
        world.with("saga-order-a", now: 200) { $0.succeed("charge", result: ["chargeId": "c-a"]) }
        world.with("saga-order-a", now: 300) { $0.succeed("ship") }
        #expect(world.sagas["saga-order-a"]!.lines.suffix(3) == ["succeeded ship#1", "lock-released sku:tea", "completed"])
        #expect(world.sagas["saga-order-b"]!.lines == [
            "started order v1 b",
            "lock-requested sku:tea by reserve wait",
            "lock-acquired sku:tea until 30300",
            "scheduled reserve#1",
            "timer-set 1 timeout reserve#1 due 5300",
        ])
        #expect(world.table.holding(of: "sku:tea")?.owner == "saga-order-b")
        world.with("saga-order-b", now: 400) { $0.succeed("reserve", result: ["reservationId": "r-b"]) }
        world.with("saga-order-b", now: 500) { $0.succeed("charge", result: ["chargeId": "c-b"]) }
        world.with("saga-order-b", now: 600) { $0.succeed("ship") }
        #expect(world.sagas["saga-order-b"]!.state.status == .completed)
        #expect(world.table.count == 0)
        #expect(SagaChecker.check(streams: world.records, applications: []).violations.isEmpty)
    }

    @Test func aSagaThatMustNotWaitFailsAtOnce() {
        var world = World()
        world.start("a", OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait)), at: 0)
        world.start("b", OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.fail)), at: 10)
        let b = world.sagas["saga-order-b"]!
        #expect(b.state.status == .compensated)
        #expect(b.lines == [
            "started order v1 b",
            "lock-requested sku:tea by reserve fail",
            "lock-denied sku:tea",
            "aborted step reserve failed (lock_unavailable)",
            "compensated",
        ])
        #expect(b.calls.isEmpty)
    }

    @Test func anExpiredLockAbortsTheSagaBeforeThePivotAndPassesToTheNext() {
        var world = World()
        let definition = OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait, expiryMilliseconds: 3_000))
        world.start("a", definition, at: 0)
        world.start("b", definition, at: 10)
        // reserve of a is slow; its reservation expires at 3000.
        world.expire(now: 3_000)
        let a = world.sagas["saga-order-a"]!
        #expect(a.state.status == .compensating(.lockExpired(name: "sku:tea")))
        #expect(a.lines.suffix(2) == ["lock-expired sku:tea at 3000", "aborted lock sku:tea expired"])
        #expect(world.table.holding(of: "sku:tea")?.owner == "saga-order-b")
        #expect(world.sagas["saga-order-b"]!.lines.suffix(3) == ["lock-acquired sku:tea until 6000", "scheduled reserve#1", "timer-set 1 timeout reserve#1 due 8000"])
        // a's reserve answers after all: it is undone, and a releases nothing (its lock is gone).
        world.with("saga-order-a", now: 3_500) { $0.succeed("reserve", result: ["reservationId": "r-a"]) }
        world.with("saga-order-a", now: 3_600) { $0.succeed("reserve", .compensation) }
        let finished = world.sagas["saga-order-a"]!
        #expect(finished.state.status == .compensated)
        #expect(finished.lines.suffix(5) == ["succeeded reserve#1", "scheduled reserve/c#1", "timer-set 2 timeout reserve/c#1 due 5500", "succeeded reserve/c#1", "compensated"])
        #expect(!finished.lines.contains("lock-released sku:tea"))
        #expect(world.table.holding(of: "sku:tea")?.owner == "saga-order-b")
        // b still runs; the two holdings do not overlap.
        #expect(SagaChecker.check(streams: world.records, applications: []).violations == [
            .notFinished(stream: "saga-order-b", lastEvent: "SagaTimerSet"),
        ])
    }

    @Test func aLockExpiryAfterThePivotIsOnlyRecorded() {
        var world = World()
        world.start("a", OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait, expiryMilliseconds: 3_000)), at: 0)
        world.with("saga-order-a", now: 100) { $0.succeed("reserve", result: ["reservationId": "r"]) }
        world.with("saga-order-a", now: 200) { $0.succeed("charge", result: ["chargeId": "c"]) }
        world.expire(now: 3_000)
        world.with("saga-order-a", now: 3_100) { $0.succeed("ship") }
        let a = world.sagas["saga-order-a"]!
        #expect(a.state.status == .completed)
        #expect(a.lines.suffix(3) == ["lock-expired sku:tea at 3000", "succeeded ship#1", "completed"])
    }

    @Test func aWaitingRequestIsWithdrawnWhenTheSagaAborts() {
        var world = World()
        let definition = OrderSaga.definition(reserve: OrderSaga.reserveWithLock(.wait), deadlineMilliseconds: 1_000)
        world.start("a", definition, at: 0)
        world.start("b", definition, at: 10)
        // b's deadline passes while it waits for the lock: it withdraws its request.
        world.with("saga-order-b", now: 1_010) { $0.tick(at: 1_010) }
        let b = world.sagas["saga-order-b"]!
        #expect(b.state.status == .compensated)
        #expect(b.lines == [
            "started order v1 b",
            "timer-set 1 deadline due 1010",
            "lock-requested sku:tea by reserve wait",
            "timer-fired 1",
            "aborted deadline exceeded",
            "lock-released sku:tea",
            "compensated",
        ])
        #expect(world.table.waiters(of: "sku:tea").isEmpty)
        #expect(world.table.holding(of: "sku:tea")?.owner == "saga-order-a")
        // A grant that crosses the withdrawal is stale.
        var late = b
        #expect(late.send(.lockGranted(name: "sku:tea", grantedAt: 1_020, expiresAt: 31_020), at: 1_020) == .ignored(.sagaFinished))
    }
}
