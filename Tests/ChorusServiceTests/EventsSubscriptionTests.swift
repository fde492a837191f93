import ChorusAPI
import ChorusCore
import ChorusEventStore
import MetricsTestKit
import Testing

@testable import ChorusService

/// Catch-up subscriptions: history, the caught-up marker, live events with
/// no gap or duplicate while appends continue, resuming, slow consumers,
/// tombstones, checkpoints and heartbeats.
@Suite struct EventsSubscriptionTests {
    @Test func catchUpThenLiveWithNoGapOrDuplicateWhileAppendsContinue() async throws {
        try await ServiceHarness.run(configure: { $0.subscriptionBatchSize = 50 }) { harness in
            for round in 0..<3 { try await harness.append(StreamName("s-\(round)"), (0..<100).map { _ in ServiceHarness.event() }) }
            let subscription = try await harness.service.subscribe(SubscribeRequest(source: .all(.clientStreams)), caller: .anonymous)
            var iterator = subscription.makeAsyncIterator()
            let writer = Task {
                for round in 0..<20 { try await harness.append(StreamName("live-\(round % 3)"), (0..<10).map { _ in ServiceHarness.event() }) }
            }
            let messages = try await collect(&iterator) { messages in
                messages.events.count >= 500 && messages.count(of: "caughtUp") == messages.count(of: "fellBehind") + 1
            }
            try await writer.value
            #expect(messages.events.map(\.position.rawValue) == Array(0..<500), "every event once, in order")
            let firstCaughtUp = try #require(messages.firstIndex { if case .caughtUp = $0 { true } else { false } })
            #expect(messages[..<firstCaughtUp].events.count >= 300, "history before the marker")
            // Every marker's cursor is the position of the last event before it.
            var last: SubscriptionCursor = .start
            for message in messages {
                switch message {
                case .event(let event): last = .after(event.position)
                case .caughtUp(let cursor), .checkpoint(let cursor), .fellBehind(let cursor): #expect(cursor == last)
                case .heartbeat: break
                }
            }
            #expect(harness.service.eventStore.subscriptionCounts.live + harness.service.eventStore.subscriptionCounts.catchingUp == 1)
            #expect(try harness.metrics.expectRecorder("chorus_event_subscription_lag_events").values.contains { $0 >= 250 })
        }
    }

