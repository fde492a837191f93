import ChorusAPI
import ChorusCore
import ChorusEventStore
import Testing

@testable import ChorusService

/// Reads, deletes, metadata and the idle clock through the service layer.
@Suite struct EventsReadTests {
    @Test func streamAndAllReadsPageFilterAndServeSequentialReads() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("order-1", (0..<5).map { ServiceHarness.event("Order\($0)") })
            let mixed = try await harness.append("user-1", [ServiceHarness.event("UserCreated")])
            let forwards = try await harness.service.readStream(
                ReadStreamRequest(stream: "order-1", from: .revision(1), limit: 2), caller: .anonymous)
            #expect(forwards.page.events.map(\.revision) == [1, 2])
            #expect(forwards.page.nextRevision == 3 && forwards.page.lastRevision == 4)
            let backwards = try await harness.service.readStream(
                ReadStreamRequest(stream: "order-1", direction: .backwards, from: .end, limit: 2), caller: .anonymous)
            #expect(backwards.page.events.map(\.revision) == [4, 3])
            let asOf = try await harness.service.readStream(
                ReadStreamRequest(stream: "order-1", limit: 10, asOf: 2), caller: .anonymous)
            #expect(asOf.page.events.map(\.revision) == [0, 1, 2])
            let all = try await harness.service.readAll(ReadAllRequest(limit: 100), caller: .anonymous)
            #expect(all.page.events.map(\.position) == [0, 1, 2, 3, 4, 5])
            #expect(all.page.headPosition == 6)
            let users = try await harness.service.readAll(
                ReadAllRequest(limit: 100, filter: EventFilter(streamNamePrefixes: ["user-"])), caller: .anonymous)
            #expect(users.page.events.map(\.stream) == ["user-1"])
            let types = try await harness.service.readAll(
                ReadAllRequest(direction: .backwards, from: .end, limit: 2, filter: EventFilter(eventTypePrefixes: ["Order"])),
                caller: .anonymous)
            #expect(types.page.events.map(\.type) == ["Order4", "Order3"])
            let sequential = try await harness.service.readStream(
                ReadStreamRequest(
                    stream: "user-1", consistency: EventReadConsistency(level: .sequential, minimumIndex: mixed.index)),
                caller: .anonymous)
            #expect(sequential.appliedIndex >= mixed.index && sequential.page.events.count == 1)
            let future = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(
                    ReadStreamRequest(
                        stream: "user-1",
                        consistency: EventReadConsistency(level: .sequential, minimumIndex: LogIndex(mixed.index.rawValue + 1_000))),
                    caller: .anonymous)
            }
            #expect(future?.code == .notCaughtUp)
            let missing = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: "nobody"), caller: .anonymous)
            }
            #expect(missing?.code == .streamNotFound && missing?.appliedIndex != nil)
            let badLimit = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readAll(ReadAllRequest(limit: 0), caller: .anonymous)
            }
            #expect(badLimit?.code == .invalidParameter)
            let badFilter = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readAll(
                    ReadAllRequest(filter: EventFilter(streamNamePrefixes: (0..<40).map { "p\($0)" })), caller: .anonymous)
            }
            #expect(badFilter?.code == .invalidFilter)
            let allAsStream = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: .all), caller: .anonymous)
            }
            #expect(allAsStream?.code == .invalidStreamName)
        }
    }

    @Test func softAndHardDeletesAndTheChangeFeedRead() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("soft", [ServiceHarness.event(), ServiceHarness.event()])
            let deleted = try await harness.service.deleteStream(
                DeleteStreamRequest(stream: "soft", expected: .revision(1)), caller: .anonymous)
            #expect(deleted.deletion == StreamDeletion(stream: "soft", kind: .soft, lastRevision: 1))
            let hidden = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: "soft"), caller: .anonymous)
            }
            #expect(hidden?.code == .streamNotFound)
            let continued = try await harness.append("soft", [ServiceHarness.event()], expected: .noStream)
            #expect(continued.outcome.firstRevision == 2, "a soft-deleted stream continues its numbering")

            try await harness.append("hard", [ServiceHarness.event()])
            let wrong = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.deleteStream(
                    DeleteStreamRequest(stream: "hard", expected: .revision(5), mode: .hard), caller: .anonymous)
            }
            #expect(wrong?.code == .wrongExpectedVersion && wrong?.conflicts.first?.actualRevision == 0)
            _ = try await harness.service.deleteStream(DeleteStreamRequest(stream: "hard", mode: .hard), caller: .anonymous)
            let append = await harness.refusal { () async throws(ServiceError) in try await harness.append("hard", [ServiceHarness.event()]) }
            #expect(append?.code == .streamDeleted)
            let read = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: "hard"), caller: .anonymous)
            }
            #expect(read?.code == .streamDeleted)
            let info = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.streamInfo("hard", caller: .anonymous)
            }
            #expect(info?.code == .streamDeleted)

            let feedBefore = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: "$kv-default"), caller: .anonymous)
            }
            #expect(feedBefore?.code == .streamNotFound)
            _ = try await harness.service.write(.put(key: "k", value: Array("v".utf8), condition: .always, session: nil), caller: .anonymous)
            let feed = try await harness.service.readStream(ReadStreamRequest(stream: "$kv-default"), caller: .anonymous)
            #expect(feed.page.events.map(\.type) == ["$kv-put"] && feed.page.events[0].data == Array("v".utf8))
        }
    }

    @Test func metadataRulesApplyOnReadAndTheIdleClockAgesAnIdleStore() async throws {
        try await ServiceHarness.run(runsBackgroundServices: false) { harness in
            try await harness.append("counted", (0..<5).map { _ in ServiceHarness.event() })
            _ = try await harness.service.setStreamMetadata("counted", StreamMetadata(maximumCount: 2), caller: .anonymous)
            let counted = try await harness.service.readStream(ReadStreamRequest(stream: "counted"), caller: .anonymous)
            #expect(counted.page.events.map(\.revision) == [3, 4])
            let info = try await harness.service.streamInfo("counted", caller: .anonymous)
            #expect(info.info.metadata.maximumCount == 2 && info.info.nextRevision == 5 && info.info.firstVisibleRevision == 3)
            let unknown = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.streamInfo("unknown", caller: .anonymous)
            }
            #expect(unknown?.code == .streamNotFound)

            try await harness.append("aged", [ServiceHarness.event()])
            _ = try await harness.service.setStreamMetadata("aged", StreamMetadata(maximumAge: .seconds(10)), caller: .anonymous)
            let idleClock = harness.service.eventStore.idleClock
            #expect(await idleClock.advanceIfIdle(interval: .seconds(60)) == false, "something was proposed just now")
            harness.clock.advance(seconds: 30)
            let stillVisible = try await harness.service.readStream(ReadStreamRequest(stream: "aged"), caller: .anonymous)
            #expect(stillVisible.page.events.count == 1, "nothing moved the store's clock yet")
            #expect(await idleClock.advanceIfIdle(interval: .zero) == true)
            let expired = try await harness.service.readStream(ReadStreamRequest(stream: "aged"), caller: .anonymous)
            #expect(expired.page.events.isEmpty, "the idle clock aged the event out")
            #expect(expired.page.firstVisibleRevision == 1)
            #expect(harness.counter("chorus_event_clock_advances_total") == 1)
        }
    }
}
