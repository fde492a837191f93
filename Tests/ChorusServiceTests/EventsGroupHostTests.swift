import ChorusAPI
import ChorusCore
import ChorusEventStore
import Synchronization
import Testing

@testable import ChorusService

/// Records what one group consumer receives, from a task of its own, until
/// stopped (stopping it disconnects the consumer).
final class ConsumerRecorder: Sendable {
    final class State: Sendable {
        let received = Mutex<[GroupDelivery]>([])
        let ending = Mutex<(any Error)?>(nil)
        let ended = Mutex(false)
    }

    let consumer: GroupConsumer
    private let state = State()
    private let task: Task<Void, Never>

    init(_ consumer: GroupConsumer) {
        self.consumer = consumer
        let state = self.state
        task = Task {
            do {
                for try await message in consumer.deliveries {
                    if case .delivery(let delivery) = message { state.received.withLock { $0.append(delivery) } }
                }
            } catch {
                state.ending.withLock { $0 = error }
            }
            state.ended.withLock { $0 = true }
        }
    }

    var deliveries: [GroupDelivery] { state.received.withLock { $0 } }
    var error: (any Error)? { state.ending.withLock { $0 } }
    var hasEnded: Bool { state.ended.withLock { $0 } }

    /// Waits until `condition` holds of the deliveries so far (or fails after `seconds`).
    @discardableResult
    func wait(seconds: Double = 30, sourceLocation: SourceLocation = #_sourceLocation, until condition: ([GroupDelivery]) -> Bool)
        async throws -> [GroupDelivery]
    {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
        while !condition(deliveries) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out with deliveries \(deliveries.map(\.id))", sourceLocation: sourceLocation)
                return deliveries
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return deliveries
    }

    func stop() { task.cancel() }
}

/// Waits until `condition` holds, polling.
func eventually(seconds: Double = 30, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool)
    async throws
{
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1_000))
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("the condition did not hold in time", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Persistent subscription groups on the leader, through the service layer.
@Suite struct EventsGroupHostTests {
    static func settings(
        maximumRetryCount: Int = 10, maximumConsumerCount: Int = 16, maximumInFlightPerConsumer: Int = 16, messageTimeoutTicks: Int = 500
    ) -> PersistentGroupSettings {
        PersistentGroupSettings(
            maximumRetryCount: maximumRetryCount, maximumConsumerCount: maximumConsumerCount, messageTimeoutTicks: messageTimeoutTicks,
            maximumInFlightPerConsumer: maximumInFlightPerConsumer, bufferSize: 64, checkpointAfterEvents: 1, checkpointIntervalTicks: 1)
    }

    @Test func twoConsumersShareTheGroupRoundRobinAndAcknowledgementsCheckpoint() async throws {
        try await ServiceHarness.run { harness in
            let key = PersistentGroupKey(stream: "jobs", group: "workers")
            _ = try await harness.service.createGroup(
                CreateGroupRequest(key: key, settings: Self.settings(maximumInFlightPerConsumer: 2)), caller: .anonymous)
            try await harness.append("jobs", (0..<6).map { ServiceHarness.event("Job\($0)") })
            let first = ConsumerRecorder(try await harness.service.consume(key, caller: .anonymous))
            let second = ConsumerRecorder(try await harness.service.consume(key, caller: .anonymous))
            defer { first.stop(); second.stop() }
            try await first.wait { $0.count == 2 }
            try await second.wait { $0.count == 2 }
            let firstPositions = Set(first.deliveries.map(\.event.position))
            let secondPositions = Set(second.deliveries.map(\.event.position))
            #expect(firstPositions.isDisjoint(with: secondPositions))
            #expect(firstPositions.union(secondPositions).count == 4, "at most two in flight per consumer")
            try await Task.sleep(for: .milliseconds(100))
            #expect(first.deliveries.count == 2 && second.deliveries.count == 2, "nothing more until acknowledged")
            try await harness.service.acknowledge(first.deliveries.map(\.id), in: key, caller: .anonymous)
            try await first.wait { $0.count == 4 }
            try await harness.service.acknowledge(Array(first.deliveries.map(\.id).suffix(2)) + second.deliveries.map(\.id), in: key, caller: .anonymous)
            let all = (first.deliveries + second.deliveries).map(\.event.position.rawValue).sorted()
            #expect(all == Array(0..<6), "each event delivered once")
            #expect(first.deliveries.allSatisfy { $0.retryCount == 0 })
            try await eventually {
                try await harness.service.group(key, caller: .anonymous).group.checkpoint == .after(5)
            }
            #expect(harness.counter("chorus_event_group_deliveries_total") == 6)
            #expect(await harness.service.eventStore.groups.consumerCounts[key] == 2)
        }
    }

    @Test func negativeAcknowledgementsRetryParkSkipAndParkedEventsReplay() async throws {
        try await ServiceHarness.run { harness in
            let key = PersistentGroupKey(stream: "flaky", group: "g")
            _ = try await harness.service.createGroup(
                CreateGroupRequest(key: key, settings: Self.settings(maximumRetryCount: 1)), caller: .anonymous)
            try await harness.append("flaky", [ServiceHarness.event("A"), ServiceHarness.event("B"), ServiceHarness.event("C")])
            let consumer = ConsumerRecorder(try await harness.service.consume(key, caller: .anonymous))
            defer { consumer.stop() }
            try await consumer.wait { $0.count == 3 }
            let ids = consumer.deliveries.map(\.id)
            #expect(ids.map(\.description) == ["source-0", "source-1", "source-2"])
            // A: retried once, then parked when it fails again (maximumRetryCount 1).
            try await harness.service.negativelyAcknowledge([ids[0]], in: key, action: .retry, reason: "busy", caller: .anonymous)
            try await consumer.wait { $0.count == 4 }
            #expect(consumer.deliveries[3].id == ids[0] && consumer.deliveries[3].retryCount == 1)
            try await harness.service.negativelyAcknowledge([ids[0]], in: key, action: .retry, reason: "still busy", caller: .anonymous)
            // B: parked at once; C: skipped.
            try await harness.service.negativelyAcknowledge([ids[1]], in: key, action: .park, reason: "poison", caller: .anonymous)
            try await harness.service.negativelyAcknowledge([ids[2]], in: key, action: .skip, reason: "", caller: .anonymous)
            try await eventually {
                try await harness.service.parkedEvents(key, caller: .anonymous).page.entries.count == 2
            }
            let parked = try await harness.service.parkedEvents(key, caller: .anonymous).page.entries
            #expect(parked.map(\.position) == [0, 1])
            #expect(parked.map(\.reason) == ["still busy (after 1 retries)", "poison"])
            #expect(parked.map { $0.event?.type } == ["A", "B"])
            try await eventually { try await harness.service.group(key, caller: .anonymous).group.checkpoint == .after(2) }
            #expect(harness.counter("chorus_event_group_events_parked_total") == 2)

            let replay = try await harness.service.replayParked(key, caller: .anonymous)
            #expect(replay.through == 2)
            try await consumer.wait { $0.count == 6 }
            let replayed = consumer.deliveries.suffix(2)
            #expect(replayed.map(\.id.description) == ["parked-0", "parked-1"])
            #expect(replayed.map(\.event.type) == ["A", "B"] && replayed.allSatisfy { $0.retryCount == 0 })
            try await harness.service.acknowledge(replayed.map(\.id), in: key, caller: .anonymous)
            try await eventually { try await harness.service.group(key, caller: .anonymous).group.replayedThrough == 2 }
            #expect(try await harness.service.parkedEvents(key, caller: .anonymous).page.entries.isEmpty)
        }
    }

    @Test func aDisconnectHandsEventsOnAndTheConsumerLimitHolds() async throws {
        try await ServiceHarness.run { harness in
            let key = PersistentGroupKey(stream: "handoff", group: "g")
            _ = try await harness.service.createGroup(
                CreateGroupRequest(key: key, settings: Self.settings(maximumConsumerCount: 1)), caller: .anonymous)
            try await harness.append("handoff", [ServiceHarness.event("Only")])
            let leaving = ConsumerRecorder(try await harness.service.consume(key, caller: .anonymous))
            try await leaving.wait { $0.count == 1 }
            let refused = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.consume(key, caller: .anonymous)
            }
            #expect(refused?.code == .maximumConsumersReached)
            #expect(refused?.problem.details["maxConsumerCount"] == .number(JSONNumber(1)))
            leaving.stop()
            try await eventually { await harness.service.eventStore.groups.consumerCounts[key] == 0 }
            let staying = ConsumerRecorder(try await harness.service.consume(key, caller: .anonymous))
            defer { staying.stop() }
            try await staying.wait { $0.count == 1 }
            #expect(staying.deliveries[0].event.type == "Only" && staying.deliveries[0].retryCount == 0)
        }
    }

    @Test func groupDefinitionsAreValidatedAndADeleteEndsItsConsumers() async throws {
        try await ServiceHarness.run { harness in
            let key = PersistentGroupKey(stream: .all, group: "audit")
            let created = try await harness.service.createGroup(
                CreateGroupRequest(key: key, filter: EventFilter(streamNamePrefixes: ["order-"]), start: .start), caller: .anonymous)
            #expect(created.group.source == .all(EventFilter(streamNamePrefixes: ["order-"])))
            let twice = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.createGroup(CreateGroupRequest(key: key), caller: .anonymous)
            }
            #expect(twice?.code == .groupAlreadyExists)
            let badSettings = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.createGroup(
                    CreateGroupRequest(key: PersistentGroupKey(stream: "x", group: "g"), settings: Self.settings(maximumConsumerCount: 0)),
                    caller: .anonymous)
            }
            #expect(badSettings?.code == .invalidGroup)
            let emptyName = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.createGroup(CreateGroupRequest(key: PersistentGroupKey(stream: "x", group: "")), caller: .anonymous)
            }
            #expect(emptyName?.code == .invalidGroup)
            #expect(try await harness.service.groups(caller: .anonymous).groups.map(\.key) == [key])

            try await harness.append("order-1", [ServiceHarness.event("Placed")])
            try await harness.append("user-1", [ServiceHarness.event("Created")])
            let consumer = ConsumerRecorder(try await harness.service.consume(key, caller: .anonymous))
            defer { consumer.stop() }
            try await consumer.wait { $0.count == 1 }
            #expect(consumer.deliveries.map(\.event.stream) == ["order-1"], "the filter applies")
            _ = try await harness.service.deleteGroup(key, caller: .anonymous)
            try await eventually { consumer.hasEnded }
            #expect((consumer.error as? ServiceError)?.code == .groupNotFound)
            let gone = await harness.refusal { () async throws(ServiceError) in try await harness.service.consume(key, caller: .anonymous) }
            #expect(gone?.code == .groupNotFound)
            let ack = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.acknowledge([DeliveryID(.source(0))], in: key, caller: .anonymous)
            }
            #expect(ack?.code == .groupNotFound)
            let read = await harness.refusal { () async throws(ServiceError) in try await harness.service.group(key, caller: .anonymous) }
            #expect(read?.code == .groupNotFound)
            let deleteAgain = await harness.refusal { () async throws(ServiceError) in try await harness.service.deleteGroup(key, caller: .anonymous) }
            #expect(deleteAgain?.code == .groupNotFound)
        }
    }

    @Test func deliveryIdsRoundTripTheirTextForm() throws {
        #expect(try DeliveryID.parse("source-12") == DeliveryID(.source(12)))
        #expect(try DeliveryID.parse("parked-0").description == "parked-0")
        for bogus in ["source-", "source--1", "parked-x", "12", "source-1 ", "SOURCE-1", "source-99999999999999999999"] {
            #expect(throws: APIProblem.self, "\(bogus)") { try DeliveryID.parse(bogus) }
        }
    }
}
