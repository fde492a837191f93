/// Counters a node exports as metrics. Read them with `WriteAheadLog.statistics`;
/// for per-batch figures (an fsync latency histogram, batch sizes) pass a
/// `batchObserver` when opening the log.
public struct WriteAheadLogStatistics: Sendable, Equatable {
    /// Records acknowledged as durable.
    public var acknowledgedRecords: UInt64 = 0
    /// Bytes written to segments by batches (frames, headers included).
    public var writtenBytes: UInt64 = 0
    /// `fdatasync` calls that made a batch durable. Syncs that create a segment are not counted here.
    public var fsyncCount: UInt64 = 0
    public var fsyncNanosecondsTotal: UInt64 = 0
    public var fsyncNanosecondsMaximum: UInt64 = 0
    /// The most records one fsync has made durable.
    public var batchRecordsMaximum: Int = 0
    public var segmentsCreated: UInt64 = 0
    public var segmentsReleased: UInt64 = 0

    public init() {}

    /// Average records per fsync: the group-commit factor.
    public var recordsPerFsync: Double {
        fsyncCount == 0 ? 0 : Double(acknowledgedRecords) / Double(fsyncCount)
    }
}

/// What one group commit did, reported to the `batchObserver` on the writer
/// thread right after the fsync and before the appends are acknowledged.
public struct SynchronizedBatch: Sendable, Equatable {
    public var sequences: ClosedRange<SequenceNumber>
    public var byteCount: Int
    /// Time spent in `pwrite`, creating a new segment included.
    public var writeNanoseconds: UInt64
    public var fsyncNanoseconds: UInt64
    /// Whether a new segment was started before this batch.
    public var startedSegment: Bool

    public var recordCount: Int { sequences.count }
}
