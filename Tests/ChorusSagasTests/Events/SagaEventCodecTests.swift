import ChorusCore
import ChorusSagas
import Testing

@Suite struct SagaEventCodecTests {
    /// At least one event of every type.
    static let everyKind: [SagaEvent] = {
        let request = ParticipantRequest(
            participant: "payments", method: .post, path: "/v1/charges", body: ["amount": 5], idempotencyKey: "saga-order-1/charge")
        let failure = SagaFailure(code: "card_declined", message: "insufficient funds")
        return [
            .started(definition: OrderSaga.definition(deadlineMilliseconds: 9_000), sagaID: "1", input: OrderSaga.input, at: 1),
            .scheduled(step: "charge", phase: .action, attempt: 1, request: request, at: 2),
            .scheduled(step: "reserve", phase: .compensation, attempt: 3, request: ParticipantRequest(participant: "inventory", method: .delete, path: "/r/1", body: nil, idempotencyKey: "k"), at: 2),
            .succeeded(step: "charge", phase: .action, attempt: 1, result: ["chargeId": "c", "n": [1, nil]], at: 3),
            .succeeded(step: "reserve", phase: .compensation, attempt: 2, result: nil, at: 3),
            .failed(step: "charge", phase: .action, attempt: 2, failure: failure, retryable: false, at: 4),
            .failed(step: "reserve", phase: .compensation, attempt: 1, failure: failure, retryable: true, at: 4),
            .timedOut(step: "charge", phase: .action, attempt: 7, at: 5),
            .timedOut(step: "reserve", phase: .compensation, attempt: 1, at: 5),
            .renderingFailed(step: "ship", phase: .action, failure: SagaFailure(code: "template_error", message: "x"), at: 6),
            .renderingFailed(step: "reserve", phase: .compensation, failure: SagaFailure(code: "template_error", message: ""), at: 6),
            .lockRequested(name: "account:7", step: "reserve", expiryMilliseconds: 30_000, contention: .fail, at: 7),
            .lockAcquired(name: "account:7", step: "reserve", grantedAt: 7, expiresAt: 30_007, at: 8),
            .lockDenied(name: "account:7", step: "reserve", at: 9),
            .lockReleased(name: "account:7", at: 10),
            .lockExpired(name: "account:7", expiredAt: 30_007, at: 30_010),
            .timerSet(timer: SagaTimerID(1), purpose: .deadline, dueAt: 9_001, at: 11),
            .timerSet(timer: SagaTimerID(2), purpose: .attemptTimeout(step: "charge", phase: .action, attempt: 1), dueAt: 5_002, at: 11),
            .timerSet(timer: SagaTimerID(3), purpose: .retry(step: "reserve", phase: .compensation, attempt: 2), dueAt: 600, at: 11),
            .timerFired(timer: SagaTimerID(3), at: 600),
            .cancelRequested(reason: "customer asked", at: 12),
            .aborted(reason: .stepFailed("charge", code: "card_declined"), at: 13),
            .aborted(reason: .cancelled, at: 13),
            .aborted(reason: .deadlineExceeded, at: 13),
            .aborted(reason: .lockExpired(name: "account:7"), at: 13),
            .parked(reason: .compensationFailed("reserve"), failure: failure, at: 14),
            .parked(reason: .stepFailed("ship"), failure: failure, at: 14),
            .parked(reason: .pivotUncertain("charge"), failure: failure, at: 14),
            .operatorRetried(note: "fixed", at: 15),
            .operatorResolved(resolution: .succeeded(result: ["tracking": "x"]), note: "by hand", at: 16),
            .operatorResolved(resolution: .failed(code: "not_charged"), note: "", at: 16),
            .completed(at: 17), .compensated(at: 18), .cancelled(at: 19),
        ]
    }()

    @Test func everyEventRoundTripsWithItsTypeName() throws {
        var seen: Set<String> = []
        for event in Self.everyKind {
            let encoded = event.encoded()
            seen.insert(encoded.type)
            #expect(try SagaEvent(decoding: encoded) == event, "\(encoded.type)")
            #expect(String(decoding: encoded.data, as: UTF8.self).hasPrefix(#"{"schemaVersion":1,"#))
        }
        #expect(seen == Set(SagaEventType.allCases.map(\.rawValue)))
    }

    @Test func theDataIsReadableJSON() {
        let event = SagaEvent.failed(
            step: "charge", phase: .action, attempt: 2, failure: SagaFailure(code: "card_declined", message: "no"), retryable: false, at: 4)
        let encoded = event.encoded()
        #expect(encoded.type == "SagaStepFailed")
        #expect(
            String(decoding: encoded.data, as: UTF8.self)
                == #"{"schemaVersion":1,"step":"charge","attempt":2,"error":{"code":"card_declined","message":"no"},"retryable":false,"at":4}"#)
        #expect(SagaEncodedEvent.contentType == "application/json")
    }

