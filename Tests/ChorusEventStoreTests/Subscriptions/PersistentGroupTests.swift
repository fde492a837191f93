import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct PersistentGroupCommandTests {
    let key = PersistentGroupKey(stream: "orders", group: "billing")

    @Test func createWithStartsAndValidation() {
        var harness = Harness()
        harness.append("orders", .any, [1, 2, 3])
        guard case .groupCreated(let group) = harness.run(.createGroup(key: key, filter: nil, settings: smallSettings, start: .end)) else {
            Issue.record("create failed")
            return
        }
        #expect(group.checkpoint == .after(2))
        #expect(group.source == .stream("orders"))
        #expect(harness.run(.createGroup(key: key, filter: nil, settings: smallSettings, start: .start)) == .groupAlreadyExists(key))
        let other = PersistentGroupKey(stream: "orders", group: "audit")
        #expect(
            harness.run(.createGroup(key: other, filter: nil, settings: smallSettings, start: .after(9)))
                == .invalidGroup(other, reason: "start position p9 is beyond the head p3"))
        #expect(
            harness.run(.createGroup(key: other, filter: EventFilter(), settings: smallSettings, start: .start))
                == .invalidGroup(other, reason: "a filter applies to $all groups only"))
        #expect(
            harness.run(.createGroup(key: other, filter: nil, settings: smallSettings.with { $0.maximumRetryCount = 6 }, start: .start))
                == .invalidGroup(other, reason: "maximumRetryCount 6 is outside 0...5"))
        #expect(
            harness.run(.createGroup(key: other, filter: nil, settings: smallSettings.with { $0.maximumConsumerCount = 0 }, start: .start))
                == .invalidGroup(other, reason: "maximumConsumerCount 0 is outside 1...4"))
        let unnamed = PersistentGroupKey(stream: "orders", group: "")
        #expect(harness.run(.createGroup(key: unnamed, filter: nil, settings: smallSettings, start: .start)) == .invalidGroup(unnamed, reason: "group name: a stream name must not be empty"))
        let parkedSource = PersistentGroupKey(stream: key.parkedStream, group: "g")
        #expect(
            harness.run(.createGroup(key: parkedSource, filter: nil, settings: smallSettings, start: .start))
                == .invalidGroup(parkedSource, reason: "a parked stream cannot be a group's source"))
        let all = PersistentGroupKey(stream: .all, group: "everything")
        guard case .groupCreated(let allGroup) = harness.run(.createGroup(key: all, filter: nil, settings: smallSettings, start: .start)) else {
            Issue.record("$all group failed")
            return
        }
        #expect(allGroup.source == .all(.clientStreams))
        for name in ["g1", "g2"] {
            #expect(harness.run(.createGroup(key: PersistentGroupKey(stream: "x", group: name), filter: nil, settings: smallSettings, start: .start)).isSuccess)
        }
        let fifth = PersistentGroupKey(stream: "x", group: "g3")
        #expect(harness.run(.createGroup(key: fifth, filter: nil, settings: smallSettings, start: .start)) == .invalidGroup(fifth, reason: "the store holds the most groups it may (4)"))
        #expect(harness.store.read(.groups) == .groups([allGroup, group, harness.store.read(.group(PersistentGroupKey(stream: "x", group: "g1"))).groupValue!, harness.store.read(.group(PersistentGroupKey(stream: "x", group: "g2"))).groupValue!]))
    }

    @Test func checkpointsOnlyMoveForward() {
        var harness = Harness()
        harness.append("orders", .any, [1, 2, 3])
        harness.run(.createGroup(key: key, filter: nil, settings: smallSettings, start: .start))
        #expect(harness.run(.advanceCheckpoint(key: key, checkpoint: .after(1))) == .checkpointAdvanced(key: key, checkpoint: .after(1)))
        #expect(harness.run(.advanceCheckpoint(key: key, checkpoint: .after(0))) == .checkpointAdvanced(key: key, checkpoint: .after(1)))
        #expect(harness.run(.advanceCheckpoint(key: key, checkpoint: .start)) == .checkpointAdvanced(key: key, checkpoint: .after(1)))
        #expect(harness.run(.advanceCheckpoint(key: key, checkpoint: .after(3))) == .invalidGroup(key, reason: "checkpoint p3 is beyond the head p3"))
        let missing = PersistentGroupKey(stream: "orders", group: "nope")
        #expect(harness.run(.advanceCheckpoint(key: missing, checkpoint: .start)) == .groupNotFound(missing))
    }

    @Test func parkReplayAndDelete() throws {
        var harness = Harness()
        harness.append("orders", .any, [1, 2])
        harness.append("elsewhere", .any, [3])
        harness.run(.createGroup(key: key, filter: nil, settings: smallSettings, start: .start))
        #expect(harness.run(.parkEvent(key: key, position: 1, reason: "bad")) == .eventParked(ParkOutcome(key: key, position: 1, parkedRevision: 0)))
        #expect(harness.run(.parkEvent(key: key, position: 0, reason: "worse")) == .eventParked(ParkOutcome(key: key, position: 0, parkedRevision: 1)))
        #expect(harness.run(.parkEvent(key: key, position: 2, reason: "x")) == .invalidGroup(key, reason: "the event at p2 is not in the group's source"))
        #expect(harness.run(.parkEvent(key: key, position: 40, reason: "x")) == .eventNotFound(40))
        #expect(harness.run(.parkEvent(key: key, position: 0, reason: String(repeating: "r", count: 65))) == .invalidGroup(key, reason: "a park reason of 65 bytes exceeds 64"))
        // The parked stream is readable as a stream, and resolved by readParked.
        guard case .events(let parked) = harness.read(key.parkedStream) else {
            Issue.record("parked stream not readable")
            return
        }
        #expect(parked.events.map(\.type) == ["$parked", "$parked"])
        #expect(String(decoding: parked.events[0].data, as: UTF8.self) == #"{"stream":"orders","revision":1,"position":1,"eventId":"00000000-0000-0000-0000-000000000002"}"#)
        guard case .entries(let page) = harness.store.readParked(key, from: 0, maximumCount: 10) else {
            Issue.record("readParked failed")
            return
        }
        #expect(page.entries.map(\.position) == [1, 0])
        #expect(page.entries.map(\.reason) == ["bad", "worse"])
        #expect(page.entries.map { $0.event?.id.low } == [2, 1])
        #expect(harness.run(.replayParked(key: key)) == .replayRequested(key: key, through: 2))
        #expect(harness.run(.advanceReplay(key: key, through: 3)) == .invalidGroup(key, reason: "replay through r3 beyond the requested r2"))
        #expect(harness.run(.advanceReplay(key: key, through: 1)) == .replayAdvanced(key: key, through: 1))
        guard case .entries(let rest) = harness.store.readParked(key, from: 0, maximumCount: 10) else {
            Issue.record("readParked failed")
            return
        }
        #expect(rest.entries.map(\.parkedRevision) == [1], "replayed entries are truncated from the parked stream")
        #expect(harness.run(.deleteGroup(key: key)) == .groupDeleted(key))
        #expect(harness.run(.deleteGroup(key: key)) == .groupNotFound(key))
        #expect(harness.read(key.parkedStream) == .streamNotFound(key.parkedStream))
        guard case .groupCreated(let again) = harness.run(.createGroup(key: key, filter: nil, settings: smallSettings, start: .start)) else {
            Issue.record("recreate failed")
            return
        }
        #expect(again.replayRequestedThrough == 2 && again.replayedThrough == 2, "a new group does not replay its predecessor's parked events")
        #expect(harness.store.readParked(PersistentGroupKey(stream: "a", group: "b"), from: 0, maximumCount: 1) == .groupNotFound(PersistentGroupKey(stream: "a", group: "b")))
    }
}

extension EventStoreQueryResult {
    var groupValue: PersistentGroup? {
        if case .group(let group) = self { return group }
        return nil
    }
}


/// Settings within `smallLimits`.
let smallSettings = PersistentGroupSettings(
    maximumRetryCount: 2, maximumConsumerCount: 3, messageTimeoutTicks: 5, maximumInFlightPerConsumer: 2, bufferSize: 8,
    checkpointAfterEvents: 2, checkpointIntervalTicks: 4)

extension PersistentGroupSettings {
    func with(_ change: (inout PersistentGroupSettings) -> Void) -> PersistentGroupSettings {
        var copy = self
        change(&copy)
        return copy
    }
}
