import ChorusAPI
import ChorusCore
import ChorusEventStore
import ChorusNode
import MetricsTestKit
import Testing

@testable import ChorusService

/// Appends through the service layer against a real node: expected states,
/// idempotency, multi-stream appends, limits, metrics.
@Suite struct EventsAppendTests {
    @Test func appendStampsTheLeadersTimeAndAssignsIdsOnlyWhereMissing() async throws {
        try await ServiceHarness.run { harness in
            let chosen = EventID(high: 7, low: 7)
            let appended = try await harness.append(
                "order-1", [ServiceHarness.event("Placed", #"{"total":5}"#, id: chosen), ServiceHarness.event("Paid")],
                expected: .noStream)
            #expect(appended.outcome.firstRevision == 0 && appended.outcome.lastRevision == 1)
            #expect(appended.outcome.firstPosition == 0 && appended.outcome.lastPosition == 1)
            #expect(appended.outcome.disposition == .written)
            #expect(appended.eventIDs.count == 2 && appended.eventIDs[0] == chosen && appended.eventIDs[1] != chosen)
            #expect(appended.appliedIndex >= appended.index)
            let read = try await harness.service.readStream(ReadStreamRequest(stream: "order-1"), caller: .anonymous)
            #expect(read.page.events.map(\.id) == appended.eventIDs)
            #expect(read.page.events.allSatisfy { $0.recordedTime == harness.clock.now }, "the proposing node's clock")
            #expect(read.page.events[0].data == Array(#"{"total":5}"#.utf8))
            #expect(harness.counter("chorus_event_appends_total") == 1)
            #expect(harness.counter("chorus_events_appended_total") == 2)
            #expect(try harness.metrics.expectRecorder("chorus_event_append_batch_size").values == [2])
        }
    }

    @Test func expectedStateConflictsNameTheActualRevision() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("s", [ServiceHarness.event(), ServiceHarness.event()], expected: .noStream)
            let again = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("s", [ServiceHarness.event()], expected: .noStream)
            }
            #expect(again?.code == .wrongExpectedVersion)
            #expect(again?.conflicts == [StreamConflict(stream: "s", expected: .noStream, actual: .revision(1), cause: .stateMismatch, isCheckOnly: false)])
            #expect(again?.problem.details["actualRevision"] == .number(JSONNumber(1)))
            #expect(again?.problem.details["actual"] == .string("exists"))
            let stale = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("s", [ServiceHarness.event()], expected: .revision(0))
            }
            #expect(stale?.conflicts.first?.actualRevision == 1)
            #expect(stale?.conflicts.first?.actualText == "1")
            let absent = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("t", [ServiceHarness.event()], expected: .streamExists)
            }
            #expect(absent?.conflicts.first?.actual == .absent)
            #expect(absent?.conflicts.first?.actualText == "no_stream")
            #expect(absent?.problem.details["actualRevision"] == .null)
            let next = try await harness.append("s", [ServiceHarness.event()], expected: .revision(1))
            #expect(next.outcome.firstRevision == 2)
            #expect(harness.counter("chorus_event_version_conflicts_total") == 3)
        }
    }

    @Test func exactRetriesReturnTheOriginalOutcomeAndOverlapsAreRefused() async throws {
        try await ServiceHarness.run { harness in
            let ids = ServiceHarness.ids(3, seed: 11)
            let batch = ids.map { ServiceHarness.event("E", "1", id: $0) }
            let first = try await harness.append("retried", batch, expected: .noStream)
            let retry = try await harness.append("retried", batch, expected: .noStream)
            #expect(retry.outcome.disposition == .alreadyWritten)
            #expect(retry.outcome.firstPosition == first.outcome.firstPosition && retry.outcome.lastRevision == first.outcome.lastRevision)
            let overlap = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("retried", Array(batch.dropFirst()), expected: .any)
            }
            #expect(overlap?.code == .wrongExpectedVersion)
            #expect(overlap?.conflicts.first?.cause == .partialRetry)
            let read = try await harness.service.readStream(ReadStreamRequest(stream: "retried"), caller: .anonymous)
            #expect(read.page.events.map(\.id) == ids, "nothing was written twice")
            #expect(harness.counter("chorus_event_idempotent_hits_total") == 1)
            #expect(harness.counter("chorus_events_appended_total") == 3)
        }
    }

    @Test func eventsWithoutClientIdsAreNotIdempotent() async throws {
        try await ServiceHarness.run { harness in
            let batch = [ServiceHarness.event("E")]
            let first = try await harness.append("plain", batch)
            let second = try await harness.append("plain", batch)
            #expect(second.outcome.disposition == .written && second.outcome.firstRevision == 1)
            #expect(first.eventIDs != second.eventIDs)
            #expect(first.eventIDs[0].description.dropFirst(14).first == "4", "a version-4 UUID")
        }
    }

    @Test func multiStreamAppendIsAtomicAndReportsEveryViolation() async throws {
        try await ServiceHarness.run { harness in
            try await harness.append("a", [ServiceHarness.event()])
            let failing = MultiStreamAppendRequest(
                writes: [
                    AppendRequest(stream: "a", expected: .noStream, events: [ServiceHarness.event()]),
                    AppendRequest(stream: "b", expected: .noStream, events: [ServiceHarness.event()]),
                ],
                checks: [StreamCondition(stream: "c", expected: .streamExists)])
            let error = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.appendMultiple(failing, caller: .anonymous)
            }
            #expect(error?.code == .wrongExpectedVersion)
            #expect(error?.conflicts.map(\.stream) == ["a", "c"])
            #expect(error?.conflicts.map(\.isCheckOnly) == [false, true])
            #expect(error?.problem.details["violations"]?.arrayValue?.count == 2)
            let absent = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: "b"), caller: .anonymous)
            }
            #expect(absent?.code == .streamNotFound, "nothing of the failed append was written")
            let passing = MultiStreamAppendRequest(
                writes: [
                    AppendRequest(stream: "a", expected: .revision(0), events: [ServiceHarness.event()]),
                    AppendRequest(stream: "b", expected: .noStream, events: [ServiceHarness.event(), ServiceHarness.event()]),
                ],
                checks: [StreamCondition(stream: "c", expected: .noStream)])
            let written = try await harness.service.appendMultiple(passing, caller: .anonymous)
            #expect(written.outcome.streams.map(\.firstRevision) == [1, 0])
            #expect(written.outcome.streams.map(\.lastPosition) == [1, 3])
            #expect(written.eventIDs.map(\.count) == [1, 2])
        }
    }

    @Test func badAppendsAreRefusedWithTheirCodesBeforeOrByTheStore() async throws {
        try await ServiceHarness.run { harness in
            let tooLarge = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("big", [EventDraft(type: "Big", data: [UInt8](repeating: 0x20, count: 2 << 20))])
            }
            #expect(tooLarge?.code == .appendTooLarge)
            #expect(tooLarge?.problem.details["limit"] == .number(JSONNumber(harness.node.configuration.maximumCommandBytes)))
            let system = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("$kv-default", [ServiceHarness.event()])
            }
            #expect(system?.code == .invalidStreamName)
            let empty = await harness.refusal { () async throws(ServiceError) in try await harness.append("", [ServiceHarness.event()]) }
            #expect(empty?.code == .invalidStreamName)
            let control = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("a\u{7}b", [ServiceHarness.event()])
            }
            #expect(control?.code == .invalidStreamName)
            let noEvents = await harness.refusal { () async throws(ServiceError) in try await harness.append("s", []) }
            #expect(noEvents?.code == .invalidEvent)
            let noType = await harness.refusal { () async throws(ServiceError) in try await harness.append("s", [ServiceHarness.event("")]) }
            #expect(noType?.code == .invalidEvent && noType?.problem.details["eventIndex"] == .number(JSONNumber(0)))
            let twice = EventID(high: 1, low: 1)
            let duplicate = await harness.refusal { () async throws(ServiceError) in
                try await harness.append("s", [ServiceHarness.event(id: twice), ServiceHarness.event(id: twice)])
            }
            #expect(duplicate?.code == .invalidEvent)
            let absent = await harness.refusal { () async throws(ServiceError) in
                try await harness.service.readStream(ReadStreamRequest(stream: "s"), caller: .anonymous)
            }
            #expect(absent?.code == .streamNotFound, "no refused append wrote anything")
        }
    }
}
