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
    public var maxStreamNameBytes: Int
    /// A system stream name (a parked stream's name embeds a stream name and a group name).
    public var maxSystemStreamNameBytes: Int
    /// An event type, in UTF-8 bytes.
    public var maxEventTypeBytes: Int
    /// A persistent subscription group's name.
    public var maxGroupNameBytes: Int
    /// A key-value keyspace name (the change feed stream is `$kv-<keyspace>`).
    public var maxKeyspaceNameBytes: Int
    /// A park reason or other operator text carried in a command.
    public var maxReasonBytes: Int

    // MARK: Commands

    /// One event: type + data + metadata bytes. A larger event is refused with `appendTooLarge`.
    public var maxEventBytes: Int
    /// All events of one append (single- or multi-stream) together.
    public var maxAppendBytes: Int
    /// Events in one append (all streams together).
    public var maxEventsPerAppend: Int
    /// Streams named by one multi-stream append (written and check-only together).
    public var maxStreamsPerMultiAppend: Int
    /// A whole encoded command; anything longer is refused before decoding.
    public var maxCommandBytes: Int
    /// Key-value changes in one change-feed command.
    public var maxKeyValueChangesPerCommand: Int
    /// A key of a key-value change.
    public var maxKeyValueKeyBytes: Int

    // MARK: What the store holds

    /// Streams, including soft-deleted and tombstoned ones (tombstones are kept forever).
    public var maxStreams: Int
    /// Events held in memory (not yet scavenged). At most `UInt32.max`: the stream
    /// index refers to events by 32-bit slots.
    public var maxRetainedEvents: Int
    /// Bytes of type, data and metadata held in memory.
    public var maxRetainedPayloadBytes: Int
    /// The payload arena's chunk size: payloads are packed into chunks of this
    /// size so that the store never copies one huge buffer; a payload larger
    /// than a chunk gets a chunk of its own.
    public var payloadChunkBytes: Int
    /// A scavenge runs by itself, inside the apply that crosses the threshold,
    /// once at least this many events are unreachable by count-based rules
    /// (deletes, `maxCount`, `truncateBefore`) and at least as many as the
    /// reachable ones, so memory stays within twice the reachable events plus
    /// this. `Int.max` turns it off.
    public var automaticScavengeMinimumReclaimableEvents: Int
    /// The `maxCount` a key-value change-feed stream is created with.
    public var keyValueChangeFeedMaxCount: Int

    // MARK: Idempotency window

    /// The id window remembers the ids of at most this many of the latest events
    /// of client streams. At least `maxEventsPerAppend`, so one batch always fits.
    public var idempotencyWindowMaxEvents: Int
    /// … and forgets ids recorded longer ago than this (by recorded time).
    public var idempotencyWindowMaxAge: Microseconds

    // MARK: Reads

    /// Events in one read page; a larger requested limit is capped to this.
    public var maxReadCount: Int
    /// Prefixes in one filter (stream-name and event-type prefixes each).
    public var maxFilterPrefixes: Int
    /// Events one filtered `$all` read examines before it returns a page (with a
    /// continuation), so a sparse filter cannot make one read scan everything.
    public var maxScannedEventsPerRead: Int

    // MARK: Persistent subscription groups

    public var maxPersistentGroups: Int
    /// The largest `maxRetryCount` a group may set.
    public var maxRetryCountLimit: Int
    /// The largest `maxConsumerCount` a group may set.
    public var maxConsumersPerGroup: Int
    /// The largest number of unacknowledged events per consumer a group may set.
    public var maxInFlightPerConsumer: Int
    /// The largest number of source events a dispatcher buffers ahead of its consumers.
    public var maxDispatcherBufferedEvents: Int
    /// The largest ack timeout, in ticks, a group may set.
    public var maxMessageTimeoutTicks: Int
    /// The largest checkpoint interval (events or ticks) a group may set.
    public var maxCheckpointInterval: Int

    public init(
        maxStreamNameBytes: Int = 256,
        maxSystemStreamNameBytes: Int = 512,
        maxEventTypeBytes: Int = 256,
        maxGroupNameBytes: Int = 128,
        maxKeyspaceNameBytes: Int = 64,
        maxReasonBytes: Int = 1_024,
        maxEventBytes: Int = 1 << 20,
        maxAppendBytes: Int = 4 << 20,
        maxEventsPerAppend: Int = 4_096,
        maxStreamsPerMultiAppend: Int = 64,
        maxCommandBytes: Int = 6 << 20,
        maxKeyValueChangesPerCommand: Int = 4_096,
        maxKeyValueKeyBytes: Int = 4_096,
        maxStreams: Int = 1 << 22,
        maxRetainedEvents: Int = 1 << 26,
        maxRetainedPayloadBytes: Int = 1 << 32,
        payloadChunkBytes: Int = 1 << 20,
        automaticScavengeMinimumReclaimableEvents: Int = 1 << 16,
        keyValueChangeFeedMaxCount: Int = 100_000,
        idempotencyWindowMaxEvents: Int = 1 << 18,
        idempotencyWindowMaxAge: Microseconds = .seconds(24 * 3_600),
        maxReadCount: Int = 4_096,
        maxFilterPrefixes: Int = 32,
        maxScannedEventsPerRead: Int = 65_536,
        maxPersistentGroups: Int = 1_024,
        maxRetryCountLimit: Int = 1_000,
        maxConsumersPerGroup: Int = 256,
        maxInFlightPerConsumer: Int = 4_096,
        maxDispatcherBufferedEvents: Int = 8_192,
        maxMessageTimeoutTicks: Int = 1 << 20,
        maxCheckpointInterval: Int = 1 << 20
    ) {
        self.maxStreamNameBytes = maxStreamNameBytes
        self.maxSystemStreamNameBytes = maxSystemStreamNameBytes
        self.maxEventTypeBytes = maxEventTypeBytes
        self.maxGroupNameBytes = maxGroupNameBytes
        self.maxKeyspaceNameBytes = maxKeyspaceNameBytes
        self.maxReasonBytes = maxReasonBytes
        self.maxEventBytes = maxEventBytes
        self.maxAppendBytes = maxAppendBytes
        self.maxEventsPerAppend = maxEventsPerAppend
        self.maxStreamsPerMultiAppend = maxStreamsPerMultiAppend
        self.maxCommandBytes = maxCommandBytes
        self.maxKeyValueChangesPerCommand = maxKeyValueChangesPerCommand
        self.maxKeyValueKeyBytes = maxKeyValueKeyBytes
        self.maxStreams = maxStreams
        self.maxRetainedEvents = maxRetainedEvents
        self.maxRetainedPayloadBytes = maxRetainedPayloadBytes
        self.payloadChunkBytes = payloadChunkBytes
        self.automaticScavengeMinimumReclaimableEvents = automaticScavengeMinimumReclaimableEvents
        self.keyValueChangeFeedMaxCount = keyValueChangeFeedMaxCount
        self.idempotencyWindowMaxEvents = idempotencyWindowMaxEvents
        self.idempotencyWindowMaxAge = idempotencyWindowMaxAge
        self.maxReadCount = maxReadCount
        self.maxFilterPrefixes = maxFilterPrefixes
        self.maxScannedEventsPerRead = maxScannedEventsPerRead
        self.maxPersistentGroups = maxPersistentGroups
        self.maxRetryCountLimit = maxRetryCountLimit
        self.maxConsumersPerGroup = maxConsumersPerGroup
        self.maxInFlightPerConsumer = maxInFlightPerConsumer
        self.maxDispatcherBufferedEvents = maxDispatcherBufferedEvents
        self.maxMessageTimeoutTicks = maxMessageTimeoutTicks
        self.maxCheckpointInterval = maxCheckpointInterval
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
            ("maxStreamNameBytes", maxStreamNameBytes), ("maxEventTypeBytes", maxEventTypeBytes),
            ("maxGroupNameBytes", maxGroupNameBytes), ("maxKeyspaceNameBytes", maxKeyspaceNameBytes),
            ("maxReasonBytes", maxReasonBytes), ("maxEventBytes", maxEventBytes),
            ("maxEventsPerAppend", maxEventsPerAppend), ("maxStreamsPerMultiAppend", maxStreamsPerMultiAppend),
            ("maxKeyValueChangesPerCommand", maxKeyValueChangesPerCommand), ("maxKeyValueKeyBytes", maxKeyValueKeyBytes),
            ("maxStreams", maxStreams), ("maxRetainedEvents", maxRetainedEvents), ("payloadChunkBytes", payloadChunkBytes),
            ("automaticScavengeMinimumReclaimableEvents", automaticScavengeMinimumReclaimableEvents),
            ("keyValueChangeFeedMaxCount", keyValueChangeFeedMaxCount), ("maxReadCount", maxReadCount), ("maxFilterPrefixes", maxFilterPrefixes),
            ("maxPersistentGroups", maxPersistentGroups), ("maxConsumersPerGroup", maxConsumersPerGroup),
            ("maxInFlightPerConsumer", maxInFlightPerConsumer), ("maxDispatcherBufferedEvents", maxDispatcherBufferedEvents),
            ("maxMessageTimeoutTicks", maxMessageTimeoutTicks), ("maxCheckpointInterval", maxCheckpointInterval),
        ]
        for (name, value) in positive { require(value > 0, "\(name) must be positive (is \(value))") }
        require(maxRetryCountLimit >= 0, "maxRetryCountLimit must not be negative")
        require(maxEventTypeBytes < maxEventBytes, "an event's type must fit in maxEventBytes")
        require(maxEventBytes <= maxAppendBytes, "maxEventBytes must not exceed maxAppendBytes: one event is an append")
        let commandNeed = maxAppendBytes + maxEventsPerAppend * Self.encodedEventOverheadBytes
            + maxStreamsPerMultiAppend * (maxSystemStreamNameBytes + 16) + 64
        require(
            maxCommandBytes >= commandNeed,
            "maxCommandBytes (\(maxCommandBytes)) must hold the largest append with its framing (\(commandNeed))")
        require(
            maxStreamNameBytes + maxGroupNameBytes + 32 <= maxSystemStreamNameBytes,
            "maxSystemStreamNameBytes must hold a parked stream's name: a stream name, a group name and 32 bytes")
        require(maxKeyspaceNameBytes + 4 <= maxSystemStreamNameBytes, "maxSystemStreamNameBytes must hold $kv-<keyspace>")
        require(
            idempotencyWindowMaxEvents >= maxEventsPerAppend,
            "idempotencyWindowMaxEvents must hold the largest batch, or a retry of it could never be recognised")
        require(idempotencyWindowMaxAge.rawValue > 0, "idempotencyWindowMaxAge must be positive")
        require(maxRetainedEvents <= Int(UInt32.max), "maxRetainedEvents must fit the 32-bit event slots")
        require(maxStreams <= Int(UInt32.max), "maxStreams must fit the 32-bit stream numbers")
        require(maxEventsPerAppend <= maxRetainedEvents, "one append must fit in the store")
        require(maxAppendBytes <= maxRetainedPayloadBytes, "one append's payload must fit in the store")
        require(payloadChunkBytes <= Int(UInt32.max), "payloadChunkBytes must fit 32-bit chunk offsets")
        require(maxEventTypeBytes <= Int(UInt16.max), "maxEventTypeBytes must fit 16-bit type lengths")
        require(
            maxCommandBytes <= Int(UInt32.max) - Int(UInt16.max),
            "maxCommandBytes must fit 32-bit payload offsets (system events are bounded by it)")
        require(keyValueChangeFeedMaxCount <= maxRetainedEvents, "the change feed's retention must fit in the store")
        require(maxReadCount <= maxScannedEventsPerRead, "a filtered read must be able to scan at least one full page")
        return problems
    }
}
