import ChorusCore
import Testing

@testable import ChorusEventStore

typealias Dispatcher = PersistentSubscriptionDispatcher

/// A leader in miniature: the store, one group's dispatcher, and the loop that
/// reads for it and proposes (applies at once) what it asks.
struct GroupDriver {
    var harness = Harness()
    let key: PersistentGroupKey
    var dispatcher: Dispatcher
    /// Every delivery so far, in order.
    var deliveries: [Dispatcher.Delivery] = []
    /// Every command the dispatcher proposed, in order.
    var proposals: [EventStoreOperation] = []

    init(
        stream: StreamName = "orders", events: UInt64, settings: PersistentGroupSettings = smallSettings, filter: EventFilter? = nil,
        limits: EventStoreLimits = smallLimits
    ) {
        key = PersistentGroupKey(stream: stream, group: "workers")
        var harness = Harness(limits: limits)
        if events > 0 {
            for id in 1...events { harness.append(stream == .all ? "orders" : stream, .any, [id]) }
        }
        guard case .groupCreated(let group) = harness.run(.createGroup(key: key, filter: filter, settings: settings, start: .start)) else {
            preconditionFailure("group not created")
        }
        self.harness = harness
        dispatcher = Dispatcher(group: group)
    }

    /// Feeds the dispatcher until it wants nothing more, and carries out its effects.
    mutating func pump() {
        for _ in 0..<10 {
            var progressed = false
            if dispatcher.wantedSourceEvents > 0,
                case .batch(let batch) = harness.store.subscriptionBatch(
                    source: dispatcher.source, after: dispatcher.sourceCursor, maximumCount: dispatcher.wantedSourceEvents),
                batch.cursor != dispatcher.sourceCursor
            {
                handle(dispatcher.receive(batch))
                progressed = true
            }
            if dispatcher.wantedParkedEvents > 0,
                case .entries(let page) = harness.store.readParked(key, from: dispatcher.replayCursor, maximumCount: dispatcher.wantedParkedEvents),
                !page.entries.isEmpty
            {
                handle(dispatcher.receive(parked: page.entries))
                progressed = true
            }
            if !progressed { return }
        }
    }

    mutating func handle(_ effects: [Dispatcher.Effect]) {
        for effect in effects {
            switch effect {
            case .deliver(let delivery): deliveries.append(delivery)
            case .propose(let operation):
                proposals.append(operation)
                let result = harness.run(operation)
                handle(dispatcher.apply(result, of: operation))
            }
        }
    }

    mutating func connect(_ id: UInt64) {
        guard case .connected(let effects) = dispatcher.connect(Dispatcher.ConsumerID(id)) else {
            preconditionFailure("refused")
        }
        handle(effects)
        pump()
    }

    mutating func ack(_ keys: [Dispatcher.DeliveryKey]) {
        handle(dispatcher.acknowledge(keys))
        pump()
    }

    mutating func nack(_ keys: [Dispatcher.DeliveryKey], _ action: Dispatcher.NegativeAcknowledgement) {
        handle(dispatcher.negativeAcknowledge(keys, action: action, reason: "handler failed"))
        pump()
    }

    mutating func tick(_ count: Int = 1) {
        for _ in 0..<count { handle(dispatcher.tick()) }
        pump()
    }

    var group: PersistentGroup { harness.store.read(.group(key)).groupValue! }

    /// Deliveries as "consumer:event-id/retry".
    func trace(from start: Int = 0) -> [String] {
        deliveries[start...].map { "\($0.consumer.rawValue):\($0.event.id.low)/\($0.retryCount)" }
    }
}

func source(_ position: UInt64) -> Dispatcher.DeliveryKey { .source(GlobalPosition(position)) }

@Suite struct PersistentSubscriptionDispatcherTests {
    @Test func roundRobinWithinInFlightLimits() {
        var driver = GroupDriver(events: 6)
        driver.connect(1)
        #expect(driver.trace() == ["1:1/0", "1:2/0"], "one consumer takes maximumInFlightPerConsumer (2)")
        driver.connect(2)
        #expect(driver.trace() == ["1:1/0", "1:2/0", "2:3/0", "2:4/0"])
        driver.ack([source(0)])
        #expect(driver.trace(from: 4) == ["1:5/0"])
        driver.ack([source(1), source(2)])
        #expect(driver.trace(from: 5) == ["2:6/0"], "only one event left; consumer 2 is next in turn")
        #expect(driver.dispatcher.inFlightKeys(of: Dispatcher.ConsumerID(1)) == [source(4)])
        #expect(driver.dispatcher.inFlightKeys(of: Dispatcher.ConsumerID(2)) == [source(3), source(5)])
    }

