/// One record read back from the log.
public struct WriteAheadLogRecord: Sendable, Equatable {
    public var sequence: SequenceNumber
    public var payload: [UInt8]

    public init(sequence: SequenceNumber, payload: [UInt8]) {
        self.sequence = sequence
        self.payload = payload
    }
}

/// What recovery found in a log directory and what it repaired.
public struct LogRecoveryReport: Sendable, Equatable {
    public struct Segment: Sendable, Equatable {
        public var fileName: String
        public var firstSequence: SequenceNumber
        /// Records in the segment after recovery; nil for a stale segment (below
        /// the snapshot), which recovery does not read.
        public var recordCount: Int?
        /// The segment's size after recovery; nil for a stale segment.
        public var byteCount: Int?
    }

    /// The segments in sequence order, stale ones first.
    public var segments: [Segment]
    /// How many leading segments lie wholly below the snapshot and were not read.
    public var staleSegmentCount: Int
    /// What ended the last segment; `.clean` when it ended exactly after a frame.
    public var tail: SegmentScanner.Tail
    /// A final segment file whose header was never completely written, removed
    /// (or, when inspecting, that would be removed).
    public var tornSegmentFile: String?
    /// Files in the log directory that are not segments; left alone.
    public var ignoredFiles: [String]
    /// The sequence number the next appended record takes.
    public var nextSequence: SequenceNumber
    /// Whether the repairs above were carried out (false when only inspecting).
    public var repaired: Bool

    /// Bytes cut from the end of the last segment.
    public var truncatedBytes: Int {
        switch tail {
        case .clean: 0
        case .zeroFilled(_, let count), .tornRecord(_, let count, _), .uncertainRecord(_, let count, _): count
        }
    }
}

/// Reads a log directory, checks it against the recovery rules, and repairs
/// the one kind of damage those rules allow: the tail of the last segment.
///
/// ```
/// segment-…01.wal  segment-…40.wal  segment-…97.wal  segment-…e0.wal (torn header?)
///   stale (< S)      holds S ──────▶  sealed ───────▶  last: may end torn ──▶ truncate
/// ```
///
/// 1. Segment files are ordered by the sequence number in their names.
/// 2. A final file whose header is incomplete or invalid and which holds no
///    valid frame anywhere is a segment whose creation was interrupted (a
///    partial header, possibly followed by zeroed blocks). No record in it can
///    have been acknowledged, since records are acknowledged only after the
///    header is synced, so it is removed. An invalid header followed by a valid
///    frame is corruption.
/// 3. Segments wholly below the snapshot's coverage `S` are stale: not read,
///    left for `releaseSegments`. Reading starts at the last segment whose first
///    sequence is at most `S`; if there is none, records are missing.
/// 4. Every segment from there on is scanned (`SegmentScanner`). Each must start
///    exactly where the previous one ended: a gap is a missing middle segment.
/// 5. The last segment's torn or zero-filled tail is truncated and the
///    truncation synced.
///
/// Any other finding throws `StorageCorruption`, and nothing is changed.
enum LogRecovery {
    enum Mode {
        /// Carry out the repairs.
        case repair
        /// Report only; change nothing on disk.
        case inspect
    }

    struct Outcome {
        var records: [WriteAheadLogRecord]
        var report: LogRecoveryReport
    }

