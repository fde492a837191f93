import ChorusCore
import Testing

@testable import ChorusEventStore

/// One command of every kind, with every optional part both present and absent.
let everyKindOfCommand: [EventStoreCommand] = {
    let key = PersistentGroupKey(stream: "orders", group: "billing")
    let operations: [EventStoreOperation] = [
        .append(
            StreamAppend(
                stream: "orders-1", expected: .any,
                events: [
                    ProposedEvent(
                        id: EventID(high: .max, low: 1), type: "OrderPlaced", data: Array("{\"a\":1}".utf8), metadata: [1],
                        contentType: .json, schemaVersion: 7),
                    ProposedEvent(id: EventID(high: 0, low: 0), type: "Blob", data: [], contentType: .octetStream),
                ])),
        .append(StreamAppend(stream: "é", expected: .noStream, events: [event(1)])),
        .append(StreamAppend(stream: "s", expected: .streamExists, events: [event(2)])),
        .append(StreamAppend(stream: "s", expected: .revision(StreamRevision(.max)), events: [event(3)])),
        .appendMultiple(
            MultiStreamAppend(
                writes: [StreamAppend(stream: "a", expected: .revision(4), events: [event(4)])],
                checks: [StreamCondition(stream: "b", expected: .noStream)])),
        .appendMultiple(MultiStreamAppend(writes: [], checks: [])),
        .softDelete(stream: "s", expected: .revision(9)),
        .hardDelete(stream: "s", expected: .any),
        .setMetadata(stream: "s", metadata: StreamMetadata(maximumCount: 3, maximumAge: Microseconds(50), truncateBefore: 2)),
        .setMetadata(stream: "s", metadata: .none),
        .recordKeyValueChanges([
            KeyValueChange(key: "k", version: 5, value: [1, 2]), KeyValueChange(keyspace: "x", key: "", version: 0, value: nil),
        ]),
        .createGroup(key: key, filter: nil, settings: PersistentGroupSettings(), start: .start),
        .createGroup(
            key: PersistentGroupKey(stream: .all, group: "g"),
            filter: EventFilter(streamNamePrefixes: ["a", "$kv-"], eventTypePrefixes: ["T"], includeSystemStreams: true),
            settings: PersistentGroupSettings(maximumRetryCount: 0, maximumConsumerCount: 1), start: .end),
        .createGroup(key: key, filter: EventFilter(), settings: PersistentGroupSettings(), start: .after(12)),
        .deleteGroup(key: key),
        .advanceCheckpoint(key: key, checkpoint: .start),
        .advanceCheckpoint(key: key, checkpoint: .after(77)),
        .parkEvent(key: key, position: 3, reason: "poison"),
        .replayParked(key: key),
        .advanceReplay(key: key, through: 4),
        .scavenge,
        .advanceClock,
    ]
    return operations.enumerated().map {
        EventStoreCommand(recordedTime: RecordedTime(microsecondsSinceEpoch: $0.offset % 2 == 0 ? 1_700_000_000_000_000 : -5), operation: $0.element)
    }
}()

@Suite struct CommandCodecTests {
    @Test func everyKindRoundTrips() throws {
        for command in everyKindOfCommand {
            #expect(try EventStoreCommand(decoding: command.encoded()[...]) == command, "\(command.operation)")
        }
    }

    /// Seeded property: random appends survive encode/decode unchanged.
    @Test func randomAppendsRoundTrip() throws {
        let seed: UInt64 = 0xE7E7
        var random = SeededGenerator(seed: seed)
        for round in 0..<300 {
            let events = (0..<Int(random.next() % 5)).map { _ in
                ProposedEvent(
                    id: EventID(high: random.next(), low: random.next()), type: "T\(random.next() % 100)",
                    data: (0..<Int(random.next() % 30)).map { _ in UInt8(truncatingIfNeeded: random.next()) },
                    metadata: (0..<Int(random.next() % 5)).map { _ in UInt8(truncatingIfNeeded: random.next()) },
                    contentType: random.chance(0.5) ? .json : .octetStream, schemaVersion: UInt32(truncatingIfNeeded: random.next()))
            }
            let expected: ExpectedState = [.any, .noStream, .streamExists, .revision(StreamRevision(random.next()))][Int(random.next() % 4)]
            let command = EventStoreCommand(
                recordedTime: RecordedTime(rawValue: Int64(bitPattern: random.next())),
                operation: .append(StreamAppend(stream: StreamName("s\(random.next() % 9)"), expected: expected, events: events)))
            #expect(try EventStoreCommand(decoding: command.encoded()[...]) == command, "seed \(seed) round \(round)")
        }
    }

