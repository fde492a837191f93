import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct DeleteAndMetadataTests {
    @Test func softDeleteHidesAndNumberingContinues() {
        var harness = Harness()
        harness.append("s", .noStream, [1, 2])
        #expect(
            harness.run(.softDelete(stream: "s", expected: .revision(0)))
                == .wrongExpectedVersion(WrongExpectedVersion(stream: "s", expected: .revision(0), actual: .revision(1), cause: .stateMismatch)))
        #expect(harness.run(.softDelete(stream: "s", expected: .revision(1))) == .deleted(StreamDeletion(stream: "s", kind: .soft, lastRevision: 1)))
        #expect(harness.read("s") == .streamNotFound("s"))
        #expect(harness.store.streamInfo("s")?.state == .softDeleted(lastRevision: 1))
        #expect(harness.allPositions() == [0, 1], "deleted events stay in $all until a scavenge")
        // Deleting again, or deleting an absent stream, changes nothing.
        #expect(harness.run(.softDelete(stream: "s", expected: .noStream)) == .deleted(StreamDeletion(stream: "s", kind: .soft, lastRevision: 1)))
        #expect(harness.run(.softDelete(stream: "never", expected: .any)) == .deleted(StreamDeletion(stream: "never", kind: .soft, lastRevision: nil)))
        #expect(harness.store.streamInfo("never") == nil)
        harness.append("s", .noStream, [3])
        #expect(harness.revisionsAndIDs("s") == [Pair(2, 3)])
        #expect(harness.store.streamInfo("s")?.state == .revision(2))
        harness.run(.scavenge)
        #expect(harness.allPositions() == [2])
        #expect(harness.revisionsAndIDs("s") == [Pair(2, 3)])
    }

    @Test func hardDeleteIsForever() {
        var harness = Harness()
        harness.append("s", .any, [1])
        #expect(
            harness.run(.hardDelete(stream: "s", expected: .noStream))
                == .wrongExpectedVersion(WrongExpectedVersion(stream: "s", expected: .noStream, actual: .revision(0), cause: .stateMismatch)))
        #expect(harness.run(.hardDelete(stream: "s", expected: .streamExists)) == .deleted(StreamDeletion(stream: "s", kind: .hard, lastRevision: 0)))
        #expect(harness.read("s") == .streamDeleted("s"))
        #expect(harness.append("s", .any, [2]) == .streamDeleted("s"))
        #expect(harness.run(.hardDelete(stream: "s", expected: .any)) == .streamDeleted("s"))
        #expect(harness.run(.softDelete(stream: "s", expected: .any)) == .streamDeleted("s"))
        #expect(harness.run(.setMetadata(stream: "s", metadata: .none)) == .streamDeleted("s"))
        #expect(harness.store.subscriptionBatch(source: .stream("s"), after: .start, maximumCount: 10) == .streamDeleted("s"))
        #expect(harness.store.streamInfo("s")?.state == .tombstoned)
        // A stream that never existed can be tombstoned too.
        #expect(harness.run(.hardDelete(stream: "fresh", expected: .noStream)) == .deleted(StreamDeletion(stream: "fresh", kind: .hard, lastRevision: nil)))
        #expect(harness.append("fresh", .noStream, [3]) == .streamDeleted("fresh"))
        #expect(harness.allPositions() == [0])
        harness.run(.scavenge)
        #expect(harness.allPositions() == [])
        #expect(harness.read("s") == .streamDeleted("s"), "the tombstone outlives its events")
        let restored = try? EventStore(restoring: harness.store.snapshot(), limits: smallLimits)
        #expect(restored?.readStream(StreamReadRequest(stream: "s", maximumCount: 1)) == .streamDeleted("s"))
    }

    @Test func metadataStricterWins() throws {
        var harness = Harness()
        for id in 1...5 as ClosedRange<UInt64> { harness.append("s", .any, [id]) }
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 3)))
        #expect(harness.revisionsAndIDs("s") == [Pair(2, 3), Pair(3, 4), Pair(4, 5)])
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 3, truncateBefore: 4)))
        #expect(harness.revisionsAndIDs("s") == [Pair(4, 5)])
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 1, truncateBefore: 2)))
        #expect(harness.revisionsAndIDs("s") == [Pair(4, 5)])
        // Loosening before a scavenge shows the hidden events again …
        harness.run(.setMetadata(stream: "s", metadata: .none))
        #expect(harness.revisionsAndIDs("s")?.count == 5)
        // … after one it cannot.
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 2)))
        #expect(harness.run(.scavenge) == .scavenged(ScavengeReport(removedEvents: 3, removedPayloadBytes: 36, retainedEvents: 2, automatic: false)))
        harness.run(.setMetadata(stream: "s", metadata: .none))
        #expect(harness.revisionsAndIDs("s") == [Pair(3, 4), Pair(4, 5)])
        let info = try #require(harness.store.streamInfo("s"))
        #expect(info.firstRetainedRevision == 3 && info.firstVisibleRevision == 3 && info.nextRevision == 5)
        // An expected revision still names the last revision, whatever is hidden.
        #expect(harness.append("s", .revision(4), [6]).isSuccess)
    }

    /// `maximumAge` is measured against the store's clock (the latest recorded time),
    /// so every replica ages events alike.
    @Test func maximumAgeAgesAgainstTheStoreClock() {
        var harness = Harness()
        harness.append("s", .any, [1])
        harness.append("s", .any, [2])
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumAge: Microseconds(10))))
        #expect(harness.revisionsAndIDs("s") == [Pair(0, 1), Pair(1, 2)], "event 1 is 2 µs old")
        harness.append("t", .any, [3])  // the clock moves 1 µs
        #expect(harness.run(.advanceClock, advancing: 7) == .clockAdvanced(RecordedTime(microsecondsSinceEpoch: harness.time)))
        #expect(harness.revisionsAndIDs("s") == [Pair(0, 1), Pair(1, 2)], "exactly maximumAge old is still visible")
        // A command stamped earlier does not move the clock back.
        #expect(harness.run(.advanceClock, advancing: -5) == .clockAdvanced(RecordedTime(microsecondsSinceEpoch: harness.time + 5)))
        harness.run(.advanceClock, advancing: 6)
        #expect(harness.revisionsAndIDs("s") == [Pair(1, 2)])
        harness.run(.scavenge, advancing: 0)
        #expect(harness.revisionsAndIDs("s") == [Pair(1, 2)])
        #expect(harness.allPositions() == [1, 2])
    }

    /// A scavenge changes no stream read, whatever mix of rules and deletes (seeded).
    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func scavengeKeepsEveryStreamReadTheSame(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var harness = Harness(limits: { var limits = smallLimits; limits.maximumRetainedEvents = 10_000; return limits }())
        let names: [StreamName] = ["a", "b", "c", "d"]
        var nextID: UInt64 = 1
        var removed = 0
        for step in 0..<300 {
            let stream = names[Int(random.next() % 4)]
            switch random.next() % 10 {
            case 0: harness.run(.softDelete(stream: stream, expected: .any))
            case 1:
                let metadata = StreamMetadata(
                    maximumCount: random.chance(0.5) ? random.next() % 6 : nil,
                    maximumAge: random.chance(0.3) ? Microseconds(random.next() % 400) : nil,
                    truncateBefore: random.chance(0.4) ? StreamRevision(random.next() % 40) : nil)
                harness.run(.setMetadata(stream: stream, metadata: metadata))
            case 2 where step > 250: harness.run(.hardDelete(stream: stream, expected: .any))
            default:
                let count = 1 + Int(random.next() % 3)
                harness.append(stream, .any, (0..<count).map { _ in nextID += 1; return nextID })
            }
            if step % 50 == 49 {
                let before = names.map { readEverything(harness.store, $0) }
                let report = harness.store.lastScavenge
                harness.run(.scavenge, advancing: 0)
                let after = names.map { readEverything(harness.store, $0) }
                #expect(before == after, "seed \(seed) step \(step)")
                #expect(harness.store.lastScavenge != report)
                removed += harness.store.lastScavenge?.removedEvents ?? 0
            }
        }
        #expect(removed > 20, "seed \(seed): the scavenges removed \(removed) events")
    }

    func readEverything(_ store: EventStore, _ stream: StreamName) -> [String] {
        var lines: [String] = []
        var from = StreamReadStart.start
        while true {
            switch store.readStream(StreamReadRequest(stream: stream, from: from, maximumCount: 5)) {
            case .events(let page):
                lines += page.events.map { "\($0.revision.rawValue):\($0.id.low)@\($0.position.rawValue)" }
                guard let next = page.nextRevision else { return lines + ["last \(page.lastRevision.rawValue)"] }
                from = .revision(next)
            case let other:
                return lines + ["\(other)"]
            }
        }
    }

    /// The automatic scavenge runs inside the apply that crosses its threshold.
    @Test func automaticScavengeBoundsMemory() {
        var limits = smallLimits
        limits.automaticScavengeMinimumReclaimableEvents = 6
        var harness = Harness(limits: limits)
        harness.run(.setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 2)))
        for id in 1...7 as ClosedRange<UInt64> { harness.append("s", .any, [id]) }
        #expect(harness.store.retainedEventCount == 7)
        #expect(harness.store.scavengeCount == 0, "5 reclaimable < 6")
        harness.append("s", .any, [8])
        #expect(harness.store.scavengeCount == 1)
        #expect(harness.store.lastScavenge == ScavengeReport(removedEvents: 6, removedPayloadBytes: 72, retainedEvents: 2, automatic: true))
        #expect(harness.revisionsAndIDs("s") == [Pair(6, 7), Pair(7, 8)])
    }
}
