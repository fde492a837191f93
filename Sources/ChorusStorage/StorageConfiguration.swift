/// Every limit of the storage layer, in one place, validated before use
/// (STYLE.md habit 5: a limit on everything).
///
/// The limits that shape what is written (record, batch and segment sizes)
/// apply to writes only. Reading uses the format's own bounds
/// (`SegmentFormat.maximumRecordBytes`, `SegmentFormat.maximumFileBytes`), so a
/// log written under a larger configuration still recovers under a smaller one:
/// a valid acknowledged record must never be mistaken for damage because a
/// setting changed.
public struct StorageConfiguration: Sendable, Equatable {
    /// The largest payload one record may carry.
    public var maximumRecordBytes: Int
    /// A segment is sealed and a new one started before the first batch that
    /// finds the active segment at least this large. A segment may therefore
    /// exceed it by at most one batch (`maximumBatchBytes`).
    public var segmentRolloverBytes: Int
    /// The most records one write + fsync may carry.
    public var maximumBatchRecords: Int
    /// The most encoded bytes (frames, headers included) one write + fsync may carry.
    public var maximumBatchBytes: Int
    /// The most records that may wait for the writer; appends beyond it are
    /// refused with `WriteAheadLogError.overloaded` rather than queued without bound.
    public var maximumPendingRecords: Int
    /// The most encoded bytes that may wait for the writer.
    public var maximumPendingBytes: Int
    /// The largest snapshot payload that may be written or loaded.
    public var maximumSnapshotBytes: Int
    /// How many snapshots to keep. Log segments are released only below the
    /// oldest kept snapshot, so that a newest snapshot found corrupt at start-up
    /// can fall back to an older one plus a longer log.
    public var retainedSnapshotCount: Int

    public init(
        maximumRecordBytes: Int = 1 << 20,
        segmentRolloverBytes: Int = 64 << 20,
        maximumBatchRecords: Int = 4096,
        maximumBatchBytes: Int = 8 << 20,
        maximumPendingRecords: Int = 65_536,
        maximumPendingBytes: Int = 64 << 20,
        maximumSnapshotBytes: Int = 1 << 30,
        retainedSnapshotCount: Int = 2
    ) {
        self.maximumRecordBytes = maximumRecordBytes
        self.segmentRolloverBytes = segmentRolloverBytes
        self.maximumBatchRecords = maximumBatchRecords
        self.maximumBatchBytes = maximumBatchBytes
        self.maximumPendingRecords = maximumPendingRecords
        self.maximumPendingBytes = maximumPendingBytes
        self.maximumSnapshotBytes = maximumSnapshotBytes
        self.retainedSnapshotCount = retainedSnapshotCount
    }

    public static let `default` = StorageConfiguration()

    /// The largest segment file a log under this configuration writes: a
    /// header, a segment filled to just below the rollover size, and one batch.
    public var maximumSegmentFileBytes: Int {
        SegmentFormat.headerBytes + segmentRolloverBytes + maximumBatchBytes
    }

    /// The bounds that validation enforces, named so tests can state them.
    public enum Bounds {
        public static let segmentRolloverBytesMinimum = 256
        public static let segmentRolloverBytesMaximum = 1 << 30
        public static let maximumBatchBytesMaximum = 256 << 20
        public static let maximumSnapshotBytesMaximum = 1 << 34
        public static let retainedSnapshotCountMaximum = 16
    }

    /// Checks every limit and how the limits relate; throws naming the first violation.
    public func validate() throws(StorageError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(StorageError) {
            if !condition { throw StorageError.invalidConfiguration(message()) }
        }
        try require(maximumRecordBytes >= 1, "maximumRecordBytes must be at least 1")
        try require(
            maximumRecordBytes <= SegmentFormat.maximumRecordBytes,
            "maximumRecordBytes \(maximumRecordBytes) exceeds the format limit \(SegmentFormat.maximumRecordBytes)")
        try require(
            segmentRolloverBytes >= Bounds.segmentRolloverBytesMinimum,
            "segmentRolloverBytes must be at least \(Bounds.segmentRolloverBytesMinimum)")
        try require(
            segmentRolloverBytes <= Bounds.segmentRolloverBytesMaximum,
            "segmentRolloverBytes must be at most \(Bounds.segmentRolloverBytesMaximum)")
        try require(maximumBatchRecords >= 1, "maximumBatchRecords must be at least 1")
        try require(
            maximumBatchBytes >= maximumRecordBytes + SegmentFormat.frameHeaderBytes,
            "maximumBatchBytes must hold one largest record and its frame header "
                + "(\(maximumRecordBytes + SegmentFormat.frameHeaderBytes) bytes)")
        try require(
            maximumBatchBytes <= Bounds.maximumBatchBytesMaximum,
            "maximumBatchBytes must be at most \(Bounds.maximumBatchBytesMaximum)")
        try require(
            maximumPendingRecords >= maximumBatchRecords,
            "maximumPendingRecords must be at least maximumBatchRecords")
        try require(
            maximumPendingBytes >= maximumBatchBytes, "maximumPendingBytes must be at least maximumBatchBytes")
        try require(
            maximumSegmentFileBytes <= SegmentFormat.maximumFileBytes,
            "segmentRolloverBytes + maximumBatchBytes exceeds the format's largest segment file")
        try require(maximumSnapshotBytes >= 1, "maximumSnapshotBytes must be at least 1")
        try require(
            maximumSnapshotBytes <= Bounds.maximumSnapshotBytesMaximum,
            "maximumSnapshotBytes must be at most \(Bounds.maximumSnapshotBytesMaximum)")
        try require(
            (1...Bounds.retainedSnapshotCountMaximum).contains(retainedSnapshotCount),
            "retainedSnapshotCount must be between 1 and \(Bounds.retainedSnapshotCountMaximum)")
    }
}
