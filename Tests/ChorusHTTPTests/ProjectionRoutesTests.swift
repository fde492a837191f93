import ChorusCore
import ChorusProjections
import ChorusRaft
import ChorusTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@testable import ChorusHTTP
@testable import ChorusNode
@testable import ChorusService

/// `/v1/projections` end to end on a real single-node `ChorusNode` in this
/// process: appends through `/v1/streams`, the README's worked example
/// projected into SQLite, queries that wait for the append's position, the
/// three wait outcomes, parking on a failing handler, skip, rebuild, metrics.
@Suite struct ProjectionRoutesTests {
    static let expected = HTTPField.Name("X-Chorus-Expected-Revision")!

    static func run(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "chorus-http-projections-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let node = try await EventRoutesHarness.startNode(directory: directory + "/node", logger: logger)
        let registry = PrometheusCollectorRegistry()
        var options = ProjectionServiceOptions(
            definitions: try ProjectionDefinitionFile.decode(Array(ProjectionWorkedExample.json().utf8)), directory: directory + "/projections")
        options.retryPolicy = ProjectionRetryPolicy(maximumAttempts: 2, initialBackoffMilliseconds: 5, maximumBackoffMilliseconds: 10)
        options.lagIntervalMilliseconds = 50
        options.metricsFactory = PrometheusMetricsFactory(registry: registry)
        let runtime = try ProjectionsRuntime(options: options)
        var api = HTTPAPIConfiguration(host: "127.0.0.1", port: 0, metricsRegistry: registry)
        api.projections = runtime
        let service = ChorusService(node: node, eventOptions: api.eventOptions, projections: runtime)
        let application = ChorusHTTPServer.makeApplication(service: service, configuration: api, logger: logger)
        do {
            let deadline = ContinuousClock.now + .seconds(10)
            while try await node.status().role != .leader, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            try await application.test(.router) { client in try await body(client) }
        } catch {
            await node.shutdown()
            runtime.close()
            throw error
        }
        await node.shutdown()
        runtime.close()
    }

    static func placed(_ order: String, customer: String, cents: Int) -> String {
        #"[{"type":"OrderPlaced","data":{"orderId":"\#(order)","customerId":"\#(customer)","totalCents":\#(cents)}}]"#
    }

    /// Appends and returns the position the store assigned.
    static func append(_ client: some TestClientProtocol, _ stream: String, _ body: String) async throws -> Int {
        let response = try await client.send(.post, "/v1/streams/\(stream)", body: body)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(response.header("X-Chorus-Position").flatMap(Int.init))
    }