    func decodingError(_ type: String, _ data: String) -> String? {
        do {
            _ = try SagaEvent(decoding: SagaEncodedEvent(type: type, data: Array(data.utf8)))
            return nil
        } catch { return error.description }
    }

    @Test func badEventsAreErrorsNotCrashes() {
        #expect(decodingError("SagaNope", "{}") == #"cannot decode saga event "SagaNope": unknown event type"#)
        #expect(decodingError("SagaCompleted", "{") == #"cannot decode saga event "SagaCompleted": invalid JSON at byte 1: input ended, expected a string key"#)
        #expect(decodingError("SagaCompleted", #"{"schemaVersion":2,"at":1}"#)?.hasSuffix("schemaVersion: version 2 is not 1 and has no upcaster") == true)
        #expect(decodingError("SagaCompleted", #"{"schemaVersion":1}"#)?.hasSuffix("at: missing") == true)
        #expect(decodingError("SagaCompleted", #"{"schemaVersion":1,"at":1,"extra":0}"#)?.hasSuffix("extra: unknown field") == true)
        #expect(decodingError("SagaCompleted", #"{"schemaVersion":1,"at":-1}"#) != nil)
        #expect(decodingError("SagaStepTimedOut", #"{"schemaVersion":1,"step":"charge","attempt":0,"at":1}"#)?.contains("attempt") == true)
        #expect(decodingError("SagaStepTimedOut", #"{"schemaVersion":1,"step":"no spaces","attempt":1,"at":1}"#)?.contains("not a valid step id") == true)
        #expect(decodingError("SagaTimerSet", #"{"schemaVersion":1,"timer":1,"purpose":{"kind":"alarm"},"dueAt":1,"at":1}"#)?.contains("purpose.kind") == true)
        #expect(decodingError("SagaStarted", #"{"schemaVersion":1,"sagaId":"1","definition":{"name":"x"},"input":null,"at":1}"#)?.contains("definition: version: required field is missing") == true)
        let huge = "{\"schemaVersion\":1,\"at\":1,\"x\":\"" + String(repeating: "a", count: SagaLimits.maximumEventBytes) + "\"}"
        #expect(decodingError("SagaCompleted", huge)?.contains("exceeds the limit") == true)
    }

    /// Seeded property: corrupting any byte of any encoded event gives an
    /// error or some event, never a crash.
    @Test func corruptedEventsNeverTrap() {
        let seed: UInt64 = 0x5A6A
        var random = SeededGenerator(seed: seed)
        for event in Self.everyKind {
            let encoded = event.encoded()
            for _ in 0..<40 {
                var data = encoded.data
                data[Int(random.next() % UInt64(data.count))] = UInt8(truncatingIfNeeded: random.next())
                _ = try? SagaEvent(decoding: SagaEncodedEvent(type: encoded.type, data: data))
                _ = try? SagaEvent(decoding: SagaEncodedEvent(type: encoded.type, data: Array(data.prefix(Int(random.next() % UInt64(data.count))))))
            }
        }
    }

    @Test func participantResponsesAreClassified() {
        #expect(ParticipantOutcome.classify(status: 201, body: Array(#"{"id":"c-1"}"#.utf8)) == .succeeded(result: ["id": "c-1"]))
        #expect(ParticipantOutcome.classify(status: 204, body: []) == .succeeded(result: nil))
        guard case .failed(let code, let message, let nonRetryable) = ParticipantOutcome.classify(status: 200, body: Array("<html>".utf8)) else {
            Issue.record("a non-JSON 200 was a success")
            return
        }
        #expect(code == "invalid_response" && !nonRetryable)
        #expect(message == "the participant answered 200 with a body that is not JSON (invalid JSON at byte 0: unexpected '<', expected a value)")
        #expect(
            ParticipantOutcome.classify(status: 409, body: Array(#"{"error":{"code":"in_progress","message":"wait"}}"#.utf8))
                == .failed(code: "in_progress", message: "wait", nonRetryable: false))
        #expect(ParticipantOutcome.classify(status: 404, body: Array("nope".utf8)) == .failed(code: "http_404", message: "the participant answered HTTP 404", nonRetryable: true))
        #expect(ParticipantOutcome.classify(status: 503, body: []) == .failed(code: "http_503", message: "the participant answered HTTP 503", nonRetryable: false))
    }

    @Test func theTimelineNumbersEventsWithElapsedTime() {
        var saga = SagaHarness()
        saga.now = 1_000
        saga.start()
        saga.fail("reserve", code: "out_of_stock", at: 2_250)
        #expect(
            SagaTimeline.lines(saga.stream) == [
                "   0  +0.000s  started order v1 42",
                "   1  +0.000s  scheduled reserve#1",
                "   2  +0.000s  timer-set 1 timeout reserve#1 due 6000",
                "   3  +1.250s  failed reserve#1 out_of_stock final",
                "   4  +1.250s  aborted step reserve failed (out_of_stock)",
                "   5  +1.250s  compensated",
            ])
    }
}
