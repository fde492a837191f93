/// Every size and count the event store bounds, in one place (the style
/// guide's habit 5): what a command may carry, what the store may hold, what a
/// read may return, and the idempotency window. A hostile or corrupt command,
/// snapshot or query cannot make the store allocate beyond these.
///
/// `problems` states how the limits must relate; `EventStore.init` traps on a
/// set with problems, so a node validates its configuration at start-up.
public struct EventStoreLimits: Sendable, Hashable {
    // MARK: Names

    /// A client stream name, in UTF-8 bytes.
    public var maximumStreamNameBytes: Int
    /// A system stream name (a parked stream's name embeds a stream name and a group name).
    public var maximumSystemStreamNameBytes: Int
    /// An event type, in UTF-8 bytes.
    public var maximumEventTypeBytes: Int
    /// A persistent subscription group's name.
    public var maximumGroupNameBytes: Int
    /// A key-value keyspace name (the change feed stream is `$kv-<keyspace>`).
    public var maximumKeyspaceNameBytes: Int
    /// A park reason or other operator text carried in a command.
    public var maximumReasonBytes: Int

    // MARK: Commands

    /// One event: type + data + metadata bytes. A larger event is refused with `appendTooLarge`.
    public var maximumEventBytes: Int
    /// All events of one append (single- or multi-stream) together.
    public var maximumAppendBytes: Int
    /// Events in one append (all streams together).
    public var maximumEventsPerAppend: Int
    /// Streams named by one multi-stream append (written and check-only together).
    public var maximumStreamsPerMultiAppend: Int
    /// A whole encoded command; anything longer is refused before decoding.
    public var maximumCommandBytes: Int
    /// Key-value changes in one change-feed command.
    public var maximumKeyValueChangesPerCommand: Int
    /// A key of a key-value change.
    public var maximumKeyValueKeyBytes: Int

    // MARK: What the store holds

    /// Streams, including soft-deleted and tombstoned ones (tombstones are kept forever).
    public var maximumStreams: Int
    /// Events held in memory (not yet scavenged). At most `UInt32.max`: the stream
    /// index refers to events by 32-bit slots.
    public var maximumRetainedEvents: Int
    /// Bytes of type, data and metadata held in memory.
    public var maximumRetainedPayloadBytes: Int
    /// The payload arena's chunk size: payloads are packed into chunks of this
    /// size so that the store never copies one huge buffer; a payload larger
    /// than a chunk gets a chunk of its own.
    public var payloadChunkBytes: Int
    /// A scavenge runs by itself, inside the apply that crosses the threshold,
    /// once at least this many events are unreachable by count-based rules
    /// (deletes, `maximumCount`, `truncateBefore`) and at least as many as the
    /// reachable ones, so memory stays within twice the reachable events plus
    /// this. `Int.max` turns it off.
    public var automaticScavengeMinimumReclaimableEvents: Int
    /// The `maximumCount` a key-value change-feed stream is created with.
    public var keyValueChangeFeedMaxCount: Int

    // MARK: Idempotency window

    /// The id window remembers the ids of at most this many of the latest events
    /// of client streams. At least `maximumEventsPerAppend`, so one batch always fits.
    public var idempotencyWindowMaxEvents: Int
    /// … and forgets ids recorded longer ago than this (by recorded time).
    public var idempotencyWindowMaxAge: Microseconds

    // MARK: Reads

    /// Events in one read page; a larger requested limit is capped to this.
    public var maximumReadCount: Int
    /// Prefixes in one filter (stream-name and event-type prefixes each).
    public var maximumFilterPrefixes: Int
    /// Events one filtered `$all` read examines before it returns a page (with a
    /// continuation), so a sparse filter cannot make one read scan everything.
    public var maximumScannedEventsPerRead: Int

    // MARK: Persistent subscription groups

    public var maximumPersistentGroups: Int
    /// The largest `maximumRetryCount` a group may set.
    public var maximumRetryCountLimit: Int
    /// The largest `maximumConsumerCount` a group may set.
    public var maximumConsumersPerGroup: Int
    /// The largest number of unacknowledged events per consumer a group may set.
    public var maximumInFlightPerConsumer: Int
    /// The largest number of source events a dispatcher buffers ahead of its consumers.
    public var maximumDispatcherBufferedEvents: Int
    /// The largest ack timeout, in ticks, a group may set.
    public var maximumMessageTimeoutTicks: Int
    /// The largest checkpoint interval (events or ticks) a group may set.
    public var maximumCheckpointInterval: Int

