import ChorusCore

/// The limits and timeouts of one `RaftReplica`, in ticks and counts (the
/// runtime converts its milliseconds once), validated together.
public struct ReplicaConfiguration: Sendable, Hashable {
    /// Writes queued or proposed and not yet answered.
    public var maximumPendingWrites: Int
    /// Reads waiting for a confirmation or for the applied index.
    public var maximumPendingReads: Int
    /// Commands proposed as one batch (one `propose(batch:)` call).
    public var maximumProposalBatch: Int
    /// A proposed write not seen applied within this answers `outcomeUnknown`.
    public var writeTimeoutTicks: UInt64
    /// A linearizable read not confirmed and served within this answers `readTimeout`.
    public var readTimeoutTicks: UInt64
    /// A read with a minimum index waits this long for the replica to catch up.
    public var catchUpWaitTicks: UInt64
    /// How often waiters are swept for their deadlines.
    public var expiryIntervalTicks: UInt64
    /// Compact the log once this many entries are applied past the last snapshot.
    public var snapshotThresholdEntries: Int
    /// How far this replica's clock may run slow against real time, in parts
    /// per thousand (the Raft configuration's bound): a lag measured in local
    /// ticks is stretched by it before it is compared with a staleness bound.
    public var clockDriftBoundPartsPerThousand: Int = 50
    /// A deliberate bug for a negative control (`InjectedBug`); nil but in the simulator.
    public var injectedBug: InjectedBug?

    public init(
        maximumPendingWrites: Int = 16_384, maximumPendingReads: Int = 16_384, maximumProposalBatch: Int = 1_024,
        writeTimeoutTicks: UInt64 = 500, readTimeoutTicks: UInt64 = 500, catchUpWaitTicks: UInt64 = 100,
        expiryIntervalTicks: UInt64 = 10, snapshotThresholdEntries: Int = 20_000, clockDriftBoundPartsPerThousand: Int = 50,
        injectedBug: InjectedBug? = nil
    ) {
        self.maximumPendingWrites = maximumPendingWrites
        self.maximumPendingReads = maximumPendingReads
        self.maximumProposalBatch = maximumProposalBatch
        self.writeTimeoutTicks = writeTimeoutTicks
        self.readTimeoutTicks = readTimeoutTicks
        self.catchUpWaitTicks = catchUpWaitTicks
        self.expiryIntervalTicks = expiryIntervalTicks
        self.snapshotThresholdEntries = snapshotThresholdEntries
        self.clockDriftBoundPartsPerThousand = clockDriftBoundPartsPerThousand
        self.injectedBug = injectedBug
    }

    public func validate() throws(ReplicaConfigurationError) {
        guard maximumPendingWrites >= 1 else { throw .invalid("maximumPendingWrites must be at least 1") }
        guard maximumPendingReads >= 1 else { throw .invalid("maximumPendingReads must be at least 1") }
        guard maximumProposalBatch >= 1 else { throw .invalid("maximumProposalBatch must be at least 1") }
        guard maximumProposalBatch <= maximumPendingWrites else {
            throw .invalid("maximumProposalBatch (\(maximumProposalBatch)) exceeds maximumPendingWrites")
        }
        guard writeTimeoutTicks >= 1, readTimeoutTicks >= 1, catchUpWaitTicks >= 1 else {
            throw .invalid("timeouts must be at least one tick")
        }
        guard expiryIntervalTicks >= 1, expiryIntervalTicks <= min(writeTimeoutTicks, readTimeoutTicks, catchUpWaitTicks)
        else { throw .invalid("expiryIntervalTicks must be between 1 and the shortest timeout") }
        guard snapshotThresholdEntries >= 1 else { throw .invalid("snapshotThresholdEntries must be at least 1") }
        guard (0...500).contains(clockDriftBoundPartsPerThousand) else {
            throw .invalid("clockDriftBoundPartsPerThousand must be in 0...500")
        }
    }
}

public enum ReplicaConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
