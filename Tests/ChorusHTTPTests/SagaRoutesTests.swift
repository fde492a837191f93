import ChorusCore
import ChorusSagas
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryTracing
import Tracing
import Logging
import Synchronization
import Testing

@testable import ChorusHTTP
@testable import ChorusNode
@testable import ChorusService

/// `/v1/sagas` end to end on a real single-node `ChorusNode` in this
/// process, with in-process participants that de-duplicate on the
/// idempotency key and count what they applied: the happy path, a failure
/// that compensates in reverse order, a lost reply retried under the same
/// key (charged once), the graveyard and an operator retry, and bad input.
@Suite struct SagaRoutesTests {
    /// Participants that apply each key once and can be told to fail.
    final class Participants: Sendable {
        struct State {
            /// participant → key → answer.
            var answers: [String: [String: ParticipantOutcome]] = [:]
            /// (participant, path) of each application, in order.
            var applied: [String] = []
            /// Answers to give instead of applying, by a prefix of "participant METHOD path", consumed in order.
            var scripted: [String: [ParticipantOutcome]] = [:]
            /// Participants whose first answer to a new key is lost after applying it.
            var loseFirstReply: Set<String> = []
            var keysSeen: [String] = []
        }

        let state = Mutex(State())

        func handle(_ request: ParticipantRequest) -> ParticipantOutcome {
            state.withLock { state in
                state.keysSeen.append(request.idempotencyKey)
                let call = "\(request.participant) \(request.method.rawValue) \(request.path)"
                if let prefix = state.scripted.keys.sorted().first(where: { call.hasPrefix($0) && !state.scripted[$0]!.isEmpty }) {
                    return state.scripted[prefix]!.removeFirst()
                }
                if let stored = state.answers[request.participant]?[request.idempotencyKey] { return stored }
                let outcome = ParticipantOutcome.succeeded(result: ["id": .string("\(request.participant)-\(state.applied.count + 1)")])
                state.applied.append("\(request.participant) \(request.method.rawValue) \(request.path)")
                state.answers[request.participant, default: [:]][request.idempotencyKey] = outcome
                if state.loseFirstReply.remove(request.participant) != nil {
                    return .failed(code: "http_504", message: "the reply was lost", nonRetryable: false)
                }
                return outcome
            }
        }

        var applied: [String] { state.withLock { $0.applied } }

        var local: [String: SagaLocalParticipant] {
            Dictionary(uniqueKeysWithValues: ["inventory", "payments", "shipping"].map { name in
                (name, SagaLocalParticipant { [self] request in self.handle(request) })
            })
        }
    }

    /// reserve → charge (refund) → ship (pivot), with short retry intervals and attempt timeouts
    /// no starved machine reaches (the participants answer at once; a timeout would change the events).
    static let definition = """
        {"name": "order", "version": 1, "steps": [
          {"id": "reserve", "action": {"participant": "inventory", "method": "POST", "path": "/reservations", "body": {"sku": "{{input.sku}}"}},
           "compensation": {"participant": "inventory", "method": "DELETE", "path": "/reservations/{{steps.reserve.idempotencyKey}}"},
           "retry": {"initialIntervalMilliseconds": 20, "maximumAttempts": 3}, "attemptTimeoutMilliseconds": 30000},
          {"id": "charge", "action": {"participant": "payments", "method": "POST", "path": "/charges", "body": {"amount": "{{input.amount}}"}},
           "compensation": {"participant": "payments", "method": "POST", "path": "/refunds/{{steps.charge.result.id}}",
                            "retry": {"initialIntervalMilliseconds": 20, "maximumAttempts": 3}, "attemptTimeoutMilliseconds": 30000},
           "retry": {"initialIntervalMilliseconds": 20, "maximumAttempts": 3, "nonRetryableErrorCodes": ["card_declined"]},
           "attemptTimeoutMilliseconds": 30000},
          {"id": "ship", "kind": "pivot", "action": {"participant": "shipping", "method": "POST", "path": "/shipments/{{input.orderId}}"},
           "retry": {"initialIntervalMilliseconds": 20, "maximumAttempts": 3, "nonRetryableErrorCodes": ["address_invalid"]},
           "attemptTimeoutMilliseconds": 30000}
        ]}
        """