    public init(
        maximumStreamNameBytes: Int = 256,
        maximumSystemStreamNameBytes: Int = 512,
        maximumEventTypeBytes: Int = 256,
        maximumGroupNameBytes: Int = 128,
        maximumKeyspaceNameBytes: Int = 64,
        maximumReasonBytes: Int = 1_024,
        maximumEventBytes: Int = 1 << 20,
        maximumAppendBytes: Int = 4 << 20,
        maximumEventsPerAppend: Int = 4_096,
        maximumStreamsPerMultiAppend: Int = 64,
        maximumCommandBytes: Int = 6 << 20,
        maximumKeyValueChangesPerCommand: Int = 4_096,
        maximumKeyValueKeyBytes: Int = 4_096,
        maximumStreams: Int = 1 << 22,
        maximumRetainedEvents: Int = 1 << 26,
        maximumRetainedPayloadBytes: Int = 1 << 32,
        payloadChunkBytes: Int = 1 << 20,
        automaticScavengeMinimumReclaimableEvents: Int = 1 << 16,
        keyValueChangeFeedMaxCount: Int = 100_000,
        idempotencyWindowMaxEvents: Int = 1 << 18,
        idempotencyWindowMaxAge: Microseconds = .seconds(24 * 3_600),
        maximumReadCount: Int = 4_096,
        maximumFilterPrefixes: Int = 32,
        maximumScannedEventsPerRead: Int = 65_536,
        maximumPersistentGroups: Int = 1_024,
        maximumRetryCountLimit: Int = 1_000,
        maximumConsumersPerGroup: Int = 256,
        maximumInFlightPerConsumer: Int = 4_096,
        maximumDispatcherBufferedEvents: Int = 8_192,
        maximumMessageTimeoutTicks: Int = 1 << 20,
        maximumCheckpointInterval: Int = 1 << 20
    ) {
        self.maximumStreamNameBytes = maximumStreamNameBytes
        self.maximumSystemStreamNameBytes = maximumSystemStreamNameBytes
        self.maximumEventTypeBytes = maximumEventTypeBytes
        self.maximumGroupNameBytes = maximumGroupNameBytes
        self.maximumKeyspaceNameBytes = maximumKeyspaceNameBytes
        self.maximumReasonBytes = maximumReasonBytes
        self.maximumEventBytes = maximumEventBytes
        self.maximumAppendBytes = maximumAppendBytes
        self.maximumEventsPerAppend = maximumEventsPerAppend
        self.maximumStreamsPerMultiAppend = maximumStreamsPerMultiAppend
        self.maximumCommandBytes = maximumCommandBytes
        self.maximumKeyValueChangesPerCommand = maximumKeyValueChangesPerCommand
        self.maximumKeyValueKeyBytes = maximumKeyValueKeyBytes
        self.maximumStreams = maximumStreams
        self.maximumRetainedEvents = maximumRetainedEvents
        self.maximumRetainedPayloadBytes = maximumRetainedPayloadBytes
        self.payloadChunkBytes = payloadChunkBytes
        self.automaticScavengeMinimumReclaimableEvents = automaticScavengeMinimumReclaimableEvents
        self.keyValueChangeFeedMaxCount = keyValueChangeFeedMaxCount
        self.idempotencyWindowMaxEvents = idempotencyWindowMaxEvents
        self.idempotencyWindowMaxAge = idempotencyWindowMaxAge
        self.maximumReadCount = maximumReadCount
        self.maximumFilterPrefixes = maximumFilterPrefixes
        self.maximumScannedEventsPerRead = maximumScannedEventsPerRead
        self.maximumPersistentGroups = maximumPersistentGroups
        self.maximumRetryCountLimit = maximumRetryCountLimit
        self.maximumConsumersPerGroup = maximumConsumersPerGroup
        self.maximumInFlightPerConsumer = maximumInFlightPerConsumer
        self.maximumDispatcherBufferedEvents = maximumDispatcherBufferedEvents
        self.maximumMessageTimeoutTicks = maximumMessageTimeoutTicks
        self.maximumCheckpointInterval = maximumCheckpointInterval
    }

    public static let `default` = EventStoreLimits()

    /// The bytes one event adds to a command besides its payload, at most:
    /// 16 (id) + 1 (content type) + 5 (schema version) + 3 × 5 (lengths) + slack.
    static let encodedEventOverheadBytes = 48