    /// The checkpoint never passes an event that is not done.
    @Test func checkpointFollowsTheOldestOutstandingEvent() {
        var driver = GroupDriver(events: 4)
        driver.connect(1)
        driver.connect(2)
        driver.ack([source(1), source(2)])
        #expect(driver.proposals == [], "event 0 is still in flight")
        #expect(driver.dispatcher.checkpointCandidate == .start)
        driver.ack([source(0)])
        #expect(driver.proposals == [.advanceCheckpoint(key: driver.key, checkpoint: .after(2))])
        #expect(driver.group.checkpoint == .after(2))
        driver.ack([source(3)])
        #expect(driver.proposals.count == 1, "one completion since: below checkpointAfterEvents (2)")
        driver.tick(4)
        #expect(driver.proposals.last == .advanceCheckpoint(key: driver.key, checkpoint: .after(3)), "after checkpointIntervalTicks")
        #expect(driver.group.checkpoint == .after(3))
    }

    @Test func retriesThenParkAtTheRetryLimit() {
        var driver = GroupDriver(events: 1, settings: smallSettings.with { $0.maximumRetryCount = 2 })
        driver.connect(1)
        driver.connect(2)
        driver.nack([source(0)], .retry)
        driver.nack([source(0)], .retry)
        // Consumer 1 got the first delivery while alone, so the turn is back at it.
        #expect(driver.trace() == ["1:1/0", "1:1/1", "2:1/2"])
        driver.nack([source(0)], .retry)
        #expect(driver.proposals.first == .parkEvent(key: driver.key, position: 0, reason: "handler failed (after 2 retries)"))
        #expect(driver.deliveries.count == 3)
        guard case .entries(let parked) = driver.harness.store.readParked(driver.key, from: 0, maximumCount: 5) else {
            Issue.record("no parked stream")
            return
        }
        #expect(parked.entries.map(\.position) == [0])
        #expect(driver.dispatcher.outstandingCount == 0, "a parked event is done once its park is applied")
        driver.tick(4)
        #expect(driver.group.checkpoint == .after(0))
    }

