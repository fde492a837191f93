import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct KeyValueFeedTests {
    @Test func changesBecomeFeedEventsInCommitOrder() {
        var store = EventStore(limits: smallLimits)
        let time = RecordedTime(microsecondsSinceEpoch: 5_000)
        let result = store.recordKeyValueChanges(
            [KeyValueChange(key: "user:1", version: 7, value: Array("alice".utf8)), KeyValueChange(key: "q\"", version: 7, value: nil)],
            recordedTime: time, at: 7)
        #expect(result == .keyValueChangesRecorded(KeyValueFeedOutcome(positions: [0, 1])))
        store.skip(index: 8)
        _ = store.recordKeyValueChanges(
            [KeyValueChange(keyspace: "carts", key: "c", version: 9, value: [1])], recordedTime: time, at: 9)
        guard case .events(let page) = store.readStream(StreamReadRequest(stream: "$kv-default", maximumCount: 10)) else {
            Issue.record("feed not readable")
            return
        }
        #expect(
            page.events == [
                RecordedEvent(
                    stream: "$kv-default", revision: 0, position: 0, id: EventID(high: 7, low: 0x6B76_0000_0000_0000), type: "$kv-put",
                    data: Array("alice".utf8), metadata: Array(#"{"key":"user:1","version":7}"#.utf8), contentType: .octetStream,
                    schemaVersion: 1, recordedTime: time),
                RecordedEvent(
                    stream: "$kv-default", revision: 1, position: 1, id: EventID(high: 7, low: 0x6B76_0000_0000_0001),
                    type: "$kv-delete", data: [], metadata: Array(#"{"key":"q\"","version":7}"#.utf8), contentType: .octetStream,
                    schemaVersion: 1, recordedTime: time),
            ])
        #expect(store.streamInfo("$kv-carts")?.nextRevision == 1)
        #expect(store.streamInfo("$kv-default")?.metadata == StreamMetadata(maximumCount: 5))
        #expect(store.appliedIndex == 9)
    }

    /// Retention: the feed keeps `keyValueChangeFeedMaxCount` changes, and the
    /// automatic scavenge keeps memory bounded however many changes arrive.
    @Test func retentionIsBounded() {
        var limits = smallLimits
        limits.automaticScavengeMinimumReclaimableEvents = 20
        var store = EventStore(limits: limits)
        var peak = 0
        for version in 1...500 as ClosedRange<UInt64> {
            _ = store.recordKeyValueChanges(
                [KeyValueChange(key: "k\(version % 7)", version: LogIndex(version), value: [UInt8(version % 256)])],
                recordedTime: RecordedTime(microsecondsSinceEpoch: Int64(version)), at: LogIndex(version))
            peak = Swift.max(peak, store.retainedEventCount)
        }
        #expect(peak <= 5 + 20, "retained at most maximumCount + the scavenge threshold, got \(peak)")
        guard case .events(let page) = store.readStream(StreamReadRequest(stream: "$kv-default", maximumCount: 10)) else {
            Issue.record("feed not readable")
            return
        }
        #expect(page.events.map(\.id.high) == [496, 497, 498, 499, 500])
        #expect(page.firstVisibleRevision == 495)
    }

    @Test func invalidChangesAreRefused() {
        var harness = Harness()
        #expect(
            harness.run(.recordKeyValueChanges([KeyValueChange(keyspace: "", key: "k", version: 1, value: nil)]))
                == .invalidEvent(InvalidEvent(streamIndex: nil, eventIndex: 0, problem: .invalidKeyValueChange("keyspace: a stream name must not be empty"))))
        #expect(
            harness.run(.recordKeyValueChanges([KeyValueChange(key: String(repeating: "k", count: 65), version: 1, value: nil)]))
                == .invalidEvent(InvalidEvent(streamIndex: nil, eventIndex: 0, problem: .invalidKeyValueChange("a key of 65 bytes exceeds 64"))))
        #expect(
            harness.run(.recordKeyValueChanges(Array(repeating: KeyValueChange(key: "k", version: 1, value: nil), count: 9)))
                == .appendTooLarge(AppendTooLarge(measure: .eventCount, actual: 9, limit: 8)))
        // Clients cannot write, delete or tombstone the feed.
        #expect(harness.append("$kv-default", .any, [1]) == .invalidStreamName("$kv-default", .reservedForSystemStreams))
        #expect(harness.run(.hardDelete(stream: "$kv-default", expected: .any)) == .invalidStreamName("$kv-default", .reservedForSystemStreams))
        // … but may change its retention.
        #expect(harness.run(.setMetadata(stream: "$kv-default", metadata: StreamMetadata(maximumCount: 2))) == .metadataSet(stream: "$kv-default"))
        #expect(harness.store.headPosition == 0)
    }
}
