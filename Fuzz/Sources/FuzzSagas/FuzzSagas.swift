import ChorusCore
import ChorusSagas
import FuzzSupport

/// The saga decoders: `SagaEvent` (a type name and JSON data, as the event
/// store holds them), `SagaDefinition` JSON (with its templates), and the
/// lock table's snapshot (`SagaLockTable(restoring:)`).
///
/// Properties: events and definitions round-trip through their JSON; a
/// restored lock table holds as many locks as the bytes list, its snapshot
/// is a fixed point, and it keeps working: the same acquires, releases and
/// expiries on it and on its re-restored copy give the same events.
///
/// Input: a mode byte. 0: an event (a byte choosing its type, then the data).
/// 1: a definition's JSON. 2: a lock-table snapshot. 3: a template's source.
enum SagasHarness {
    static let lockLimits = SagaLockTableLimits.default

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 4 {
        case 0:
            let types = SagaEventType.allCases
            let type = types[Int(input.byte()) % types.count]
            event(SagaEncodedEvent(type: type.rawValue, data: input.rest()))
        case 1: definition(input.rest())
        case 2: lockTable(input.rest())
        default:
            let source = String(decoding: input.rest(), as: UTF8.self)
            guard let template = try? SagaTemplate(parsing: source) else { return }
            precondition(template.source == source, "a template forgot its source")
            _ = template.references
        }
    }

    static func event(_ encoded: SagaEncodedEvent) {
        guard let event = try? SagaEvent(decoding: encoded) else { return }
        let again: SagaEvent
        do { again = try SagaEvent(decoding: event.encoded()) } catch {
            preconditionFailure("a decoded saga event's encoding does not decode: \(error)")
        }
        precondition(again == event, "a saga event does not round-trip")
        precondition(again.encoded() == event.encoded(), "a saga event's encoding is not a fixed point")
    }

    static func definition(_ bytes: [UInt8]) {
        guard let definition = try? SagaDefinition(jsonBytes: bytes) else { return }
        let again: SagaDefinition
        do { again = try SagaDefinition(json: definition.json) } catch {
            preconditionFailure("a decoded definition's JSON does not decode: \(error)")
        }
        precondition(again == definition, "a saga definition does not round-trip")
        let text = Array(definition.json.serialized(.pretty).utf8)
        precondition((try? SagaDefinition(jsonBytes: text)) == definition, "a definition's pretty text does not round-trip")
    }

    static func lockTable(_ bytes: [UInt8]) {
        guard let table = try? SagaLockTable(restoring: bytes, limits: lockLimits) else { return }
        var reader = ByteReader(bytes)
        _ = try! reader.readByte()
        precondition(UInt64(table.count) == (try! reader.readVarint()), "a restored lock table lost locks its snapshot listed")
        let snapshot = table.snapshot()
        let copy: SagaLockTable
        do { copy = try SagaLockTable(restoring: snapshot, limits: lockLimits) } catch {
            preconditionFailure("a lock table's own snapshot does not restore: \(error)")
        }
        precondition(copy == table && copy.snapshot() == snapshot, "lock-table snapshot is not a fixed point")
        var first = table
        var second = copy
        let now = table.nextExpiryAt ?? 1
        for (name, owner) in [("sku:tea", "saga-a"), ("sku:tea", "saga-b"), ("k", "saga-a")] {
            precondition(
                first.acquire(name: name, owner: owner, expiryMilliseconds: 50, contention: .wait, now: now)
                    == second.acquire(name: name, owner: owner, expiryMilliseconds: 50, contention: .wait, now: now),
                "re-restored lock tables grant differently")
        }
        precondition(first.expire(now: now) == second.expire(now: now), "re-restored lock tables expire differently")
        precondition(first.release(name: "sku:tea", owner: "saga-a", now: now) == second.release(name: "sku:tea", owner: "saga-a", now: now))
        precondition(first == second && first.snapshot() == second.snapshot(), "re-restored lock tables diverge")
    }

    static let orderDefinition = #"""
        {"name": "order", "version": 1, "deadlineMilliseconds": 60000, "steps": [
          {"id": "reserve", "kind": "compensatable",
           "action": {"participant": "inventory", "method": "POST", "path": "/v1/reservations",
                      "body": {"orderId": "{{input.orderId}}", "sku": "{{input.sku}}", "quantity": "{{input.quantity}}"}},
           "compensation": {"participant": "inventory", "method": "DELETE", "path": "/v1/reservations/{{steps.reserve.idempotencyKey}}"},
           "retry": {"initialIntervalMilliseconds": 500, "maximumAttempts": 5, "nonRetryableErrorCodes": ["out_of_stock"]},
           "attemptTimeoutMilliseconds": 5000,
           "lock": {"name": "sku:{{input.sku}}", "expiryMilliseconds": 30000, "onContention": "wait"}},
          {"id": "charge", "kind": "pivot",
           "action": {"participant": "payments", "method": "POST", "path": "/v1/charges",
                      "body": {"amount": "{{input.amount}}", "reservationId": "{{steps.reserve.result.reservationId}}"}},
           "retry": {"maximumAttempts": 10, "nonRetryableErrorCodes": ["card_declined"]}},
          {"parallel": [
            {"id": "ship", "kind": "retriable", "action": {"participant": "shipping", "method": "POST", "path": "/v1/shipments/{{input.orderId}}"}},
            {"id": "mail", "kind": "retriable", "action": {"participant": "mail", "method": "PUT", "path": "/v1/mail"}}]}
        ]}
        """#

    static func seeds() -> [Seed] {
        let definition = try! SagaDefinition(jsonText: orderDefinition)
        let request = ParticipantRequest(
            participant: "inventory", method: .post, path: "/v1/reservations", body: ["sku": "tea"], idempotencyKey: "saga-order-1-reserve-1")
        let failure = SagaFailure(code: "out_of_stock", message: "none left")
        let events: [SagaEvent] = [
            .started(definition: definition, sagaID: "1001", input: ["orderId": "1001", "sku": "tea", "amount": 1250], at: 1),
            .lockRequested(name: "sku:tea", step: "reserve", expiryMilliseconds: 30_000, contention: .wait, at: 2),
            .lockAcquired(name: "sku:tea", step: "reserve", grantedAt: 2, expiresAt: 30_002, at: 3),
            .scheduled(step: "reserve", phase: .action, attempt: 1, request: request, at: 4),
            .succeeded(step: "reserve", phase: .action, attempt: 1, result: ["reservationId": "r-9"], at: 5),
            .failed(step: "charge", phase: .action, attempt: 2, failure: failure, retryable: true, at: 6),
            .timedOut(step: "ship", phase: .action, attempt: 1, at: 7),
            .timerSet(timer: SagaTimerID(3), purpose: .retry(step: "charge", phase: .action, attempt: 3), dueAt: 900, at: 8),
            .timerFired(timer: SagaTimerID(3), at: 900),
            .cancelRequested(reason: "customer", at: 901),
            .aborted(reason: .stepFailed("charge", code: "card_declined"), at: 902),
            .parked(reason: .compensationFailed("reserve"), failure: failure, at: 903),
            .operatorResolved(resolution: .failed(code: "refunded"), note: "refunded by hand", at: 904),
            .lockReleased(name: "sku:tea", at: 905),
            .compensated(at: 906),
        ]
        var seeds: [Seed] = []
        for (position, event) in events.enumerated() {
            let encoded = event.encoded()
            let type = UInt8(SagaEventType.allCases.firstIndex { $0.rawValue == encoded.type }!)
            seeds.append(Seed("event-\(position)", [0, type] + encoded.data))
        }
        var table = SagaLockTable()
        _ = table.acquire(name: "sku:tea", owner: "saga-a", expiryMilliseconds: 100, contention: .wait, now: 10)
        _ = table.acquire(name: "sku:tea", owner: "saga-b", expiryMilliseconds: 200, contention: .wait, now: 11)
        _ = table.acquire(name: "k", owner: "saga-c", expiryMilliseconds: 300, contention: .fail, now: 12)
        seeds.append(Seed("definition", [1] + Array(orderDefinition.utf8)))
        seeds.append(Seed("lock-table", [2] + table.snapshot()))
        seeds.append(Seed("template", [3] + Array("/v1/{{input.orderId}}/x/{{steps.reserve.result.id}}".utf8)))
        return seeds
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSagas(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    SagasHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzSagasMain {
    static func main() { FuzzMain.run(seeds: SagasHarness.seeds, testOneInput: fuzzSagas) }
}