    @Test func anEndedSubscriptionLeavesTheGauges() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("g", [ServiceHarness.event()])
            do {
                let subscription = try await harness.service.subscribe(SubscribeRequest(source: .stream("g")), caller: .anonymous)
                var iterator = subscription.makeAsyncIterator()
                let messages = try await collect(&iterator) { $0.contains(.caughtUp(.after(0))) }
                #expect(messages.events.count == 1)
                #expect(harness.service.eventStore.subscriptionCounts == (live: 1, catchingUp: 0))
                #expect(try harness.metrics.expectGauge("chorus_event_subscriptions", [("state", "live")]).lastValue == 1)
            }
            #expect(harness.service.eventStore.subscriptionCounts == (live: 0, catchingUp: 0))
            #expect(try harness.metrics.expectGauge("chorus_event_subscriptions", [("state", "live")]).lastValue == 0)
        }
    }

    @Test func resumesAfterAPositionOrARevisionAndRefusesBogusStarts() async throws {
        try await ServiceHarness.run { harness in
            for index in 0..<6 {
                try await harness.append("r", [ServiceHarness.event("R\(index)")])
                try await harness.append("other", [ServiceHarness.event()])
            }
            // "r" has revisions 0...5 at positions 0, 2, 4, 6, 8, 10.
            for start in [SubscriptionStart.afterPosition(6), .afterRevision(3)] {
                let subscription = try await harness.service.subscribe(
                    SubscribeRequest(source: .stream("r"), start: start), caller: .anonymous)
                var iterator = subscription.makeAsyncIterator()
                let messages = try await collect(&iterator) { $0.contains { if case .caughtUp = $0 { true } else { false } } }
                #expect(messages.events.map(\.revision) == [4, 5], "\(start)")
            }
            let fromEnd = try await harness.service.subscribe(SubscribeRequest(source: .all(.clientStreams), start: .end), caller: .anonymous)
            #expect(fromEnd.start == .after(11))
            var iterator = fromEnd.makeAsyncIterator()
            #expect(try await iterator.next() == .caughtUp(.after(11)))
            try await harness.append("r", [ServiceHarness.event("New")])
            let live = try await collect(&iterator) { $0.events.count == 1 }
            #expect(live.events.map(\.type) == ["New"])

            let beyond = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.subscribe(SubscribeRequest(source: .stream("r"), start: .afterPosition(13)), caller: .anonymous)
            }
            #expect(beyond?.code == .invalidPosition)
            let noRevision = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.subscribe(SubscribeRequest(source: .stream("r"), start: .afterRevision(7)), caller: .anonymous)
            }
            #expect(noRevision?.code == .invalidRevision)
            let allByRevision = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.subscribe(
                    SubscribeRequest(source: .all(.clientStreams), start: .afterRevision(1)), caller: .anonymous)
            }
            #expect(allByRevision?.code == .invalidRevision)
        }
    }

    @Test func aSlowConsumerFallsBehindAndCatchesUpFromItsOwnCursor() async throws {
        try await ServiceHarness.run(configure: { $0.subscriptionBatchSize = 10 }) { harness in
            try await harness.append("slow", (0..<3).map { _ in ServiceHarness.event() })
            let subscription = try await harness.service.subscribe(SubscribeRequest(source: .stream("slow")), caller: .anonymous)
            var iterator = subscription.makeAsyncIterator()
            let history = try await collect(&iterator) { $0.contains(.caughtUp(.after(2))) }
            #expect(history.events.count == 3)
            try await harness.append("slow", (0..<35).map { _ in ServiceHarness.event() })
            let rest = try await collect(&iterator) { $0.events.count == 35 && $0.last == .caughtUp(.after(37)) }
                .filter { $0 != .heartbeat }
            #expect(rest.first == .fellBehind(.after(2)))
            #expect(rest.events.map(\.revision.rawValue) == Array(3..<38))
            #expect(rest.filter { if case .caughtUp = $0 { true } else { false } }.count == 1)
        }
    }

    @Test func aTombstoneEndsTheSubscriptionWithStreamDeleted() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("doomed", [ServiceHarness.event(), ServiceHarness.event()])
            let subscription = try await harness.service.subscribe(SubscribeRequest(source: .stream("doomed")), caller: .anonymous)
            var iterator = subscription.makeAsyncIterator()
            _ = try await collect(&iterator) { $0.contains(.caughtUp(.after(1))) }
            _ = try await harness.service.deleteStream(DeleteStreamRequest(stream: "doomed", mode: .hard), caller: .anonymous)
            do {
                while let message = try await iterator.next() {
                    #expect(!message.isEvent, "no event after the tombstone")
                }
                Issue.record("the subscription ended without an error")
            } catch let error as ServiceError {
                #expect(error.code == .streamDeleted)
            }
            #expect(try await iterator.next() == nil, "it stays ended")
            let resubscribe = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.subscribe(
                    SubscribeRequest(source: .stream("doomed"), start: .afterRevision(0)), caller: .anonymous)
            }
            #expect(resubscribe?.code == .streamDeleted)
        }
    }

    @Test func aFilteredSubscriptionCheckpointsPastSkippedEventsAndHeartbeatsWhenIdle() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("noise", (0..<5).map { _ in ServiceHarness.event("Other") })
            let subscription = try await harness.service.subscribe(
                SubscribeRequest(source: .all(EventFilter(eventTypePrefixes: ["Wanted"]))), caller: .anonymous)
            var iterator = subscription.makeAsyncIterator()
            #expect(try await iterator.next() == .caughtUp(.after(4)), "the cursor moved past what the filter skipped")
            let started = ContinuousClock.now
            let idle = try await collect(&iterator, seconds: 30) { $0.contains(.heartbeat) }
            #expect(idle == [.heartbeat])
            #expect(ContinuousClock.now - started >= .milliseconds(250), "heartbeats come once per interval")
            try await harness.append("noise", [ServiceHarness.event("Other"), ServiceHarness.event("Wanted")])
            let wanted = try await collect(&iterator, seconds: 30) { $0.events.count == 1 }
            #expect(wanted.events.map(\.position) == [6])
        }
    }
}

extension SubscriptionMessage {
    var isEvent: Bool { if case .event = self { true } else { false } }

    var kind: String {
        switch self {
        case .event: "event"
        case .caughtUp: "caughtUp"
        case .fellBehind: "fellBehind"
        case .checkpoint: "checkpoint"
        case .heartbeat: "heartbeat"
        }
    }
}

extension [SubscriptionMessage] {
    func count(of kind: String) -> Int { filter { $0.kind == kind }.count }
}
