import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct StreamReadTests {
    func filled(_ count: UInt64) -> Harness {
        var harness = Harness()
        var id: UInt64 = 0
        while id < count {
            let batch = Array(id..<Swift.min(count, id + 4))
            harness.append("s", .any, batch)
            id += 4
        }
        return harness
    }

    func page(_ harness: Harness, _ direction: ReadDirection, _ from: StreamReadStart, _ maximumCount: Int) -> ([UInt64], UInt64?) {
        guard case .events(let page) = harness.store.readStream(
            StreamReadRequest(stream: "s", direction: direction, from: from, maximumCount: maximumCount))
        else { return ([], 999) }
        return (page.events.map(\.revision.rawValue), page.nextRevision?.rawValue)
    }

    @Test func pagingForwardsAndBackwards() {
        let harness = filled(10)
        #expect(page(harness, .forwards, .start, 4) == ([0, 1, 2, 3], 4))
        #expect(page(harness, .forwards, .revision(4), 4) == ([4, 5, 6, 7], 8))
        #expect(page(harness, .forwards, .revision(8), 4) == ([8, 9], nil))
        #expect(page(harness, .forwards, .revision(10), 4) == ([], nil))
        #expect(page(harness, .forwards, .end, 4) == ([], nil))
        #expect(page(harness, .backwards, .end, 4) == ([9, 8, 7, 6], 5))
        #expect(page(harness, .backwards, .revision(5), 4) == ([5, 4, 3, 2], 1))
        #expect(page(harness, .backwards, .revision(1), 4) == ([1, 0], nil))
        #expect(page(harness, .backwards, .revision(99), 2) == ([9, 8], 7))
        #expect(page(harness, .backwards, .start, 4) == ([0], nil))
        #expect(page(harness, .forwards, .start, 0) == ([], 0), "an empty page continues where it started")
        #expect(page(harness, .forwards, .start, -3) == ([], 0))
    }

    @Test func pagingToTheEndVisitsEveryEventOnce() {
        let harness = filled(37)
        var seen: [UInt64] = []
        var from = StreamReadStart.start
        var pages = 0
        while pages < 100 {
            pages += 1
            let (revisions, next) = page(harness, .forwards, from, 5)
            seen += revisions
            guard let next else { break }
            from = .revision(StreamRevision(next))
        }
        #expect(seen == Array(0..<37))
        #expect(pages == 8)
        // The count is capped at maximumReadCount (16).
        #expect(page(harness, .forwards, .start, 1_000).0.count == 16)
    }

    @Test func pagingHonoursRetention() {
        var harness = filled(10)
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(truncateBefore: 6)))
        #expect(page(harness, .forwards, .start, 3) == ([6, 7, 8], 9))
        #expect(page(harness, .forwards, .revision(2), 3) == ([6, 7, 8], 9))
        #expect(page(harness, .backwards, .end, 3) == ([9, 8, 7], 6))
        #expect(page(harness, .backwards, .revision(7), 3) == ([7, 6], nil))
        #expect(page(harness, .backwards, .revision(3), 3) == ([], nil))
        guard case .events(let first) = harness.read("s") else {
            Issue.record("read failed")
            return
        }
        #expect(first.firstVisibleRevision == 6 && first.lastRevision == 9)
    }

    /// "As of" a position: the stream as it was right after the command that assigned it.
    @Test func asOfPosition() {
        var harness = Harness()
        harness.append("s", .any, [1, 2])  // positions 0, 1
        harness.append("t", .any, [3])  // 2
        harness.append("s", .any, [4])  // 3
        func asOf(_ position: UInt64) -> StreamReadResult { harness.read("s", asOf: GlobalPosition(position)) }
        func revisions(_ result: StreamReadResult) -> [UInt64]? {
            guard case .events(let page) = result else { return nil }
            return page.events.map(\.revision.rawValue)
        }
        #expect(revisions(asOf(0)) == [0])
        #expect(revisions(asOf(1)) == [0, 1])
        #expect(revisions(asOf(2)) == [0, 1])
        #expect(revisions(asOf(3)) == [0, 1, 2])
        #expect(asOf(0) != asOf(1))
        #expect(harness.read("t", asOf: 1) == .streamNotFound("t"), "t had no events yet")
        // A rule change after the position cannot be undone by the read: an error, not a wrong state.
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 1)))
        #expect(revisions(asOf(3)) == [2], "at the head the current rules apply")
        harness.append("t", .any, [5])  // 4
        if case .asOfNotRetained = asOf(2) {} else { Issue.record("as of 2 after a metadata change must be refused: \(asOf(2))") }
        #expect(revisions(asOf(4)) == [2])
        harness.append("s", .any, [6])  // 5
        #expect(revisions(asOf(5)) == [3])
        #expect(revisions(asOf(4)) == [2], "maximumCount as of 4 counts the revisions then")
        harness.run(.scavenge)
        if case .asOfNotRetained = asOf(3) {} else { Issue.record("as of 3 needs scavenged state") }
        #expect(revisions(asOf(5)) == [3])
        #expect(revisions(asOf(4)) == nil, "revision 2 was scavenged: \(asOf(4))")
        harness.run(.softDelete(stream: "s", expected: .any))
        harness.append("t", .any, [7])  // 6
        #expect(asOf(6) == .streamNotFound("s"), "soft-deleted then")
    }

    @Test func positionByRecordedTime() {
        var harness = Harness()
        let start = harness.time
        harness.append("s", .any, [1, 2])
        harness.run(.advanceClock, advancing: 10)
        harness.append("s", .any, [3])
        #expect(harness.store.lastPosition(recordedAtOrBefore: RecordedTime(microsecondsSinceEpoch: start)) == nil)
        #expect(harness.store.lastPosition(recordedAtOrBefore: RecordedTime(microsecondsSinceEpoch: start + 1)) == 1)
        #expect(harness.store.lastPosition(recordedAtOrBefore: RecordedTime(microsecondsSinceEpoch: start + 11)) == 1)
        #expect(harness.store.lastPosition(recordedAtOrBefore: RecordedTime(microsecondsSinceEpoch: start + 12)) == 2)
    }
}

