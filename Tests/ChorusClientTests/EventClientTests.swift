import ChorusAPI
import ChorusCore
import Testing

@testable import ChorusClient

/// The client's event-store calls against a real node: appends whose retry
/// is answered from the original, expected revisions, reads, subscriptions.
@Suite struct EventClientTests {
    @Test func anAppendRetriedWithItsIdsIsAnsweredFromTheOriginal() async throws {
        try await InProcessNode.run { url, _ in
            let client = try ChorusClient(endpoints: [url], configuration: quickConfiguration())
            let events = [
                EventToAppend(type: "OrderPlaced", json: #"{"total":42}"#),
                EventToAppend(type: "Blob", data: [0, 1, 255], metadata: [7]),
            ]
            let first = try await client.append(events, to: "order-1", expected: .noStream)
            #expect(!first.alreadyWritten && first.firstRevision == 0 && first.lastRevision == 1)
            #expect(first.lastPosition == first.firstPosition + 1)
            // The answer was "lost": the same events (same ids) again, at the same expected state.
            let retried = try await client.append(events, to: "order-1", expected: .noStream)
            #expect(retried.alreadyWritten)
            #expect(retried.firstPosition == first.firstPosition && retried.lastPosition == first.lastPosition)
            let stale = await failure { try await client.append([EventToAppend(type: "Late", json: "{}")], to: "order-1", expected: .exactly(0)) }
            #expect(stale?.code == .wrongExpectedVersion, "\(String(describing: stale))")

            let page = try await client.readStream("order-1")
            #expect(page.events.map(\.type) == ["OrderPlaced", "Blob"], "written once")
            #expect(page.events.map(\.id) == events.map(\.id))
            #expect(String(decoding: page.events[0].data, as: UTF8.self) == #"{"total":42}"#)
            #expect(page.events[1].data == [0, 1, 255] && page.events[1].metadata == [7])
            #expect(page.events[1].contentType == "application/octet-stream")
            #expect(page.lastRevision == 1 && page.events.map(\.revision) == [0, 1])
            let backwards = try await client.readStream("order-1", backwards: true, limit: 1)
            #expect(backwards.events.map(\.revision) == [1])
            #expect(await failure { try await client.readStream("never-written") }?.code == .streamNotFound)
        }
    }

    @Test func aSubscriptionDeliversHistoryThenCaughtUpThenLiveEvents() async throws {
        try await InProcessNode.run { url, _ in
            let client = try ChorusClient(endpoints: [url], configuration: quickConfiguration())
            let history = try await client.append((0..<3).map { EventToAppend(type: "H\($0)", json: "{}") }, to: "cart-7")
            var received: [ClientSubscriptionMessage] = []
            for try await message in client.subscribe(to: "cart-7") {
                received.append(message)
                if case .caughtUp = message {
                    _ = try await client.append([EventToAppend(type: "Live", json: #"{"n":1}"#)], to: "cart-7")
                }
                if case .event(let event) = message, event.type == "Live" { break }
            }
            let types = received.map { message -> String in
                switch message {
                case .event(let event): event.type
                case .caughtUp: "caught-up"
                case .fellBehind: "fell-behind"
                case .checkpoint: "checkpoint"
                }
            }
            #expect(types == ["H0", "H1", "H2", "caught-up", "Live"])
            #expect(received[3] == .caughtUp(position: history.lastPosition))
            let unknown = try ChorusClient(endpoints: ["http://127.0.0.1:1"], configuration: quickConfiguration())
            do {
                for try await _ in unknown.subscribe(to: "cart-7") {}
                Issue.record("a subscription to a closed port delivered")
            } catch let error as ChorusClientError {
                guard case .unavailable = error else { Issue.record("expected unavailable, got \(error)"); return }
            }
        }
    }
}