    /// Every truncation, a trailing byte and every bad tag are errors, never traps.
    @Test func malformedInputIsAnError() {
        for command in everyKindOfCommand {
            let bytes = command.encoded()
            for cut in 0..<bytes.count {
                #expect(throws: BinaryDecodingError.self, "\(command.operation) cut at \(cut)") {
                    try EventStoreCommand(decoding: bytes[..<cut])
                }
            }
            #expect(throws: BinaryDecodingError.self) { try EventStoreCommand(decoding: (bytes + [0])[...]) }
        }
        func reason(_ bytes: [UInt8]) -> BinaryDecodingError.Reason? {
            do {
                _ = try EventStoreCommand(decoding: bytes[...])
                return nil
            } catch { return error.reason }
        }
        #expect(reason([2, 0, 13]) == .invalidValue("event-store command format 2"))
        #expect(reason([1, 0, 0]) == .invalidValue("event-store operation tag 0"))
        #expect(reason([1, 0, 15]) == .invalidValue("event-store operation tag 15"))
        // softDelete "s" with expected-state tag 4.
        #expect(reason([1, 0, 3, 1, 0x73, 4]) == .invalidValue("expected-state tag 4"))
        // setMetadata "s" with an unknown metadata flag.
        #expect(reason([1, 0, 5, 1, 0x73, 8]) == .invalidValue("metadata flags 8"))
        // append "s" any, one event with content type 3.
        #expect(reason([1, 0, 1, 1, 0x73, 0, 1] + Array(repeating: 0, count: 16) + [3, 1, 1, 0x54, 0, 0]) == .invalidValue("content type 3"))
        // A forged event count cannot make the decoder reserve memory.
        #expect(reason([1, 0, 1, 1, 0x73, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) == .lengthOutOfBounds(length: 0xFFFF_FFFF, limit: 0))
        // A forged length likewise.
        if case .truncated = reason([1, 0, 5, 0xFF, 0xFF, 0x7F]) {} else { Issue.record("forged length not refused") }
        // A command longer than maximumCommandBytes is refused before decoding.
        #expect(reason(Array(repeating: 1, count: EventStoreLimits.default.maximumCommandBytes + 1)) == .lengthOutOfBounds(length: UInt64(EventStoreLimits.default.maximumCommandBytes + 1), limit: EventStoreLimits.default.maximumCommandBytes))
    }

    /// Seeded fuzzing: mutated commands either decode or throw, and applying
    /// them to a populated store never traps.
    @Test func mutatedCommandsNeverTrap() {
        let seed: UInt64 = 0xF022
        var random = SeededGenerator(seed: seed)
        var harness = Harness()
        harness.append("orders", .any, [1, 2, 3])
        harness.run(.createGroup(key: PersistentGroupKey(stream: "orders", group: "billing"), filter: nil, settings: smallSettings, start: .start))
        for round in 0..<2_000 {
            var bytes = everyKindOfCommand[Int(random.next() % UInt64(everyKindOfCommand.count))].encoded()
            for _ in 0...Int(random.next() % 3) {
                let offset = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[offset] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: offset)
                default: if bytes.count > 1 { bytes.remove(at: offset) }
                }
            }
            harness.index += 1
            let result = harness.store.apply(bytes[...], at: LogIndex(harness.index))
            _ = result.code
            if round % 500 == 0 { #expect(harness.store.appliedIndex == LogIndex(harness.index), "seed \(seed) round \(round)") }
        }
        // The store still works, and its snapshot restores.
        #expect(harness.append("after", .any, [1]).isSuccess)
        #expect((try? EventStore(restoring: harness.store.snapshot(), limits: smallLimits))?.snapshot() == harness.store.snapshot())
    }
}
