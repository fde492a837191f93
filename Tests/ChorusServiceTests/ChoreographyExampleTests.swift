import ChorusCore
import ChorusEventStore
import Testing

@testable import ChorusService

/// The choreography worked example (Sources/ChorusSagas/README.md,
/// "Choreography"): no orchestrator, services reacting to each other's
/// events from subscriptions, which deliver at least once and, across
/// streams, in no order a service can rely on.
///
/// - payments reacts to `OrderPlaced` in `order-{id}` by appending
///   `PaymentCaptured` to `payment-{id}`, with an event id **derived from the
///   event it reacts to**: a second delivery appends the same id at the same
///   expected state, which the store answers as an exact retry;
/// - shipping waits for both `OrderPlaced` and `PaymentCaptured` of an order
///   (a fold keyed by order, so either may come first) and then appends
///   `ShipmentRequested` to `shipment-{id}` expecting `no_stream`, with an id
///   derived from the order: a second trigger is the same append again.
///
/// The test delivers the events twice and in every order and checks the
/// streams come out the same, each reaction written once.
@Suite struct ChoreographyExampleTests {
    /// A reaction: what a service appends in answer to an event.
    struct Reaction: Sendable, Hashable {
        var stream: StreamName
        var expected: ExpectedState
        var event: EventDraft
    }

    /// An id derived from an event id and the reaction's name: the same input always gives the same id.
    static func derivedID(from id: EventID, _ reaction: String) -> EventID {
        var hash = FNV1a(continuing: id.high ^ id.low.byteSwapped)
        hash.combine(bytes: Array(reaction.utf8))
        return EventID(high: hash.value, low: id.low ^ 0x5EED)
    }

    static func orderID(_ event: RecordedEvent) -> String? {
        (try? JSONValue(parsing: event.data))?["orderId"]?.stringValue
    }

    struct Payments {
        func react(to event: RecordedEvent) -> Reaction? {
            guard event.type == "OrderPlaced", let order = ChoreographyExampleTests.orderID(event) else { return nil }
            let data: JSONValue = ["orderId": .string(order), "amount": (try? JSONValue(parsing: event.data))?["amount"] ?? .null]
            return Reaction(
                stream: StreamName("payment-\(order)"), expected: .any,
                event: EventDraft(id: derivedID(from: event.id, "payment"), type: "PaymentCaptured", data: Array(data.text.utf8)))
        }
    }

    struct Shipping {
        var placed: Set<String> = []
        var paid: Set<String> = []

        mutating func react(to event: RecordedEvent) -> Reaction? {
            guard let order = ChoreographyExampleTests.orderID(event) else { return nil }
            switch event.type {
            case "OrderPlaced": placed.insert(order)
            case "PaymentCaptured": paid.insert(order)
            default: return nil
            }
            guard placed.contains(order), paid.contains(order) else { return nil }
            let id = EventID(high: FNV1a.hash(order.utf8), low: 0x5410)
            return Reaction(
                stream: StreamName("shipment-\(order)"), expected: .noStream,
                event: EventDraft(id: id, type: "ShipmentRequested", data: Array(#"{"orderId":"\#(order)"}"#.utf8)))
        }
    }

    static func carryOut(_ reaction: Reaction?, _ harness: ServiceHarness) async throws {
        guard let reaction else { return }
        try await harness.append(reaction.stream, [reaction.event], expected: reaction.expected)
    }

    static func events(_ stream: StreamName, _ harness: ServiceHarness) async throws -> [RecordedEvent] {
        try await harness.service.readStream(ReadStreamRequest(stream: stream), caller: .anonymous).page.events
    }

    @Test func eventsDeliveredTwiceAndOutOfOrderLeadToTheSameStreams() async throws {
        try await ServiceHarness.run { harness in
            var outcomes: [[String]] = []
            // Each order gets its own delivery schedule; the reactions must not depend on it.
            let schedules: [[Int]] = [[0, 1], [1, 0], [0, 0, 1, 1], [1, 0, 1, 0], [1, 1, 0], [0, 1, 0, 1, 1]]
            for (number, schedule) in schedules.enumerated() {
                let order = "o\(number)"
                let placed = try await harness.append(
                    StreamName("order-\(order)"), [ServiceHarness.event("OrderPlaced", #"{"orderId":"\#(order)","amount":4200}"#)])
                let orderEvent = try #require(try await Self.events(StreamName("order-\(order)"), harness).first)
                #expect(orderEvent.position == placed.outcome.firstPosition)
                // Payments sees OrderPlaced twice (an at-least-once redelivery).
                let payments = Payments()
                try await Self.carryOut(payments.react(to: orderEvent), harness)
                try await Self.carryOut(payments.react(to: orderEvent), harness)
                let paymentEvent = try #require(try await Self.events(StreamName("payment-\(order)"), harness).first)
                // Shipping sees both events in this order's schedule: duplicated, either first.
                var shipping = Shipping()
                for index in schedule { try await Self.carryOut(shipping.react(to: [orderEvent, paymentEvent][index]), harness) }
                let outcome = try await [
                    Self.events(StreamName("payment-\(order)"), harness), Self.events(StreamName("shipment-\(order)"), harness),
                ].flatMap { $0.map { "\($0.stream.text.split(separator: "-")[0]) \($0.type) r\($0.revision.rawValue)" } }
                outcomes.append(outcome)
            }
            #expect(outcomes.allSatisfy { $0 == ["payment PaymentCaptured r0", "shipment ShipmentRequested r0"] }, "\(outcomes)")
        }
    }

    /// Negative control: with a fresh random id per reaction (no derived id), a redelivery appends twice.
    @Test func withoutDerivedIdsARedeliveryAppendsTwice() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append(StreamName("order-x"), [ServiceHarness.event("OrderPlaced", #"{"orderId":"x","amount":1}"#)])
            let orderEvent = try #require(try await Self.events(StreamName("order-x"), harness).first)
            for _ in 0..<2 {
                var reaction = try #require(Payments().react(to: orderEvent))
                reaction.event.id = nil
                try await Self.carryOut(reaction, harness)
            }
            #expect(try await Self.events(StreamName("payment-x"), harness).count == 2)
        }
    }
}
