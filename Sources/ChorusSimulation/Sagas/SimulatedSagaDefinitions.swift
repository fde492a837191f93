import ChorusCore
import ChorusSagas

/// The sagas the saga workload runs, with timings scaled to the simulated
/// cluster (attempts of a few hundred milliseconds, where a Raft commit takes
/// a few milliseconds and an election a few hundred):
///
/// - **order** (the payment story of issue 12): reserve (inventory, a
///   semantic lock on the SKU that waits) → charge (payments, the pivot) →
///   ship (shipping, retriable), with a deadline before the pivot;
/// - **trip** (`SagaSimulationTests`'s parallel group): hotel, flight and car
///   booked at once (the hotel takes a lock on the city that fails at once
///   when held), then pay (the pivot).
///
/// Each non-retryable code is one a participant may answer with
/// (`SimulatedParticipants.businessRefusal`).
enum SimulatedSagaDefinitions {
    /// An attempt's timeout: longer than any normal round trip to a
    /// participant (`SimulatedParticipants.replyDelayMaximumMicroseconds`),
    /// shorter than a late reply.
    static let attemptTimeoutMilliseconds: UInt64 = 400
    static let lockExpiryMilliseconds: UInt64 = 3_000
    static let deadlineMilliseconds: UInt64 = 6_000

    static let compensationRetry = SagaRetryPolicy(initialIntervalMilliseconds: 100, maximumAttempts: 3)

    static let order: SagaDefinition = {
        let reserve = SagaStep(
            id: "reserve", kind: .compensatable,
            action: SagaRequestTemplate(
                participant: "inventory", method: .post, path: "/reservations",
                body: ["order": "{{input.orderId}}", "sku": "{{input.sku}}"]),
            compensation: SagaCompensation(
                request: SagaRequestTemplate(
                    participant: "inventory", method: .delete, path: "/reservations/{{steps.reserve.idempotencyKey}}"),
                retry: compensationRetry, attemptTimeoutMilliseconds: attemptTimeoutMilliseconds),
            retry: SagaRetryPolicy(
                initialIntervalMilliseconds: 100, maximumAttempts: 3, nonRetryableErrorCodes: ["out_of_stock"]),
            attemptTimeoutMilliseconds: attemptTimeoutMilliseconds,
            lock: SagaLockRequirement(name: "sku:{{input.sku}}", expiryMilliseconds: lockExpiryMilliseconds, onContention: .wait))
        let charge = SagaStep(
            id: "charge", kind: .pivot,
            action: SagaRequestTemplate(
                participant: "payments", method: .post, path: "/charges",
                body: ["order": "{{input.orderId}}", "amount": "{{input.amount}}", "reservation": "{{steps.reserve.result.id}}"]),
            retry: SagaRetryPolicy(
                initialIntervalMilliseconds: 100, maximumAttempts: 4, nonRetryableErrorCodes: ["card_declined"]),
            attemptTimeoutMilliseconds: attemptTimeoutMilliseconds)
        let ship = SagaStep(
            id: "ship", kind: .retriable,
            action: SagaRequestTemplate(
                participant: "shipping", method: .post, path: "/shipments/{{input.orderId}}",
                body: ["charge": "{{steps.charge.result.id}}"]),
            retry: SagaRetryPolicy(initialIntervalMilliseconds: 100, maximumAttempts: 3),
            attemptTimeoutMilliseconds: attemptTimeoutMilliseconds)
        return SagaDefinition(
            name: "order", version: 1, stages: [.single(reserve), .single(charge), .single(ship)],
            deadlineMilliseconds: deadlineMilliseconds)
    }()

    static let trip: SagaDefinition = {
        func booking(_ id: StepID, lock: SagaLockRequirement? = nil) -> SagaStep {
            SagaStep(
                id: id, kind: .compensatable,
                action: SagaRequestTemplate(
                    participant: id.rawValue, method: .post, path: "/bookings", body: ["order": "{{input.orderId}}"]),
                compensation: SagaCompensation(
                    request: SagaRequestTemplate(
                        participant: id.rawValue, method: .delete, path: "/bookings/{{steps.\(id).idempotencyKey}}"),
                    retry: compensationRetry, attemptTimeoutMilliseconds: attemptTimeoutMilliseconds),
                retry: SagaRetryPolicy(
                    initialIntervalMilliseconds: 100, maximumAttempts: 3, nonRetryableErrorCodes: ["sold_out"]),
                attemptTimeoutMilliseconds: attemptTimeoutMilliseconds, lock: lock)
        }
        let hotelLock = SagaLockRequirement(
            name: "city:{{input.city}}", expiryMilliseconds: lockExpiryMilliseconds, onContention: .fail)
        let pay = SagaStep(
            id: "pay", kind: .pivot,
            action: SagaRequestTemplate(
                participant: "payments", method: .post, path: "/charges", body: ["hotel": "{{steps.hotel.result.id}}"]),
            retry: SagaRetryPolicy(
                initialIntervalMilliseconds: 100, maximumAttempts: 4, nonRetryableErrorCodes: ["card_declined"]),
            attemptTimeoutMilliseconds: attemptTimeoutMilliseconds)
        return SagaDefinition(
            name: "trip", version: 1,
            stages: [.parallel([booking("hotel", lock: hotelLock), booking("flight"), booking("car")]), .single(pay)])
    }()

    static let skus = ["tea", "rice"]
    static let cities = ["rome", "oslo"]

    /// The input of saga number `index`: its order id is the saga id.
    static func input(index: Int, random: inout SeededGenerator) -> JSONValue {
        [
            "orderId": .string("s\(index)"),
            "sku": .string(skus[Int(random.next() % UInt64(skus.count))]),
            "city": .string(cities[Int(random.next() % UInt64(cities.count))]),
            "amount": .number(JSONNumber(Int(random.next() % 500 + 1))),
        ]
    }
}
