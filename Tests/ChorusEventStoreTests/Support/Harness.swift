import ChorusCore
import ChorusEventStore

/// Small limits, so tests reach every bound quickly.
let smallLimits = EventStoreLimits(
    maximumStreamNameBytes: 64, maximumSystemStreamNameBytes: 256, maximumEventTypeBytes: 32, maximumGroupNameBytes: 32,
    maximumKeyspaceNameBytes: 16, maximumReasonBytes: 64, maximumEventBytes: 1_024, maximumAppendBytes: 4_096, maximumEventsPerAppend: 4,
    maximumStreamsPerMultiAppend: 8, maximumCommandBytes: 16_384, maximumKeyValueChangesPerCommand: 8, maximumKeyValueKeyBytes: 64,
    maximumStreams: 64, maximumRetainedEvents: 1_000, maximumRetainedPayloadBytes: 1 << 20, payloadChunkBytes: 512,
    automaticScavengeMinimumReclaimableEvents: Int.max, keyValueChangeFeedMaxCount: 5, idempotencyWindowMaxEvents: 8,
    idempotencyWindowMaxAge: Microseconds.seconds(60), maximumReadCount: 16, maximumFilterPrefixes: 4, maximumScannedEventsPerRead: 32,
    maximumPersistentGroups: 4, maximumRetryCountLimit: 5, maximumConsumersPerGroup: 4, maximumInFlightPerConsumer: 8,
    maximumDispatcherBufferedEvents: 16, maximumMessageTimeoutTicks: 100, maximumCheckpointInterval: 100)

/// An event with id `number` (a readable id: 0…0-number).
func event(_ number: UInt64, type: String = "Happened", data: [UInt8] = [1, 2, 3], schemaVersion: UInt32 = 1)
    -> ProposedEvent
{
    ProposedEvent(id: EventID(high: 0, low: number), type: type, data: data, metadata: [9], schemaVersion: schemaVersion)
}

/// A store with a log index and a clock that advance with every command.
/// Commands go through their binary encoding, so every test also exercises the codec.
struct Harness {
    var store: EventStore
    var index: UInt64 = 0
    /// Microseconds since the epoch stamped on the next command.
    var time: Int64 = 1_000_000_000

    init(limits: EventStoreLimits = smallLimits) { store = EventStore(limits: limits) }

    @discardableResult
    mutating func run(_ operation: EventStoreOperation, advancing microseconds: Int64 = 1) -> EventStoreResult {
        index += 1
        time += microseconds
        let command = EventStoreCommand(recordedTime: RecordedTime(microsecondsSinceEpoch: time), operation: operation)
        let bytes = command.encoded()
        precondition((try? EventStoreCommand(decoding: bytes[...], limits: store.limits)) == command, "codec round trip")
        return store.apply(bytes[...], at: LogIndex(index))
    }

    @discardableResult
    mutating func append(_ stream: StreamName, _ expected: ExpectedState, _ ids: [UInt64]) -> EventStoreResult {
        run(.append(StreamAppend(stream: stream, expected: expected, events: ids.map { event($0) })))
    }

    func read(_ stream: StreamName, maximumCount: Int = 16, asOf: GlobalPosition? = nil) -> StreamReadResult {
        store.readStream(StreamReadRequest(stream: stream, maximumCount: maximumCount, asOf: asOf))
    }

    /// The (revision, id) pairs a forward read returns, or nil when the read is not a page.
    func revisionsAndIDs(_ stream: StreamName) -> [Pair]? {
        guard case .events(let page) = read(stream) else { return nil }
        return page.events.map { Pair($0.revision.rawValue, $0.id.low) }
    }

    func allPositions(filter: EventFilter = .everything) -> [UInt64] {
        guard case .events(let page) = store.readAll(AllReadRequest(maximumCount: 16, filter: filter)) else { return [] }
        return page.events.map(\.position.rawValue)
    }
}

struct Pair: Hashable, CustomStringConvertible {
    var revision: UInt64
    var id: UInt64
    init(_ revision: UInt64, _ id: UInt64) {
        self.revision = revision
        self.id = id
    }
    var description: String { "\(revision):\(id)" }
}

/// An append outcome reduced to what a scenario pins down (not the id window's horizon).
struct Placement: Hashable, CustomStringConvertible {
    var revisions: ClosedRange<UInt64>
    var positions: ClosedRange<UInt64>
    var disposition: AppendDisposition

    init(_ revisions: ClosedRange<UInt64>, at positions: ClosedRange<UInt64>, _ disposition: AppendDisposition = .written) {
        self.revisions = revisions
        self.positions = positions
        self.disposition = disposition
    }

    init(_ outcome: AppendOutcome) {
        revisions = outcome.firstRevision.rawValue...outcome.lastRevision.rawValue
        positions = outcome.firstPosition.rawValue...outcome.lastPosition.rawValue
        disposition = outcome.disposition
    }

    var description: String { "\(revisions)@\(positions)\(disposition == .written ? "" : " retry")" }
}
