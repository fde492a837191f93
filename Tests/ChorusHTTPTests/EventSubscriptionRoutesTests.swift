import ChorusCore
import ChorusService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import ChorusHTTP

/// Subscriptions as server-sent events against a live server: catch-up,
/// caught-up, live while appends continue, resuming with `Last-Event-ID`,
/// bogus resume points, and clients that disconnect mid-stream.
@Suite struct EventSubscriptionRoutesTests {
    static func events(_ count: Int, type: String = "E") -> String {
        "[" + (0..<count).map { "{\"type\":\"\(type)\",\"data\":\($0)}" }.joined(separator: ",") + "]"
    }

    @Test func catchUpThenLiveWithNoGapOrDuplicateAndResumeFromLastEventID() async throws {
        try await EventRoutesHarness.run(.live) { harness, client in
            let port = try #require(client.port)
            for round in 0..<3 { _ = try await client.send(.post, "/v1/streams/h-\(round)", body: Self.events(50)) }
            let seen = try await ServerSentEventsReader.withStream(port: port, path: "/v1/all/subscribe") { reader in
                #expect(reader.status == 200)
                #expect(reader.head?.headers["Content-Type"].first == "text/event-stream")
                let history = try await reader.collect { $0.contains { $0.event == "caught-up" } }
                #expect(history.first?.comment == "subscribed after start")
                #expect(history.positions == Array(0..<150))
                #expect(history.last?.id == "149" && history.last?.json?["position"] == 149)
                #expect(history.filter { $0.event == "event" }.allSatisfy { $0.id == $0.json?["position"]?.int64Value.map(String.init) })
                let writer = Task {
                    for round in 0..<10 { _ = try await client.send(.post, "/v1/streams/live-\(round % 2)", body: Self.events(5)) }
                }
                let live = try await reader.collect { $0.positions.count == 50 }
                try await writer.value
                #expect(live.positions == Array(150..<200), "live, with no gap or duplicate")
                return history.positions + live.positions
            }
            #expect(seen.count == 200)
            // Resume after 180: exactly what came after it.
            let resumed = try await ServerSentEventsReader.withStream(
                port: port, path: "/v1/all/subscribe", headers: [("Last-Event-ID", "180")]
            ) { reader in
                try await reader.collect { $0.contains { $0.event == "caught-up" } }
            }
            #expect(resumed.positions == Array(181..<200))
            #expect(resumed.first?.comment == "subscribed after 180")
            // A stream subscription from a revision, filtered by the stream.
            let stream = try await ServerSentEventsReader.withStream(port: port, path: "/v1/streams/h-1/subscribe?from=47") { reader in
                try await reader.collect { $0.contains { $0.event == "caught-up" } }
            }
            #expect(stream.events.compactMap { $0["revision"]?.int64Value } == [48, 49])
            #expect(stream.positions == [98, 99])
        }
    }

    @Test func bogusResumePointsAre400BeforeStreaming() async throws {
        try await EventRoutesHarness.run(.live) { _, client in
            let port = try #require(client.port)
            _ = try await client.send(.post, "/v1/streams/s", body: Self.events(3))
            let cases: [(String, [(String, String)], String)] = [
                ("/v1/all/subscribe", [("Last-Event-ID", "not-a-position")], "invalid_position"),
                ("/v1/all/subscribe", [("Last-Event-ID", "3")], "invalid_position"),
                ("/v1/all/subscribe", [("Last-Event-ID", "-1")], "invalid_position"),
                ("/v1/streams/s/subscribe", [("Last-Event-ID", "99")], "invalid_position"),
                ("/v1/streams/s/subscribe?from=9", [], "invalid_revision"),
                ("/v1/streams/s/subscribe?from=x", [], "invalid_revision"),
                ("/v1/all/subscribe?from=x", [], "invalid_position"),
                ("/v1/streams/%24all/subscribe", [], "invalid_stream_name"),
            ]
            for (path, headers, code) in cases {
                let (status, body) = try await ServerSentEventsReader.withStream(port: port, path: path, headers: headers) { reader in
                    (reader.status, try await reader.remainingBody())
                }
                #expect(status == 400, "\(path) \(headers)")
                #expect(body.contains("\"code\":\"\(code)\""), "\(path) \(headers): \(body)")
            }
        }
    }

    @Test func aClientThatDisconnectsMidStreamEndsItsSubscription() async throws {
        try await EventRoutesHarness.run(.live) { harness, client in
            let port = try #require(client.port)
            _ = try await client.send(.post, "/v1/streams/d", body: Self.events(3))
            try await ServerSentEventsReader.withStream(port: port, path: "/v1/streams/d/subscribe") { reader in
                let first = try await reader.collect { $0.positions.count == 1 }
                #expect(first.positions == [0])
                #expect(harness.service.eventStore.subscriptionCounts.live + harness.service.eventStore.subscriptionCounts.catchingUp == 1)
            }
            // The reader closed the connection; the server notices at its next write (a heartbeat at the latest).
            let deadline = ContinuousClock.now + .seconds(5)
            while harness.service.eventStore.subscriptionCounts != (live: 0, catchingUp: 0), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(harness.service.eventStore.subscriptionCounts == (live: 0, catchingUp: 0))
            // The node is unharmed: appends and new subscriptions still work.
            let appended = try await client.send(.post, "/v1/streams/d", body: Self.events(1))
            #expect(appended.status == .ok && appended.json["firstRevision"] == 3)
        }
    }

    @Test func idleSubscriptionsHeartbeatAndATombstoneEndsThemWithAnError() async throws {
        try await EventRoutesHarness.run(.live) { _, client in
            let port = try #require(client.port)
            _ = try await client.send(.post, "/v1/streams/t", body: Self.events(1))
            let messages = try await ServerSentEventsReader.withStream(port: port, path: "/v1/streams/t/subscribe") { reader in
                var messages = try await reader.collect { $0.contains { $0.comment == "heartbeat" } }
                _ = try await client.send(.delete, "/v1/streams/t?hard=true")
                while let message = try await reader.next() { messages.append(message) }
                return messages
            }
            // Heartbeats repeat while nothing happens; on a slow machine more than one may
            // arrive before the delete, so runs of them count as one.
            let kinds = messages.map { $0.event ?? "comment" }.enumerated()
                .filter { index, kind in !(kind == "comment" && index > 0 && messages[index - 1].event == nil) }.map(\.element)
            #expect(kinds == ["comment", "event", "caught-up", "comment", "error"])
            #expect(messages.last?.json?["error"]?["code"] == "stream_deleted")
        }
    }
}
