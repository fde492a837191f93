import ChorusCore
import ChorusEventStore
import FuzzSupport

/// The event store's decoders: `EventStoreCommand` (every write in the log)
/// and the machine's snapshot (`EventStore(restoring:)`), whose contract is
/// that bytes "can make restore throw but never trap later".
///
/// Properties: a decoded command round-trips; a restored store's snapshot is
/// a fixed point; and a restored store keeps working: the same commands
/// applied to it and to its re-restored copy give the same results, reads
/// and scavenges do not trap, and the two end in the same state.
///
/// Input: a mode byte. 0: one command. 1: a snapshot, then chunks of commands
/// applied after it. 2: chunks of commands applied to an empty store, whose
/// snapshot is then restored and compared (stateful: reaches snapshots of
/// states the commands built).
enum EventStoreHarness {
    static let limits = EventStoreLimits(
        maximumEventsPerAppend: 16, maximumStreams: 64, maximumRetainedEvents: 256, keyValueChangeFeedMaxCount: 128,
        idempotencyWindowMaxEvents: 32, maximumPersistentGroups: 8)

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 3 {
        case 0: command(input.rest())
        case 1:
            let snapshot = input.chunk()
            guard let store = try? EventStore(restoring: snapshot, limits: limits) else { return }
            exercise(store, input.chunks(limit: 12))
        default:
            var store = EventStore(limits: limits)
            var index = LogIndex.zero
            for bytes in input.chunks(limit: 12) {
                command(bytes)
                index = index.next
                _ = store.apply(bytes[...], at: index)
            }
            exercise(store, [])
        }
    }

    static func command(_ bytes: [UInt8]) {
        guard let command = try? EventStoreCommand(decoding: bytes[...], limits: limits) else { return }
        Check.roundTrip(
            command, "EventStoreCommand", encode: { $0.encoded() },
            decode: { (bytes: [UInt8]) throws(BinaryDecodingError) in try EventStoreCommand(decoding: bytes[...], limits: limits) })
    }

    static func exercise(_ store: EventStore, _ commands: [[UInt8]]) {
        let snapshot = store.snapshot()
        var copy: EventStore
        do { copy = try EventStore(restoring: snapshot, limits: limits) } catch {
            preconditionFailure("an event store's own snapshot does not restore: \(error)")
        }
        precondition(copy.snapshot() == snapshot, "event-store snapshot is not a fixed point")
        var original = store
        var index = store.appliedIndex
        for bytes in commands {
            guard index.rawValue < UInt64.max - 1 else { return }
            index = index.next
            command(bytes)
            let first = original.apply(bytes[...], at: index)
            let second = copy.apply(bytes[...], at: index)
            precondition(first == second, "a re-restored event store answers a command differently")
        }
        for query in queries {
            precondition(original.read(query) == copy.read(query), "a re-restored event store reads differently")
        }
        if index.rawValue < UInt64.max - 1 {
            let scavenge = EventStoreCommand(recordedTime: original.clock, operation: .scavenge).encoded()
            _ = original.apply(scavenge[...], at: index.next)
            _ = copy.apply(scavenge[...], at: index.next)
        }
        precondition(original.snapshot() == copy.snapshot(), "a re-restored event store diverges")
    }

    static let queries: [EventStoreQuery] = [
        .readAll(AllReadRequest(maximumCount: 64, filter: .everything)),
        .readAll(AllReadRequest(direction: .backwards, from: .end, maximumCount: 8)),
        .readStream(StreamReadRequest(stream: "orders", maximumCount: 64)),
        .readStream(StreamReadRequest(stream: "orders", direction: .backwards, from: .end, maximumCount: 3, asOf: GlobalPosition(2))),
        .streamInfo("orders"),
        .groups,
        .group(PersistentGroupKey(stream: "orders", group: "g")),
        .readParked(key: PersistentGroupKey(stream: "orders", group: "g"), from: .zero, maximumCount: 8),
    ]

    static func seeds() -> [Seed] {
        func event(_ low: UInt64, _ type: String) -> ProposedEvent {
            ProposedEvent(id: EventID(high: 1, low: low), type: type, data: Array("{\"n\":\(low)}".utf8))
        }
        let time = RecordedTime(microsecondsSinceEpoch: 1_700_000_000_000_000)
        let group = PersistentGroupKey(stream: "orders", group: "g")
        let operations: [EventStoreOperation] = [
            .append(StreamAppend(stream: "orders", expected: .noStream, events: [event(1, "OrderPlaced"), event(2, "OrderPaid")])),
            .appendMultiple(MultiStreamAppend(
                writes: [StreamAppend(stream: "billing", expected: .any, events: [event(3, "Invoiced")])],
                checks: [StreamCondition(stream: "orders", expected: .revision(StreamRevision(1)))])),
            .setMetadata(stream: "orders", metadata: StreamMetadata(maximumCount: 10, maximumAge: .seconds(60), truncateBefore: nil)),
            .createGroup(key: group, filter: nil, settings: PersistentGroupSettings(), start: .start),
            .advanceCheckpoint(key: group, checkpoint: .after(GlobalPosition(1))),
            .parkEvent(key: group, position: GlobalPosition(1), reason: "poison"),
            .replayParked(key: group),
            .softDelete(stream: "billing", expected: .any),
            .hardDelete(stream: "gone", expected: .any),
            .advanceClock,
            .scavenge,
        ]
        let commands = operations.enumerated().map {
            EventStoreCommand(recordedTime: RecordedTime(microsecondsSinceEpoch: time.rawValue + Int64($0.offset)), operation: $0.element)
                .encoded()
        }
        var store = EventStore(limits: limits)
        for (position, command) in commands.enumerated() { _ = store.apply(command[...], at: LogIndex(UInt64(position) + 1)) }
        return commands.enumerated().map { Seed("command-\($0.offset)", [0] + $0.element) } + [
            Seed("snapshot-then-commands", [1] + FuzzInput.chunked([store.snapshot()] + Array(commands.prefix(3)))),
            Seed("empty-snapshot", [1] + FuzzInput.chunked([EventStore(limits: limits).snapshot()] + commands)),
            Seed("commands", [2] + FuzzInput.chunked(commands)),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventStore(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    EventStoreHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzEventStoreMain {
    static func main() { FuzzMain.run(seeds: EventStoreHarness.seeds, testOneInput: fuzzEventStore) }
}