@Suite struct AllReadTests {
    /// Streams a-1, a-2, b-1 (types OrderPlaced / Shipped) and the change feed.
    func populated() -> Harness {
        var harness = Harness()
        var id: UInt64 = 0
        for round in 0..<4 {
            for (stream, type) in [("a-1", "OrderPlaced"), ("b-1", "Shipped"), ("a-2", round % 2 == 0 ? "OrderShipped" : "Shipped")] {
                id += 1
                harness.run(.append(StreamAppend(stream: StreamName(stream), expected: .any, events: [event(id, type: type)])))
            }
        }
        harness.run(.recordKeyValueChanges([KeyValueChange(key: "k", version: 3, value: [1])]))
        return harness
    }

    func read(_ harness: Harness, _ request: AllReadRequest) -> AllReadPage? {
        guard case .events(let page) = harness.store.readAll(request) else { return nil }
        return page
    }

    @Test func pagingForwardsAndBackwards() {
        let harness = populated()
        let first = read(harness, AllReadRequest(maximumCount: 5))
        #expect(first?.events.map(\.position.rawValue) == [0, 1, 2, 3, 4])
        #expect(first?.nextPosition == 5)
        #expect(read(harness, AllReadRequest(from: .position(10), maximumCount: 5))?.events.map(\.position.rawValue) == [10, 11])
        let tail = read(harness, AllReadRequest(from: .position(10), maximumCount: 5))
        #expect(tail?.nextPosition == nil, "the read examined the feed event at 12 too")
        #expect(tail?.scannedThrough == 12)
        let back = read(harness, AllReadRequest(direction: .backwards, from: .end, maximumCount: 3, filter: .everything))
        #expect(back?.events.map(\.position.rawValue) == [12, 11, 10])
        #expect(back?.nextPosition == 9)
        #expect(read(harness, AllReadRequest(direction: .backwards, from: .position(1), maximumCount: 5))?.events.map(\.position.rawValue) == [1, 0])
        #expect(read(harness, AllReadRequest(direction: .backwards, from: .position(1), maximumCount: 5))?.nextPosition == nil)
        #expect(read(harness, AllReadRequest(from: .end, maximumCount: 5))?.events == [])
        #expect(first?.headPosition == 13)
    }

