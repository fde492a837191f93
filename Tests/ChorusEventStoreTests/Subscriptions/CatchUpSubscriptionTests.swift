import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct CatchUpSubscriptionTests {
    func batch(_ store: EventStore, _ source: SubscriptionSource, _ cursor: SubscriptionCursor, _ maximumCount: Int = 3)
        -> SubscriptionBatch?
    {
        guard case .batch(let batch) = store.subscriptionBatch(source: source, after: cursor, maximumCount: maximumCount) else { return nil }
        return batch
    }

    /// Catch-up, caught-up, then live from the same cursor: every event exactly
    /// once and in order, however the batches fall between appends.
    @Test func catchUpThenLiveWithoutGapOrDuplicate() {
        var harness = Harness(limits: { var limits = smallLimits; limits.maximumRetainedEvents = 10_000; return limits }())
        var random = SeededGenerator(seed: 99)
        var cursor = SubscriptionCursor.start
        var delivered: [UInt64] = []
        var caughtUpMarkers = 0
        var wasCaughtUp = false
        var appended: [UInt64] = []
        var nextID: UInt64 = 0
        for _ in 0..<200 {
            if random.chance(0.5) {
                let count = 1 + Int(random.next() % 4)
                let ids = (0..<count).map { _ in nextID += 1; return nextID }
                let stream: StreamName = random.chance(0.7) ? "watched" : "other"
                harness.append(stream, .any, ids)
                if stream == "watched" { appended += ids }
            } else {
                guard let next = batch(harness.store, .stream("watched"), cursor, 1 + Int(random.next() % 3)) else {
                    Issue.record("no batch")
                    return
                }
                delivered += next.events.map(\.id.low)
                cursor = next.cursor
                if next.isCaughtUp && !wasCaughtUp { caughtUpMarkers += 1 }
                wasCaughtUp = next.isCaughtUp
            }
        }
        while let next = batch(harness.store, .stream("watched"), cursor), !next.events.isEmpty {
            delivered += next.events.map(\.id.low)
            cursor = next.cursor
        }
        #expect(delivered == appended, "seed 99")
        #expect(caughtUpMarkers > 1, "it fell behind and caught up again")
    }

    @Test func allSubscriptionCheckpointsPastFilteredEvents() {
        var harness = Harness()
        harness.append("a", .any, [1, 2])
        harness.append("b", .any, [3])
        harness.append("a", .any, [4])
        let filter = EventFilter(streamNamePrefixes: ["b"])
        let first = batch(harness.store, .all(filter), .start, 10)
        #expect(first?.events.map(\.id.low) == [3])
        #expect(first?.cursor == .after(3), "past the skipped event at 3")
        #expect(first?.isCaughtUp == true)
        let again = batch(harness.store, .all(filter), first!.cursor, 10)
        #expect(again?.events == [] && again?.cursor == .after(3) && again?.isCaughtUp == true)
        harness.append("b", .any, [5])
        #expect(batch(harness.store, .all(filter), first!.cursor, 10)?.events.map(\.position.rawValue) == [4])
    }

    @Test func streamSubscriptionEdges() {
        var harness = Harness()
        // Nothing yet: an empty, caught-up batch that keeps its cursor.
        #expect(batch(harness.store, .stream("s"), .start) == SubscriptionBatch(events: [], cursor: .start, isCaughtUp: true, headPosition: 0))
        harness.append("s", .any, [1, 2, 3, 4])
        harness.append("s", .any, [5])
        let first = batch(harness.store, .stream("s"), .start, 3)
        #expect(first?.events.map(\.revision.rawValue) == [0, 1, 2])
        #expect(first?.isCaughtUp == false)
        // Resuming from a revision.
        #expect(harness.store.cursor(stream: "s", afterRevision: 2) == .after(2))
        #expect(harness.store.cursor(stream: "s", afterRevision: 5) == nil)
        #expect(harness.store.cursor(stream: "nothing", afterRevision: 0) == nil)
        // Events truncated before the subscriber reached them are skipped.
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(truncateBefore: 4)))
        let after = batch(harness.store, .stream("s"), first!.cursor, 3)
        #expect(after?.events.map(\.revision.rawValue) == [4])
        #expect(after?.isCaughtUp == true)
        #expect(harness.store.cursor(stream: "s", afterRevision: 1) == .start)
        harness.run(.hardDelete(stream: "s", expected: .any))
        #expect(harness.store.subscriptionBatch(source: .stream("s"), after: after!.cursor, maximumCount: 3) == .streamDeleted("s"))
        #expect(
            harness.store.subscriptionBatch(source: .all(EventFilter(eventTypePrefixes: ["a", "b", "c", "d", "e"])), after: .start, maximumCount: 3)
                == .invalid("a filter may hold at most 4 prefixes of each kind"))
    }
}
