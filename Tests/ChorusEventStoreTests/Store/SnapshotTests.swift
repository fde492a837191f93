import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct SnapshotTests {
    /// A store with something of everything: live, soft-deleted, tombstoned and
    /// truncated streams, scavenged events, the id window, the change feed, and
    /// a group with a checkpoint, parked events and a replay in progress.
    static func rich() -> Harness {
        var harness = Harness()
        let key = PersistentGroupKey(stream: "orders", group: "billing")
        harness.append("orders", .noStream, [1, 2, 3])
        harness.append("carts", .any, [4])
        harness.append("gone", .any, [5])
        harness.run(.hardDelete(stream: "gone", expected: .any))
        harness.append("soft", .any, [6, 7])
        harness.run(.softDelete(stream: "soft", expected: .any))
        harness.run(.setMetadata(stream: "carts", metadata: StreamMetadata(maximumCount: 1, maximumAge: Microseconds.seconds(3_600), truncateBefore: 0)))
        harness.append("carts", .revision(0), [8])
        harness.run(.recordKeyValueChanges([KeyValueChange(key: "k", version: 12, value: [4]), KeyValueChange(key: "k", version: 13, value: nil)]))
        harness.run(.createGroup(key: key, filter: nil, settings: smallSettings, start: .start))
        harness.run(.createGroup(key: PersistentGroupKey(stream: .all, group: "audit"), filter: EventFilter(streamNamePrefixes: ["o"]), settings: smallSettings, start: .end))
        harness.run(.advanceCheckpoint(key: key, checkpoint: .after(1)))
        harness.run(.parkEvent(key: key, position: 2, reason: "poison"))
        harness.run(.parkEvent(key: key, position: 1, reason: "again"))
        harness.run(.replayParked(key: key))
        harness.run(.advanceReplay(key: key, through: 1))
        harness.run(.scavenge)
        harness.append("orders", .revision(2), [9])
        return harness
    }

    /// The commands replayed after a restore: retries (window hits), new
    /// appends, deletes, group commands and a scavenge.
    static let continuation: [EventStoreOperation] = [
        .append(StreamAppend(stream: "orders", expected: .revision(2), events: [event(9)])),
        .append(StreamAppend(stream: "orders", expected: .any, events: [event(1), event(2), event(3)])),
        .append(StreamAppend(stream: "soft", expected: .noStream, events: [event(10)])),
        .append(StreamAppend(stream: "soft", expected: .any, events: [event(6), event(7)])),
        .append(StreamAppend(stream: "gone", expected: .any, events: [event(11)])),
        .appendMultiple(MultiStreamAppend(writes: [StreamAppend(stream: "m", expected: .noStream, events: [event(12)])], checks: [StreamCondition(stream: "carts", expected: .revision(1))])),
        .softDelete(stream: "orders", expected: .any),
        .parkEvent(key: PersistentGroupKey(stream: "orders", group: "billing"), position: 0, reason: "x"),
        .advanceReplay(key: PersistentGroupKey(stream: "orders", group: "billing"), through: 2),
        .scavenge,
        .append(StreamAppend(stream: "orders", expected: .noStream, events: [event(13)])),
    ]

    @Test func restoreGivesAnEqualStateAndEqualBehaviour() throws {
        let original = Self.rich()
        let bytes = original.store.snapshot()
        var restored = original
        restored.store = try EventStore(restoring: bytes, limits: smallLimits)
        #expect(restored.store.snapshot() == bytes)
        #expect(restored.store.stateDigest == original.store.stateDigest)
        #expect(restored.store.appliedIndex == original.store.appliedIndex)
        #expect(restored.store.clock == original.store.clock)
        #expect(restored.store.idempotencyWindowCount == original.store.idempotencyWindowCount)
        for query in Self.queries { #expect(restored.store.read(query) == original.store.read(query), "\(query)") }
        var continued = original
        for operation in Self.continuation {
            let left = continued.run(operation)
            let right = restored.run(operation)
            #expect(left == right, "\(operation)")
        }
        #expect(continued.store.snapshot() == restored.store.snapshot())
        #expect(continued.revisionsAndIDs("soft") == [Pair(2, 10)], "the window recognised nothing wrongly")
    }

    static let queries: [EventStoreQuery] = [
        .readStream(StreamReadRequest(stream: "orders", maximumCount: 10)), .readStream(StreamReadRequest(stream: "carts", maximumCount: 10)),
        .readStream(StreamReadRequest(stream: "gone", maximumCount: 10)), .readStream(StreamReadRequest(stream: "soft", maximumCount: 10)),
        .readStream(StreamReadRequest(stream: "$kv-default", maximumCount: 10)),
        .readAll(AllReadRequest(maximumCount: 16, filter: .everything)), .streamInfo("carts"), .streamInfo("soft"), .groups,
        .readParked(key: PersistentGroupKey(stream: "orders", group: "billing"), from: 0, maximumCount: 10),
        .subscriptionBatch(source: .all(.everything), after: .after(3), maximumCount: 10),
    ]

    @Test func restoreThroughTheSeam() throws {
        let original = Self.rich()
        var store = EventStore(limits: smallLimits)
        try store.restore(from: original.store.snapshot(), at: original.store.appliedIndex)
        #expect(store.snapshot() == original.store.snapshot())
        #expect(throws: BinaryDecodingError.self) { try store.restore(from: original.store.snapshot(), at: 3) }
        try store.restore(from: [], at: .zero)
        #expect(store.snapshot() == EventStore(limits: smallLimits).snapshot())
        #expect(store.appliedIndex == .zero)
        let container = StateMachineSnapshot(appliedIndex: original.store.appliedIndex, machines: [(.eventStore, original.store.snapshot())])
        let decoded = try StateMachineSnapshot(decoding: container.encoded(), maximumMachineBytes: 1 << 20)
        try store.restore(from: decoded.bytes(of: .eventStore)!, at: decoded.appliedIndex)
        #expect(store.stateDigest == original.store.stateDigest)
    }

    @Test func malformedSnapshotsAreErrors() {
        let bytes = Self.rich().store.snapshot()
        for cut in stride(from: 0, to: bytes.count, by: 1) {
            #expect(throws: BinaryDecodingError.self, "cut at \(cut)") { try EventStore(restoring: Array(bytes.prefix(cut)), limits: smallLimits) }
        }
        #expect(throws: BinaryDecodingError.self) { try EventStore(restoring: bytes + [0], limits: smallLimits) }
        var wrongFormat = bytes
        wrongFormat[0] = 2
        #expect(throws: BinaryDecodingError.self) { try EventStore(restoring: wrongFormat, limits: smallLimits) }
        // Tighter limits refuse a snapshot that exceeds them.
        var tight = smallLimits
        tight.maximumStreams = 3
        #expect(throws: BinaryDecodingError.self) { try EventStore(restoring: bytes, limits: tight) }
    }

    /// Seeded fuzzing: a mutated snapshot either throws or restores into a
    /// store that reads, takes commands and snapshots again without trapping.
    @Test func mutatedSnapshotsNeverTrap() {
        let seed: UInt64 = 0x5A5
        var random = SeededGenerator(seed: seed)
        let bytes = Self.rich().store.snapshot()
        var accepted = 0
        for _ in 0..<1_500 {
            var mutated = bytes
            for _ in 0...Int(random.next() % 2) {
                let offset = Int(random.next() % UInt64(mutated.count))
                mutated[offset] = UInt8(truncatingIfNeeded: random.next())
            }
            guard var store = try? EventStore(restoring: mutated, limits: smallLimits) else { continue }
            accepted += 1
            for query in Self.queries { _ = store.read(query) }
            var index = store.appliedIndex.rawValue
            for operation in Self.continuation {
                index += 1
                _ = store.apply(EventStoreCommand(recordedTime: store.clock, operation: operation), at: LogIndex(index))
            }
            _ = store.snapshot()
        }
        #expect(accepted > 0, "seed \(seed): some mutations (of payload bytes) restore")
    }
}