    @Test func filters() {
        let harness = populated()
        func positions(_ filter: EventFilter) -> [UInt64] {
            read(harness, AllReadRequest(maximumCount: 16, filter: filter))?.events.map(\.position.rawValue) ?? [999]
        }
        #expect(positions(EventFilter(streamNamePrefixes: ["a-"])) == [0, 2, 3, 5, 6, 8, 9, 11])
        #expect(positions(EventFilter(eventTypePrefixes: ["Shipped"])) == [1, 4, 5, 7, 10, 11])
        #expect(positions(EventFilter(streamNamePrefixes: ["a-"], eventTypePrefixes: ["Order"])) == [0, 2, 3, 6, 8, 9])
        #expect(positions(EventFilter(streamNamePrefixes: ["a-2", "b"])) == [1, 2, 4, 5, 7, 8, 10, 11])
        #expect(positions(.clientStreams).count == 12, "system streams are left out by default")
        #expect(positions(.everything).count == 13)
        #expect(positions(EventFilter(streamNamePrefixes: ["$kv-"])) == [12], "a $ prefix asks for system streams")
        #expect(positions(EventFilter(eventTypePrefixes: ["$kv"])) == [], "a type prefix alone does not")
        #expect(positions(EventFilter(eventTypePrefixes: ["$kv"], includeSystemStreams: true)) == [12])
        #expect(
            harness.store.readAll(AllReadRequest(maximumCount: 1, filter: EventFilter(streamNamePrefixes: ["a", "b", "c", "d", "e"])))
                == .invalidFilter("a filter may hold at most 4 prefixes of each kind"))
    }

    /// A sparse filter examines at most maximumScannedEventsPerRead (32) events per
    /// read and returns where it got to, so a checkpoint moves past skipped events.
    @Test func scanLimitAndContinuation() {
        var harness = Harness(limits: { var limits = smallLimits; limits.maximumRetainedEvents = 10_000; return limits }())
        for id in 0..<20 as Range<UInt64> { harness.append("noise", .any, [id * 4, id * 4 + 1, id * 4 + 2, id * 4 + 3]) }
        harness.append("rare", .any, [1_000])
        let filter = EventFilter(streamNamePrefixes: ["rare"])
        let first = read(harness, AllReadRequest(maximumCount: 10, filter: filter))
        #expect(first?.events == [])
        #expect(first?.scannedThrough == 31)
        #expect(first?.nextPosition == 32)
        var from = first!.nextPosition!
        var found: [UInt64] = []
        for _ in 0..<5 {
            guard let page = read(harness, AllReadRequest(from: .position(from), maximumCount: 10, filter: filter)) else { break }
            found += page.events.map(\.position.rawValue)
            guard let next = page.nextPosition else { break }
            from = next
        }
        #expect(found == [80])
    }

    @Test func readsAfterScavengeSkipRemovedPositions() {
        var harness = Harness()
        harness.append("a", .any, [1, 2, 3])
        harness.append("b", .any, [4, 5])
        harness.run(.softDelete(stream: "a", expected: .any))
        harness.run(.scavenge)
        #expect(read(harness, AllReadRequest(from: .position(1), maximumCount: 5))?.events.map(\.position.rawValue) == [3, 4])
        #expect(read(harness, AllReadRequest(direction: .backwards, from: .position(2), maximumCount: 5))?.events == [])
        #expect(read(harness, AllReadRequest(direction: .backwards, from: .position(3), maximumCount: 5))?.events.map(\.position.rawValue) == [3])
        #expect(harness.store.headPosition == 5, "positions are never reused")
        harness.append("a", .any, [6])
        #expect(harness.allPositions() == [3, 4, 5])
    }
}
