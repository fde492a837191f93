import ChorusCore

/// Bytes to append to this node's durable log (`DurableRecord` encoded).
public struct PersistEffect: Equatable, Sendable {
    public var bytes: [UInt8]
    /// Must be fsynced before any message or response of the same effects
    /// batch leaves.
    public var requiresSync: Bool
}

/// What one input to a `ReplicationNode` asks the runtime to do, in this
/// order (the contract):
///
///  1. **Persist** `persist` in order; if any record `requiresSync`, fsync
///     (a sync makes every earlier record durable too). A minted write, a
///     stored hint and a write acknowledged as durable are all synced, so a
///     message that depends on them never leaves before they are durable.
///  2. Then **send** `messages` (best effort: loss, duplication and
///     reordering are tolerated) and **complete** `responses`.
///  3. Call `tick()` at least by `nextDeadlineTick` (timers); calling it
///     every tick is always correct.
///
/// A message addressed to this node itself is handled inside the call, not
/// returned.
public struct ReplicationEffects: Sendable {
    public var persist: [PersistEffect] = []
    public var messages: [(to: NodeID, message: ReplicationMessage)] = []
    public var responses: [ClientResponse] = []
    public var nextDeadlineTick: UInt64?

    public init() {}

    public var requiresSync: Bool { persist.contains(where: \.requiresSync) }

    mutating func append(_ other: ReplicationEffects) {
        persist += other.persist
        messages += other.messages
        responses += other.responses
    }
}

/// Counters and gauges for the node's metrics (`/metrics`, `GET /v1/cluster`).
public struct ReplicationMetrics: Hashable, Sendable {
    public init() {}
    public var writesSucceeded = 0
    public var writesFailed = 0
    public var readsSucceeded = 0
    public var readsFailed = 0
    /// Writes leaving a key with more than `siblingWarningThreshold` siblings.
    public var siblingWarnings = 0
    public var siblingLimitRefusals = 0
    public var hintsStored = 0
    public var hintsDelivered = 0
    public var hintsDropped = 0
    public var hintsPending = 0
    public var readRepairsSent = 0
    public var tombstonesCollected = 0
    public var antiEntropyExchangesStarted = 0
    public var antiEntropyKeysRepaired = 0
    public var antiEntropyBytesSent = 0
    public var antiEntropyBytesReceived = 0
    /// Ticks from the start of the latest exchange this node began to its last message.
    public var antiEntropyLastExchangeTicks: UInt64 = 0
    public var causalPendingUnits = 0
    public var causalReadsParked = 0
    /// Causal mints waiting for the writes their session depends on.
    public var causalMintsParked = 0
    public var causalRetransmissions = 0
    public var originLogCount = 0
}