    static func run(
        _ participants: Participants, tracer: InMemoryTracer? = nil, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "chorus-http-sagas-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let node = try await EventRoutesHarness.startNode(directory: directory, logger: logger)
        var api = HTTPAPIConfiguration(host: "127.0.0.1", port: 0)
        api.sagaOptions.localParticipants = participants.local
        api.sagaOptions.leadershipPollMilliseconds = 10
        api.sagaOptions.tracer = tracer
        let service = ChorusService(node: node, eventOptions: api.eventOptions, sagaOptions: api.sagaOptions)
        let application = ChorusHTTPServer.makeApplication(service: service, configuration: api, logger: logger)
        do {
            try await application.test(.router) { client in
                // The engine leads once the node does and its fold has caught up.
                let deadline = ContinuousClock.now + .seconds(30)
                while !(await service.sagas.isLeading), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                let registered = try await client.send(.put, "/v1/sagas/definitions/order", body: definition)
                #expect(registered.status == .created, "\(registered.text)")
                try await body(client)
            }
        } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
    }

    /// Polls the saga until it is in `state` (or 30 s pass), and returns it.
    static func await(_ client: some TestClientProtocol, _ id: String, state: String) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(30)
        var last = JSONValue.null
        while ContinuousClock.now < deadline {
            last = try await client.send(.get, "/v1/sagas/order/\(id)").json
            if last["state"]?.stringValue == state { return last }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("saga \(id) did not reach \(state): \(last["state"] ?? .null) \(last["timeline"] ?? .null)")
        return last
    }