    @Test func queriesWaitForTheCallersOwnWriteAndAnswerExactly() async throws {
        try await Self.run { client in
            _ = try await Self.append(client, "order-1", Self.placed("o-1", customer: "c-1", cents: 1_250))
            _ = try await Self.append(client, "payment-c1", #"[{"type":"PaymentReceived","data":{"customerId":"c-1","amountCents":1000}}]"#)
            _ = try await Self.append(client, "unrelated", #"[{"type":"Noise","data":{}}]"#)
            let shipped = try await Self.append(client, "order-1", #"[{"type":"OrderShipped","data":{"orderId":"o-1"}}]"#)

            let order = try await client.send(.get, "/v1/projections/order_summary/query/by_id?id=o-1&min-position=\(shipped)&timeout-ms=30000")
            #expect(order.status == .ok, "\(order.text)")
            #expect(order.json["wait"] == "reached" && order.json["columns"] == ["order_id", "customer_id", "total_cents", "status"])
            #expect(order.json["rows"] == [["o-1", "c-1", 1_250, "shipped"]])
            #expect((order.json["passedThrough"]?.numberValue?.intValue ?? -1) >= shipped)

            let balance = try await client.send(.get, "/v1/projections/customer_balance/query/balance?customer=c-1&min-position=\(shipped)")
            #expect(balance.json["rows"] == [["c-1", -250, 1]], "\(balance.text)")
            let debtors = try await client.send(.get, "/v1/projections/customer_balance/query/debtors")
            #expect(debtors.json["rows"] == [["c-1", -250]])

            // A position the unrelated stream took is passed too: nothing hangs on an ignored event.
            let list = try await client.send(.get, "/v1/projections")
            let projections = try #require(list.json["projections"]?.arrayValue)
            #expect(projections.map { $0["name"] } == ["order_summary", "customer_balance"])
            #expect(projections.allSatisfy { $0["state"] == "running" && $0["parked"] == .null && $0["headPosition"] == 4 })
            #expect(projections.allSatisfy { $0["passedThrough"] == 3 && $0["lag"] == ["events": 0, "seconds": 0] })
            let one = try await client.send(.get, "/v1/projections/order_summary")
            #expect(one.json["source"] == "order-*" && one.json["version"] == 1 && one.json["generation"] == 1)
        }
    }

    @Test func badRequestsGetDistinctCodes() async throws {
        try await Self.run { client in
            let cases: [(String, HTTPRequest.Method, HTTPResponse.Status, String)] = [
                ("/v1/projections/nope", .get, .notFound, "projection_not_found"),
                ("/v1/projections/order_summary/query/nope", .get, .notFound, "query_not_found"),
                ("/v1/projections/order_summary/query/by_id", .get, .badRequest, "invalid_parameter"),
                ("/v1/projections/order_summary/query/by_id?id=o&colour=red", .get, .badRequest, "invalid_parameter"),
                ("/v1/projections/order_summary/query/by_customer?customer=c&limit=ten", .get, .badRequest, "invalid_parameter"),
                ("/v1/projections/order_summary/query/by_id?id=o&min-position=x", .get, .badRequest, "invalid_position"),
                ("/v1/projections/order_summary/query/by_id?id=o&min-position=99&timeout-ms=30", .get, .serviceUnavailable, "projection_timed_out"),
                ("/v1/projections/order_summary/retry", .post, .conflict, "projection_not_parked"),
                ("/v1/projections/order_summary/skip", .post, .conflict, "projection_not_parked"),
                ("/v1/projections/order_summary/retry", .get, .methodNotAllowed, "method_not_allowed"),
                ("/v1/projections", .post, .methodNotAllowed, "method_not_allowed"),
            ]
            for (uri, method, status, code) in cases {
                let response = try await client.send(method, uri)
                #expect(response.status == status && response.errorCode == code, "\(method) \(uri): \(response.status) \(response.text)")
            }
            let missing = try await client.send(.get, "/v1/projections/order_summary/query/by_id")
            #expect(missing.json["error"]?["message"] == "the query 'by_id' needs the text parameter 'id'")
        }
    }

    @Test func aFailingHandlerParksStallsWaitsAndAnOperatorSkipsItThenRebuilds() async throws {
        try await Self.run { client in
            _ = try await Self.append(client, "order-1", Self.placed("o-1", customer: "c-1", cents: 100))
            // No customerId: customer_id is NOT NULL, so the order summary's handler fails.
            let bad = try await Self.append(client, "order-2", #"[{"type":"OrderPlaced","data":{"orderId":"o-2","totalCents":5}}]"#)
            let after = try await Self.append(client, "order-3", Self.placed("o-3", customer: "c-3", cents: 300))
            let stalled = try await client.send(.get, "/v1/projections/order_summary/query/by_id?id=o-3&min-position=\(after)&timeout-ms=30000")
            #expect(stalled.status == .conflict && stalled.errorCode == "projection_stalled", "\(stalled.text)")
            let parked = try await client.send(.get, "/v1/projections/order_summary")
            #expect(parked.json["state"] == "parked" && parked.json["passedThrough"] == 0)
            #expect(parked.json["parked"] == [
                "stream": "order-2", "revision": 0, "position": .integer(Int64(bad)), "type": "OrderPlaced",
                "error": "NOT NULL constraint failed: order_summary.customer_id", "attempts": 2,
            ])
            // The other projection is not held up by this one.
            let balance = try await client.send(.get, "/v1/projections/customer_balance/query/balance?customer=c-3&min-position=\(after)")
            #expect(balance.json["rows"] == [["c-3", -300, 1]])

            let skipped = try await client.send(.post, "/v1/projections/order_summary/skip")
            #expect(skipped.status == .ok)
            let reached = try await client.send(.get, "/v1/projections/order_summary/query/by_customer?customer=c-3&limit=5&min-position=\(after)")
            #expect(reached.status == .ok && reached.json["rows"] == [["o-3", 300, "placed"]], "\(reached.text)")

            // A rebuild from 0 meets the bad event again and parks in the new
            // generation; the old tables keep answering meanwhile.
            let rebuilding = try await client.send(.post, "/v1/projections/order_summary/rebuild")
            #expect(rebuilding.status == .ok && rebuilding.json["rebuilding"]?["generation"] == 2, "\(rebuilding.text)")
            let again = try await client.send(.post, "/v1/projections/order_summary/rebuild")
            #expect(again.status == .conflict && again.errorCode == "projection_rebuilding")
            let deadline = ContinuousClock.now + .seconds(20)
            while try await client.send(.get, "/v1/projections/order_summary").json["state"] != "parked", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let old = try await client.send(.get, "/v1/projections/order_summary/query/by_id?id=o-1")
            #expect(old.json["rows"] == [["o-1", "c-1", 100, "placed"]])
            #expect(try await client.send(.post, "/v1/projections/order_summary/skip").status == .ok)
            while try await client.send(.get, "/v1/projections/order_summary").json["generation"] != 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let swapped = try await client.send(.get, "/v1/projections/order_summary/query/by_customer?customer=c-3&limit=5&min-position=\(after)")
            #expect(swapped.json["rows"] == [["o-3", 300, "placed"]])
            let state = try await client.send(.get, "/v1/projections/order_summary")
            #expect(state.json["state"] == "running" && state.json["rebuilding"] == .null && state.json["parked"] == .null)

            try await Task.sleep(for: .milliseconds(150))
            let metrics = try await client.send(.get, "/metrics").text
            #expect(metrics.contains(#"chorus_projection_lag_events{projection="order_summary"} 0"#), "\(metrics)")
            #expect(metrics.contains(#"chorus_projection_lag_seconds{projection="customer_balance"} 0"#))
            #expect(metrics.contains("chorus_projections_parked 0"))
        }
    }
}
