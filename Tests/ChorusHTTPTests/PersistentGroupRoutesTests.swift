import ChorusCore
import ChorusService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import ChorusHTTP

/// Persistent groups over HTTP against a live server: create, list, two
/// consumers over server-sent events, ack, nack (retry, park, skip), parked
/// events, replay, delete, and their errors.
@Suite struct PersistentGroupRoutesTests {
    static func deliveries(_ messages: [ServerSentMessage]) -> [JSONValue] {
        messages.filter { $0.event == "delivery" }.compactMap(\.json)
    }

    @Test func createListAndValidateGroups() async throws {
        try await EventRoutesHarness.run { _, client in
            let created = try await client.send(
                .post, "/v1/streams/orders/groups/billing",
                body: #"{"maxRetryCount":2,"messageTimeoutMilliseconds":1000,"start":"end"}"#)
            #expect(created.status == .created)
            #expect(created.json["stream"] == "orders" && created.json["group"] == "billing" && created.json["checkpoint"] == .null)
            #expect(created.json["settings"]?["maxRetryCount"] == 2 && created.json["settings"]?["messageTimeoutMilliseconds"] == 1000)
            #expect(created.json["parkedStream"] == "$persistentsubscription-orders::billing-parked")
            let all = try await client.send(
                .post, "/v1/streams/%24all/groups/audit", body: #"{"filter":{"streamPrefixes":["order-"],"typePrefixes":[]}}"#)
            #expect(all.status == .created && all.json["filter"]?["streamPrefixes"] == ["order-"])
            let list = try await client.send(.get, "/v1/groups")
            #expect(list.json["groups"]?.arrayValue?.compactMap { $0["group"]?.stringValue } == ["audit", "billing"])
            let one = try await client.send(.get, "/v1/streams/orders/groups/billing")
            #expect(one.status == .ok && one.json["group"] == "billing")
            let cases: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String)] = [
                (.post, "/v1/streams/orders/groups/billing", nil, .conflict, "group_already_exists"),
                (.get, "/v1/streams/orders/groups/none", nil, .notFound, "group_not_found"),
                (.delete, "/v1/streams/orders/groups/none", nil, .notFound, "group_not_found"),
                (.post, "/v1/streams/orders/groups/x", #"{"maxConsumerCount":0}"#, .badRequest, "invalid_group"),
                (.post, "/v1/streams/orders/groups/x", #"{"filter":{}}"#, .badRequest, "invalid_group"),
                (.post, "/v1/streams/orders/groups/x", #"{"start":"middle"}"#, .badRequest, "invalid_group"),
                (.post, "/v1/streams/orders/groups/x", #"{"colour":1}"#, .badRequest, "invalid_json"),
                (.post, "/v1/streams/orders/groups/x", #"{"#, .badRequest, "invalid_json"),
                (.get, "/v1/streams/orders/groups/none/parked", nil, .notFound, "group_not_found"),
                (.post, "/v1/streams/orders/groups/none/replay-parked", nil, .notFound, "group_not_found"),
                (.post, "/v1/streams/orders/groups/billing/nack?action=later", #"{"deliveryIds":["source-0"]}"#, .badRequest, "invalid_parameter"),
                (.post, "/v1/streams/orders/groups/billing/ack", #"{"deliveryIds":["zero"]}"#, .badRequest, "invalid_parameter"),
                (.post, "/v1/streams/orders/groups/billing/ack", #"{"deliveryIds":[]}"#, .badRequest, "invalid_json"),
                (.post, "/v1/streams/orders/groups/none/ack", #"{"deliveryIds":["source-0"]}"#, .notFound, "group_not_found"),
            ]
            for (method, path, body, status, code) in cases {
                let response = try await client.send(method, path, body: body)
                #expect(response.status == status && response.errorCode == code, "\(method) \(path) → \(response.text)")
            }
            let deleted = try await client.send(.delete, "/v1/streams/orders/groups/billing")
            #expect(deleted.status == .ok && deleted.json["deleted"] == true)
            #expect(try await client.send(.get, "/v1/streams/orders/groups/billing").status == .notFound)
        }
    }

    @Test func twoConsumersAckNackParkAndReplayOverServerSentEvents() async throws {
        try await EventRoutesHarness.run(.live) { _, client in
            let port = try #require(client.port)
            let group = "/v1/streams/jobs/groups/workers"
            let created = try await client.send(.post, group, body: #"{"maxRetryCount":0,"maxInFlightPerConsumer":1,"checkpointAfterEvents":1,"messageTimeoutMilliseconds":30000}"#)
            #expect(created.status == .created)
            let events = (0..<4).map { "{\"type\":\"Job\($0)\",\"data\":\($0)}" }.joined(separator: ",")
            _ = try await client.send(.post, "/v1/streams/jobs", body: "[\(events)]")

            let secondDeliveries = Shared<[JSONValue]>([])
            let secondReady = Shared(false)
            let second = Task {
                try await ServerSentEventsReader.withStream(port: port, path: "\(group)/consume") { reader in
                    let connected = try await reader.next()
                    #expect(connected?.event == "connected")
                    secondReady.update { $0 = true }
                    while let message = try await reader.next() {
                        if message.event == "delivery", let json = message.json {
                            secondDeliveries.update { $0.append(json) }
                            let id = json["deliveryId"]?.stringValue ?? ""
                            _ = try await client.send(.post, "\(group)/ack", body: "{\"deliveryIds\":[\"\(id)\"]}")
                        }
                    }
                }
            }
            try await ServerSentEventsReader.withStream(port: port, path: "\(group)/consume") { reader in
                #expect(reader.status == 200)
                #expect(try await reader.next()?.event == "connected")
                let deadline = ContinuousClock.now + .seconds(5)
                while !secondReady.value, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                // This consumer refuses everything it gets: the first park (maximumRetryCount 0 parks on failure).
                var refused: [String] = []
                while refused.count < 1, let message = try await reader.next() {
                    guard message.event == "delivery", let id = message.json?["deliveryId"]?.stringValue else { continue }
                    let nack = try await client.send(.post, "\(group)/nack?action=retry", body: "{\"deliveryIds\":[\"\(id)\"],\"reason\":\"no\"}")
                    #expect(nack.status == .ok && nack.json["accepted"] == 1)
                    refused.append(id)
                }
                let parkedDeadline = ContinuousClock.now + .seconds(5)
                var parked: [JSONValue] = []
                while parked.isEmpty, ContinuousClock.now < parkedDeadline {
                    parked = try await client.send(.get, "\(group)/parked").json["entries"]?.arrayValue ?? []
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(parked.count == 1)
                #expect(parked.first?["reason"] == "no (after 0 retries)")
                #expect(parked.first.flatMap { $0["position"]?.int64Value }.map { "source-\($0)" } == refused.first)
            }
            // The first consumer is gone (noticed at its next heartbeat, which hands
            // back what it held); the second receives the rest, and the replay.
            let waitFor: (Int) async throws -> Void = { count in
                let deadline = ContinuousClock.now + .seconds(5)
                while secondDeliveries.value.count < count, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            try await waitFor(3)
            let replay = try await client.send(.post, "\(group)/replay-parked")
            #expect(replay.status == .ok && replay.json["through"] == 1)
            try await waitFor(4)
            second.cancel()
            let received = secondDeliveries.value
            let sourcePositions = received.compactMap { $0["deliveryId"]?.stringValue }.filter { $0.hasPrefix("source-") }
            #expect(sourcePositions.count == 3)
            #expect(received.last?["deliveryId"] == "parked-0" && received.last?["retryCount"] == 0)
            let all = Set(received.compactMap { $0["event"]?["position"]?.int64Value })
            #expect(all == [0, 1, 2, 3], "every event was handled once by the second consumer, the refused one through the replay")
            let deadline = ContinuousClock.now + .seconds(5)
            var checkpoint: JSONValue?
            while checkpoint != 3, ContinuousClock.now < deadline {
                checkpoint = try await client.send(.get, group).json["checkpoint"]
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(checkpoint == 3)
        }
    }

    @Test func aDeletedGroupEndsItsConsumersAndTheConsumerLimitIs409() async throws {
        try await EventRoutesHarness.run(.live) { _, client in
            let port = try #require(client.port)
            let group = "/v1/streams/solo/groups/one"
            _ = try await client.send(.post, group, body: #"{"maxConsumerCount":1}"#)
            let messages = try await ServerSentEventsReader.withStream(port: port, path: "\(group)/consume") { reader in
                #expect(try await reader.next()?.event == "connected")
                let (status, body) = try await ServerSentEventsReader.withStream(port: port, path: "\(group)/consume") { second in
                    (second.status, try await second.remainingBody())
                }
                #expect(status == 409 && body.contains("max_consumers_reached"))
                _ = try await client.send(.delete, group)
                var messages: [ServerSentMessage] = []
                while let message = try await reader.next() { messages.append(message) }
                return messages
            }
            #expect(messages.last?.event == "error" && messages.last?.json?["error"]?["code"] == "group_not_found")
        }
    }
}