    static func start(_ client: some TestClientProtocol, _ id: String, amount: Int = 1250) async throws -> TestResponse {
        try await client.send(.post, "/v1/sagas", body: #"{"definition": "order", "id": "\#(id)", "input": {"orderId": "\#(id)", "sku": "tea", "amount": \#(amount)}}"#)
    }

    static func summaries(_ saga: JSONValue) -> [String] {
        saga["events"]?.arrayValue?.compactMap { $0["summary"]?.stringValue }.filter { !$0.hasPrefix("timer-") } ?? []
    }

    @Test func aSagaCompletesAndASecondStartReturnsTheExistingInstance() async throws {
        let participants = Participants()
        try await Self.run(participants) { client in
            let started = try await Self.start(client, "42")
            #expect(started.status == .created)
            #expect(started.json["stream"]?.stringValue == "saga-order-42")
            let again = try await Self.start(client, "42", amount: 9_999)
            #expect(again.status == .ok)
            #expect(again.json["created"] == .bool(false))
            let saga = try await Self.await(client, "42", state: "completed")
            #expect(Self.summaries(saga) == [
                "started order v1 42", "scheduled reserve#1", "succeeded reserve#1", "scheduled charge#1", "succeeded charge#1",
                "scheduled ship#1", "succeeded ship#1", "completed",
            ])
            #expect(participants.applied == ["inventory POST /reservations", "payments POST /charges", "shipping POST /shipments/42"])
            let list = try await client.send(.get, "/v1/sagas?state=completed").json
            #expect(list["sagas"]?.arrayValue?.map { $0["stream"]?.stringValue } == ["saga-order-42"])
        }
    }

    /// The pivot (shipping) refuses: the charge is refunded, then the reservation released, each once.
    @Test func aRefusedPivotCompensatesInReverseOrderOfCompletion() async throws {
        let participants = Participants()
        participants.state.withLock {
            $0.scripted["shipping"] = [.failed(code: "address_invalid", message: "no such street", nonRetryable: false)]
        }
        try await Self.run(participants) { client in
            #expect(try await Self.start(client, "7").status == .created)
            let saga = try await Self.await(client, "7", state: "compensated")
            #expect(Self.summaries(saga) == [
                "started order v1 7", "scheduled reserve#1", "succeeded reserve#1", "scheduled charge#1", "succeeded charge#1",
                "scheduled ship#1", "failed ship#1 address_invalid final", "aborted step ship failed (address_invalid)",
                "scheduled charge/c#1", "succeeded charge/c#1", "scheduled reserve/c#1", "succeeded reserve/c#1", "compensated",
            ])
            #expect(participants.applied == [
                "inventory POST /reservations", "payments POST /charges", "payments POST /refunds/payments-2",
                "inventory DELETE /reservations/saga-order-7%2Freserve",
            ])
        }
    }

    /// One trace per saga: a root span, and one child per attempt of each step and compensation, in the
    /// order they ran, with their outcomes.
    @Test func aCompensatedSagaIsOneTraceWithASpanPerAttempt() async throws {
        let participants = Participants()
        participants.state.withLock {
            $0.scripted["shipping"] = [.failed(code: "address_invalid", message: "no such street", nonRetryable: false)]
        }
        let tracer = InMemoryTracer()
        try await Self.run(participants, tracer: tracer) { client in
            #expect(try await Self.start(client, "8").status == .created)
            _ = try await Self.await(client, "8", state: "compensated")
            // The root ends with the decision that ended the saga; attempts end as their answers arrive.
            let deadline = ContinuousClock.now + .seconds(10)
            while !tracer.finishedSpans.contains(where: { $0.operationName == "saga order" }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let spans = tracer.finishedSpans
            let root = try #require(spans.first { $0.operationName == "saga order" })
            #expect(root.parentSpanID == nil)
            #expect(root.attributes["saga.outcome"]?.toSpanAttribute() == "SagaCompensated")
            #expect(root.attributes["saga.stream"]?.toSpanAttribute() == "saga-order-8")
            let children = spans.filter { $0.parentSpanID == root.spanID }.sorted { $0.startInstant.nanosecondsSinceEpoch < $1.startInstant.nanosecondsSinceEpoch }
            #expect(children.map(\.operationName) == [
                "saga.step reserve", "saga.step charge", "saga.step ship", "saga.compensation charge", "saga.compensation reserve",
            ])
            #expect(children.map { $0.attributes["saga.outcome"]?.toSpanAttribute() } == [
                .string("succeeded"), .string("succeeded"), .string("failed_retryable"), .string("succeeded"), .string("succeeded"),
            ])
            #expect(children.allSatisfy { $0.traceID == root.traceID })
            #expect(children[2].attributes["saga.error"]?.toSpanAttribute() == "address_invalid")
        }
    }

    /// The payment service applies the charge but its reply is lost: the retry carries the same key, gets the
    /// stored answer, and the customer is charged once.
    @Test func aChargeWhoseReplyWasLostIsAppliedOnce() async throws {
        let participants = Participants()
        participants.state.withLock { $0.loseFirstReply = ["payments"] }
        try await Self.run(participants) { client in
            #expect(try await Self.start(client, "9").status == .created)
            let saga = try await Self.await(client, "9", state: "completed")
            #expect(Self.summaries(saga).contains("failed charge#1 http_504 retryable"))
            #expect(Self.summaries(saga).contains("succeeded charge#2"))
            #expect(participants.applied.filter { $0.hasPrefix("payments") } == ["payments POST /charges"])
            let keys = participants.state.withLock { $0.keysSeen.filter { $0.contains("/charge") } }
            #expect(keys == ["saga-order-9/charge", "saga-order-9/charge"])
        }
    }

    /// A refund that keeps failing parks the saga; it is listed with its errors; an operator retry finishes it.
    @Test func aFailingCompensationParksAndAnOperatorRetryFinishesIt() async throws {
        let participants = Participants()
        let unavailable = ParticipantOutcome.failed(code: "unavailable", message: "down", nonRetryable: false)
        participants.state.withLock {
            $0.scripted["shipping"] = [.failed(code: "address_invalid", message: "", nonRetryable: true)]
            // The refunds fail three times (the compensation's budget).
            $0.scripted["payments POST /refunds"] = [unavailable, unavailable, unavailable]
        }
        try await Self.run(participants) { client in
            #expect(try await Self.start(client, "5").status == .created)
            let parked = try await Self.await(client, "5", state: "parked")
            #expect(parked["parkedFailure"]?["code"]?.stringValue == "unavailable")
            #expect((parked["errors"]?.arrayValue?.count ?? 0) >= 3)
            let graveyard = try await client.send(.get, "/v1/sagas?state=parked").json
            #expect(graveyard["sagas"]?.arrayValue?.map { $0["id"]?.stringValue } == ["5"])
            let retried = try await client.send(.post, "/v1/sagas/order/5/retry", body: #"{"note": "payments is back"}"#)
            #expect(retried.status == .ok, "\(retried.text)")
            let saga = try await Self.await(client, "5", state: "compensated")
            #expect(Self.summaries(saga).contains("operator-retried"))
            #expect(participants.applied.filter { $0.contains("refunds") }.count == 1)
            // Retrying a saga that is not parked is a conflict.
            let again = try await client.send(.post, "/v1/sagas/order/5/retry", body: "{}")
            #expect(again.status == .conflict)
            #expect(again.errorCode == "saga_conflict")
        }
    }

    @Test func badInputGetsClearErrors() async throws {
        try await Self.run(Participants()) { client in
            let pivotWithCompensation = #"{"name": "bad", "version": 1, "steps": [{"id": "a", "kind": "pivot", "action": {"participant": "p", "method": "POST", "path": "/a"}, "compensation": {"participant": "p", "method": "POST", "path": "/b"}}]}"#
            let invalid = try await client.send(.put, "/v1/sagas/definitions/bad", body: pivotWithCompensation)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorCode == "invalid_saga_definition")
            let unknownStep = #"{"name": "bad", "version": 1, "steps": [{"id": "a", "action": {"participant": "p", "method": "POST", "path": "/{{steps.zz.result.id}}"}}]}"#
            #expect(try await client.send(.put, "/v1/sagas/definitions/bad", body: unknownStep).errorCode == "invalid_saga_definition")
            #expect(try await client.send(.put, "/v1/sagas/definitions/other", body: Self.definition).errorCode == "invalid_saga_definition")
            #expect(try await client.send(.put, "/v1/sagas/definitions/order", body: Self.definition).status == .ok)
            let changed = Self.definition.replacingOccurrences(
                of: #""maximumAttempts": 3, "nonRetryableErrorCodes": ["card_declined"]"#, with: #""maximumAttempts": 4, "nonRetryableErrorCodes": ["card_declined"]"#)
            #expect(changed != Self.definition)
            #expect(try await client.send(.put, "/v1/sagas/definitions/order", body: changed).errorCode == "saga_definition_conflict")
            #expect(try await client.send(.post, "/v1/sagas", body: "not json").errorCode == "invalid_json")
            #expect(try await client.send(.post, "/v1/sagas", body: #"{"definition": "nope", "id": "1"}"#).errorCode == "saga_definition_not_found")
            #expect(try await client.send(.post, "/v1/sagas", body: #"{"definition": "order", "id": "a/b c"}"#).status == .badRequest)
            #expect(try await client.send(.post, "/v1/sagas", body: #"{"definition": "order", "id": "1", "extra": 1}"#).status == .badRequest)
            #expect(try await client.send(.get, "/v1/sagas/order/missing").errorCode == "saga_not_found")
            #expect(try await client.send(.post, "/v1/sagas/order/missing/cancel", body: "{}").errorCode == "saga_not_found")
            #expect(try await client.send(.get, "/v1/sagas?state=sleeping").errorCode == "invalid_parameter")
            #expect(try await client.send(.post, "/v1/sagas/order/1/resolve", body: #"{"outcome": "maybe"}"#).status == .badRequest)
            #expect(try await client.send(.delete, "/v1/sagas").status == .methodNotAllowed)
            let forged = try await client.send(.post, "/v1/streams/saga-order-1", body: #"[{"type": "SagaCompleted", "data": {}}]"#)
            #expect(forged.errorCode == "invalid_stream_name")
            #expect(try await client.send(.put, "/v1/sagas/participants/payments", body: #"{"url": "ftp://x"}"#).errorCode == "invalid_parameter")
            let participant = try await client.send(.put, "/v1/sagas/participants/payments", body: #"{"url": "http://127.0.0.1:9"}"#)
            #expect(participant.status == .created)
            let listed = try await client.send(.get, "/v1/sagas/participants").json
            #expect(listed["participants"]?.arrayValue?.first?["url"]?.stringValue == "http://127.0.0.1:9")
        }
    }
}