    /// How this set breaks the relations the store relies on; empty when sound.
    public var problems: [String] {
        var problems: [String] = []
        func require(_ condition: Bool, _ message: String) { if !condition { problems.append(message) } }
        let positive: [(String, Int)] = [
            ("maximumStreamNameBytes", maximumStreamNameBytes), ("maximumEventTypeBytes", maximumEventTypeBytes),
            ("maximumGroupNameBytes", maximumGroupNameBytes), ("maximumKeyspaceNameBytes", maximumKeyspaceNameBytes),
            ("maximumReasonBytes", maximumReasonBytes), ("maximumEventBytes", maximumEventBytes),
            ("maximumEventsPerAppend", maximumEventsPerAppend), ("maximumStreamsPerMultiAppend", maximumStreamsPerMultiAppend),
            ("maximumKeyValueChangesPerCommand", maximumKeyValueChangesPerCommand), ("maximumKeyValueKeyBytes", maximumKeyValueKeyBytes),
            ("maximumStreams", maximumStreams), ("maximumRetainedEvents", maximumRetainedEvents), ("payloadChunkBytes", payloadChunkBytes),
            ("automaticScavengeMinimumReclaimableEvents", automaticScavengeMinimumReclaimableEvents),
            ("keyValueChangeFeedMaxCount", keyValueChangeFeedMaxCount), ("maximumReadCount", maximumReadCount), ("maximumFilterPrefixes", maximumFilterPrefixes),
            ("maximumPersistentGroups", maximumPersistentGroups), ("maximumConsumersPerGroup", maximumConsumersPerGroup),
            ("maximumInFlightPerConsumer", maximumInFlightPerConsumer), ("maximumDispatcherBufferedEvents", maximumDispatcherBufferedEvents),
            ("maximumMessageTimeoutTicks", maximumMessageTimeoutTicks), ("maximumCheckpointInterval", maximumCheckpointInterval),
        ]
        for (name, value) in positive { require(value > 0, "\(name) must be positive (is \(value))") }
        require(maximumRetryCountLimit >= 0, "maximumRetryCountLimit must not be negative")
        require(maximumEventTypeBytes < maximumEventBytes, "an event's type must fit in maximumEventBytes")
        require(maximumEventBytes <= maximumAppendBytes, "maximumEventBytes must not exceed maximumAppendBytes: one event is an append")
        let commandNeed = maximumAppendBytes + maximumEventsPerAppend * Self.encodedEventOverheadBytes
            + maximumStreamsPerMultiAppend * (maximumSystemStreamNameBytes + 16) + 64
        require(
            maximumCommandBytes >= commandNeed,
            "maximumCommandBytes (\(maximumCommandBytes)) must hold the largest append with its framing (\(commandNeed))")
        require(
            maximumStreamNameBytes + maximumGroupNameBytes + 32 <= maximumSystemStreamNameBytes,
            "maximumSystemStreamNameBytes must hold a parked stream's name: a stream name, a group name and 32 bytes")
        require(maximumKeyspaceNameBytes + 4 <= maximumSystemStreamNameBytes, "maximumSystemStreamNameBytes must hold $kv-<keyspace>")
        require(
            idempotencyWindowMaxEvents >= maximumEventsPerAppend,
            "idempotencyWindowMaxEvents must hold the largest batch, or a retry of it could never be recognised")
        require(idempotencyWindowMaxAge.rawValue > 0, "idempotencyWindowMaxAge must be positive")
        require(maximumRetainedEvents <= Int(UInt32.max), "maximumRetainedEvents must fit the 32-bit event slots")
        require(maximumStreams <= Int(UInt32.max), "maximumStreams must fit the 32-bit stream numbers")
        require(maximumEventsPerAppend <= maximumRetainedEvents, "one append must fit in the store")
        require(maximumAppendBytes <= maximumRetainedPayloadBytes, "one append's payload must fit in the store")
        require(payloadChunkBytes <= Int(UInt32.max), "payloadChunkBytes must fit 32-bit chunk offsets")
        require(maximumEventTypeBytes <= Int(UInt16.max), "maximumEventTypeBytes must fit 16-bit type lengths")
        require(
            maximumCommandBytes <= Int(UInt32.max) - Int(UInt16.max),
            "maximumCommandBytes must fit 32-bit payload offsets (system events are bounded by it)")
        require(keyValueChangeFeedMaxCount <= maximumRetainedEvents, "the change feed's retention must fit in the store")
        require(maximumReadCount <= maximumScannedEventsPerRead, "a filtered read must be able to scan at least one full page")
        return problems
    }
}