    @Test func parkAndSkipAtOnce() {
        var driver = GroupDriver(events: 2)
        driver.connect(1)
        driver.nack([source(0)], .park)
        driver.nack([source(1)], .skip)
        #expect(driver.proposals == [
            .parkEvent(key: driver.key, position: 0, reason: "handler failed"),
            .advanceCheckpoint(key: driver.key, checkpoint: .after(1)),
        ])
        #expect(driver.deliveries.count == 2)
    }

    @Test func ackTimeoutsRedeliver() {
        var driver = GroupDriver(events: 2, settings: smallSettings.with { $0.maximumRetryCount = 1 })
        driver.connect(1)
        driver.tick(4)
        #expect(driver.trace() == ["1:1/0", "1:2/0"])
        driver.tick()
        #expect(driver.trace() == ["1:1/0", "1:2/0", "1:1/1", "1:2/1"], "timed out after 5 ticks, retried")
        driver.ack([source(1)])
        driver.tick(5)
        #expect(driver.proposals.contains(.parkEvent(key: driver.key, position: 0, reason: "no acknowledgement within 5 ticks (after 1 retries)")))
        #expect(driver.dispatcher.inFlightCount == 0)
    }

    @Test func maximumConsumersAndDisconnect() {
        var driver = GroupDriver(events: 3)
        driver.connect(1)
        driver.connect(2)
        driver.connect(3)
        #expect(driver.dispatcher.connect(Dispatcher.ConsumerID(4)) == .refused(maximumConsumerCount: 3))
        #expect(driver.dispatcher.connect(Dispatcher.ConsumerID(2)) == .alreadyConnected)
        #expect(driver.trace() == ["1:1/0", "1:2/0", "2:3/0"])
        driver.handle(driver.dispatcher.disconnect(Dispatcher.ConsumerID(1)))
        #expect(driver.trace(from: 3) == ["2:1/0", "3:2/0"], "its events go to the others first, retry counts unchanged")
        #expect(driver.dispatcher.consumerIDs == [Dispatcher.ConsumerID(2), Dispatcher.ConsumerID(3)])
        #expect(driver.dispatcher.disconnect(Dispatcher.ConsumerID(9)) == [])
    }

    /// An acknowledgement of an event waiting for its retry completes it.
    @Test func lateAcknowledgementCompletesARetry() {
        var driver = GroupDriver(events: 1)
        driver.connect(1)
        driver.handle(driver.dispatcher.disconnect(Dispatcher.ConsumerID(1)))
        driver.ack([source(0)])
        driver.connect(2)
        #expect(driver.trace() == ["1:1/0"], "nothing left to deliver")
        driver.tick(4)
        #expect(driver.group.checkpoint == .after(0))
    }

    @Test func replayOfParkedEvents() {
        var driver = GroupDriver(events: 3)
        driver.connect(1)
        driver.nack([source(0), source(1)], .park)
        driver.ack([source(2)])
        driver.tick(4)
        #expect(driver.group.checkpoint == .after(2))
        driver.handle(driver.dispatcher.apply(driver.harness.run(.replayParked(key: driver.key)), of: .replayParked(key: driver.key)))
        driver.pump()
        #expect(driver.deliveries.suffix(2).map(\.key) == [.parked(0), .parked(1)])
        #expect(driver.deliveries.suffix(2).map(\.event.id.low) == [1, 2])
        driver.ack([.parked(1)])
        #expect(!driver.proposals.contains { if case .advanceReplay = $0 { return true } else { return false } }, "parked 0 is outstanding")
        driver.ack([.parked(0)])
        #expect(driver.proposals.last == .advanceReplay(key: driver.key, through: 2))
        #expect(driver.group.replayedThrough == 2)
        guard case .entries(let parked) = driver.harness.store.readParked(driver.key, from: 0, maximumCount: 5) else {
            Issue.record("readParked failed")
            return
        }
        #expect(parked.entries.isEmpty)
    }

    /// After a leader change the new dispatcher resumes after the replicated
    /// checkpoint: events completed since are delivered again (at least once).
    @Test func leaderChangeResumesFromTheReplicatedCheckpoint() {
        var driver = GroupDriver(events: 5)
        driver.connect(1)
        driver.connect(2)
        driver.ack([source(0), source(1)])
        driver.ack([source(2)])
        #expect(driver.group.checkpoint == .after(1))
        driver.dispatcher = Dispatcher(group: driver.group)
        let before = driver.deliveries.count
        driver.connect(3)
        #expect(driver.trace(from: before) == ["3:3/0", "3:4/0"])
        #expect(driver.dispatcher.sourceCursor == .after(4), "positions 2…4 read again, two in flight, one buffered")
        #expect(driver.dispatcher.outstandingCount == 3)
    }

    /// A `$all` group skips what its filter leaves out, and its checkpoint moves past it.
    @Test func allGroupWithFilter() {
        var driver = GroupDriver(stream: .all, events: 0, filter: EventFilter(eventTypePrefixes: ["Wanted"]))
        driver.harness.run(.append(StreamAppend(stream: "a", expected: .any, events: [event(1, type: "Noise"), event(2, type: "Wanted")])))
        driver.harness.run(.append(StreamAppend(stream: "b", expected: .any, events: [event(3, type: "Noise")])))
        driver.connect(1)
        #expect(driver.trace() == ["1:2/0"])
        driver.ack([source(1)])
        driver.tick(4)
        #expect(driver.group.checkpoint == .after(2))
    }

    /// A park the store refuses (it is full) puts the event back in circulation.
    @Test func refusedParkKeepsTheEvent() {
        var limits = smallLimits
        limits.maximumRetainedEvents = 4
        limits.keyValueChangeFeedMaxCount = 4
        var driver = GroupDriver(events: 4, limits: limits)
        driver.connect(1)
        driver.nack([source(0)], .park)
        #expect(driver.proposals == [.parkEvent(key: driver.key, position: 0, reason: "handler failed")])
        #expect(driver.trace() == ["1:1/0", "1:2/0", "1:3/0"])
        #expect(driver.dispatcher.outstandingCount == 4, "the refused park left event 0 outstanding")
        driver.ack([source(1)])
        #expect(driver.trace(from: 3) == ["1:1/0"], "delivered again (retries first), retry count unchanged")
        driver.ack([source(0)])
        #expect(driver.proposals.last == .advanceCheckpoint(key: driver.key, checkpoint: .after(1)))
    }

    @Test func staleBatchesAreIgnored() {
        var driver = GroupDriver(events: 3)
        driver.connect(1)
        guard case .batch(let old) = driver.harness.store.subscriptionBatch(source: .stream("orders"), after: .start, maximumCount: 3) else {
            Issue.record("no batch")
            return
        }
        #expect(driver.dispatcher.receive(old) == [])
        #expect(driver.dispatcher.outstandingCount == 3)
    }
}
