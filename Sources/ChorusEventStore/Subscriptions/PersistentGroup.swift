/// A persistent subscription group's name within its source (KurrentDB's
/// "stream + group"): `orders` on stream `order-1`, or `audit` on `$all`.
public struct PersistentGroupKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The source stream's name, `$all` for `$all`.
    public var stream: StreamName
    public var group: String

    public init(stream: StreamName, group: String) {
        self.stream = stream
        self.group = group
    }

    public static func < (lhs: PersistentGroupKey, rhs: PersistentGroupKey) -> Bool {
        if lhs.stream != rhs.stream { return lhs.stream < rhs.stream }
        return lhs.group.utf8.lexicographicallyPrecedes(rhs.group.utf8)
    }

    public static func == (lhs: PersistentGroupKey, rhs: PersistentGroupKey) -> Bool {
        lhs.stream == rhs.stream && lhs.group.utf8.elementsEqual(rhs.group.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stream)
        for byte in group.utf8 { hasher.combine(byte) }
        hasher.combine(group.utf8.count)
    }

    /// The stream the group parks events in (KurrentDB's naming).
    public var parkedStream: StreamName { StreamName("$persistentsubscription-\(stream.text)::\(group)-parked") }

    public var description: String { "\(stream.text)::\(group)" }
}

/// Where a new group starts in its source.
public enum PersistentGroupStart: Hashable, Sendable {
    /// From the first event.
    case start
    /// After the events that exist when the group is created (resolved when the
    /// create command is applied, so every replica resolves it the same way).
    case end
    /// After the event at this position.
    case after(GlobalPosition)
}

/// A group's replicated settings; the leader's dispatcher interprets them.
public struct PersistentGroupSettings: Hashable, Sendable {
    /// Redeliveries of one event before it is parked (KurrentDB's rule: an event
    /// that fails with `retryCount < maximumRetryCount` is retried, else parked; 0
    /// parks on the first failure).
    public var maximumRetryCount: Int
    /// Consumers connected at once; more are refused.
    public var maximumConsumerCount: Int
    /// Ticks an event may stay unacknowledged before it counts as failed.
    public var messageTimeoutTicks: Int
    /// Unacknowledged events per consumer.
    public var maximumInFlightPerConsumer: Int
    /// Source events the dispatcher buffers ahead of its consumers.
    public var bufferSize: Int
    /// The dispatcher proposes a checkpoint once this many events were completed since the last one …
    public var checkpointAfterEvents: Int
    /// … or this many ticks after an unproposed completion.
    public var checkpointIntervalTicks: Int

    public init(
        maximumRetryCount: Int = 10, maximumConsumerCount: Int = 16, messageTimeoutTicks: Int = 30, maximumInFlightPerConsumer: Int = 16,
        bufferSize: Int = 512, checkpointAfterEvents: Int = 64, checkpointIntervalTicks: Int = 10
    ) {
        self.maximumRetryCount = maximumRetryCount
        self.maximumConsumerCount = maximumConsumerCount
        self.messageTimeoutTicks = messageTimeoutTicks
        self.maximumInFlightPerConsumer = maximumInFlightPerConsumer
        self.bufferSize = bufferSize
        self.checkpointAfterEvents = checkpointAfterEvents
        self.checkpointIntervalTicks = checkpointIntervalTicks
    }

    /// Why these settings are refused, or nil.
    public func problem(limits: EventStoreLimits) -> String? {
        func outside(_ name: String, _ value: Int, _ range: ClosedRange<Int>) -> String? {
            range.contains(value) ? nil : "\(name) \(value) is outside \(range.lowerBound)...\(range.upperBound)"
        }
        return outside("maximumRetryCount", maximumRetryCount, 0...limits.maximumRetryCountLimit)
            ?? outside("maximumConsumerCount", maximumConsumerCount, 1...limits.maximumConsumersPerGroup)
            ?? outside("messageTimeoutTicks", messageTimeoutTicks, 1...limits.maximumMessageTimeoutTicks)
            ?? outside("maximumInFlightPerConsumer", maximumInFlightPerConsumer, 1...limits.maximumInFlightPerConsumer)
            ?? outside("bufferSize", bufferSize, 1...limits.maximumDispatcherBufferedEvents)
            ?? outside("checkpointAfterEvents", checkpointAfterEvents, 1...limits.maximumCheckpointInterval)
            ?? outside("checkpointIntervalTicks", checkpointIntervalTicks, 1...limits.maximumCheckpointInterval)
    }
}

/// A group as the replicated machine holds it: its definition and the state
/// that must survive a leader change (the checkpoint and the parked-event
/// replay bounds). Which consumer holds which event is the leader's alone
/// (`PersistentSubscriptionDispatcher`).
///
///     parked stream:  … [replayedThrough ……… replayRequestedThrough) … nextRevision
///                        ^ done (truncated)   ^ to be redelivered       ^ parked since
public struct PersistentGroup: Hashable, Sendable {
    public var key: PersistentGroupKey
    public var source: SubscriptionSource
    public var settings: PersistentGroupSettings
    /// Every source event at or before the cursor is done (acknowledged,
    /// skipped or parked); the dispatcher of a new leader resumes after it.
    public var checkpoint: SubscriptionCursor
    /// Parked-stream revisions below this were asked to be replayed.
    public var replayRequestedThrough: StreamRevision
    /// Parked-stream revisions below this were replayed and are done; the parked
    /// stream is truncated before it.
    public var replayedThrough: StreamRevision

    public init(
        key: PersistentGroupKey, source: SubscriptionSource, settings: PersistentGroupSettings,
        checkpoint: SubscriptionCursor, replayRequestedThrough: StreamRevision = .zero,
        replayedThrough: StreamRevision = .zero
    ) {
        self.key = key
        self.source = source
        self.settings = settings
        self.checkpoint = checkpoint
        self.replayRequestedThrough = replayRequestedThrough
        self.replayedThrough = replayedThrough
    }
}