    static func recover(
        directory: String, fileSystem: any StorageFileSystem, coveredBelow: SequenceNumber, mode: Mode,
        collectRecords: Bool
    ) throws(StorageError) -> Outcome {
        let names: [String]
        do { names = try fileSystem.contentsOfDirectory(atPath: directory) } catch { throw .io(error) }
        var segments: [(first: SequenceNumber, name: String)] = []
        var ignoredFiles: [String] = []
        for name in names {
            if let first = SegmentFormat.firstSequence(fromFileName: name) {
                segments.append((first, name))
            } else {
                ignoredFiles.append(name)
            }
        }
        segments.sort { $0.first < $1.first }

        // Step 2: a final segment whose creation was interrupted.
        var tornSegmentFile: String?
        var lastSegmentBytes: [UInt8]?
        if let last = segments.last {
            let bytes = try fileSystem.readWholeFile(join(directory, last.name), limit: SegmentFormat.maximumFileBytes)
            if isInterruptedCreation(bytes, firstSequence: last.first) {
                tornSegmentFile = last.name
                segments.removeLast()
            } else {
                lastSegmentBytes = bytes
            }
        }

        guard let firstSegment = segments.first else {
            guard coveredBelow == .first else {
                throw .corruption(StorageCorruption(file: directory, offset: 0, reason: .missingLog))
            }
            let report = LogRecoveryReport(
                segments: [], staleSegmentCount: 0, tail: .clean, tornSegmentFile: tornSegmentFile,
                ignoredFiles: ignoredFiles, nextSequence: .first, repaired: mode == .repair)
            try applyRepairs(report, directory: directory, fileSystem: fileSystem, mode: mode, lastValidEnd: nil)
            return Outcome(records: [], report: report)
        }

        // Step 3: where reading starts.
        guard let startIndex = segments.lastIndex(where: { $0.first <= coveredBelow }) else {
            throw .corruption(
                StorageCorruption(
                    file: join(directory, firstSegment.name), offset: 0,
                    reason: .missingRecords(from: coveredBelow, through: SequenceNumber(firstSegment.first.rawValue - 1))))
        }

        // Step 4: scan.
        var summaries: [LogRecoveryReport.Segment] = segments[..<startIndex].map {
            LogRecoveryReport.Segment(fileName: $0.name, firstSequence: $0.first, recordCount: nil, byteCount: nil)
        }
        var records: [WriteAheadLogRecord] = []
        var expected: SequenceNumber?
        var tail = SegmentScanner.Tail.clean
        var lastValidEnd = 0
        for index in startIndex..<segments.count {
            let segment = segments[index]
            let path = join(directory, segment.name)
            let isLast = index == segments.count - 1
            let bytes =
                if isLast, let cached = lastSegmentBytes { cached } else {
                    try fileSystem.readWholeFile(path, limit: SegmentFormat.maximumFileBytes)
                }
            let result: SegmentScanner.Result
            do { result = try SegmentScanner.scan(bytes, file: path, isLastSegment: isLast) } catch {
                throw .corruption(error)
            }
            guard result.firstSequence == segment.first else {
                throw .corruption(
                    StorageCorruption(
                        file: path, offset: 8,
                        reason: .nameDisagreesWithHeader(name: segment.first, header: result.firstSequence)))
            }
            if let expected, result.firstSequence != expected {
                let reason: StorageCorruption.Reason =
                    result.firstSequence > expected
                    ? .missingRecords(from: expected, through: SequenceNumber(result.firstSequence.rawValue - 1))
                    : .unexpectedSequence(expected: expected, found: result.firstSequence)
                throw .corruption(StorageCorruption(file: path, offset: 8, reason: reason))
            }
            if collectRecords {
                for record in result.records where record.sequence >= coveredBelow {
                    records.append(WriteAheadLogRecord(sequence: record.sequence, payload: Array(bytes[record.payloadRange])))
                }
            }
            summaries.append(
                LogRecoveryReport.Segment(
                    fileName: segment.name, firstSequence: segment.first, recordCount: result.records.count,
                    byteCount: result.validEndOffset))
            expected = result.nextSequence
            if isLast {
                tail = result.tail
                lastValidEnd = result.validEndOffset
            }
        }
        let nextSequence = expected ?? .first
        guard coveredBelow <= nextSequence else {
            throw .corruption(
                StorageCorruption(
                    file: join(directory, segments[segments.count - 1].name), offset: lastValidEnd,
                    reason: .snapshotAheadOfLog(coveredBelow: coveredBelow, logNext: nextSequence)))
        }
        let report = LogRecoveryReport(
            segments: summaries, staleSegmentCount: startIndex, tail: tail, tornSegmentFile: tornSegmentFile,
            ignoredFiles: ignoredFiles, nextSequence: nextSequence, repaired: mode == .repair)
        try applyRepairs(report, directory: directory, fileSystem: fileSystem, mode: mode, lastValidEnd: lastValidEnd)
        return Outcome(records: records, report: report)
    }

    /// Step 2's test: the header is not valid, and no byte offset holds a valid
    /// frame that could belong to this segment.
    static func isInterruptedCreation(_ bytes: [UInt8], firstSequence: SequenceNumber) -> Bool {
        guard case .failure = SegmentFormat.decodeHeader(bytes[...]) else { return false }
        if bytes.count < SegmentFormat.headerBytes { return true }
        return SegmentScanner.validFrameOffset(in: bytes, after: -1, expected: firstSequence) == nil
    }

    /// Step 5 and the removal of step 2, once everything has been checked.
    private static func applyRepairs(
        _ report: LogRecoveryReport, directory: String, fileSystem: any StorageFileSystem, mode: Mode,
        lastValidEnd: Int?
    ) throws(StorageError) {
        guard mode == .repair else { return }
        do {
            if let torn = report.tornSegmentFile {
                try fileSystem.removeFile(atPath: join(directory, torn))
                try fileSystem.synchronizeDirectory(atPath: directory)
            }
            if report.truncatedBytes > 0, let last = report.segments.last, let lastValidEnd {
                let file = try fileSystem.open(join(directory, last.fileName), mode: .readWrite)
                defer { fileSystem.close(file) }
                try fileSystem.truncate(file, toSize: lastValidEnd)
                try fileSystem.synchronize(file)
            }
        } catch {
            throw .io(error)
        }
    }
}
