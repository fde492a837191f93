import ChorusCore
import Dispatch
import Synchronization

/// A segmented write-ahead log of opaque records with group commit.
///
/// ```
///  callers (any thread)            writer thread (one per log)
///  append ──▶ queue ─────────────▶ take ≤ maximumBatchRecords / maximumBatchBytes
///  append ──▶ (bounded)            encode frames ─▶ pwrite ─▶ fdatasync ─▶ acknowledge all
///  append ──▶                      (next batch gathers while this one syncs)
/// ```
///
/// **Guarantees.**
/// - Records get consecutive sequence numbers in the order `append` is called
///   (across threads: the order appends take the internal lock).
/// - An append is acknowledged (its completion called with success, or its
///   `async` call returning) only after an `fdatasync` that covers it returned
///   successfully. Every record with a smaller sequence number is durable too.
/// - A failed write or fsync stops the log for good (`WriteAheadLogError.failed`):
///   the batch in flight, every queued append and every later append fail, and
///   nothing is retried. See `WriteAheadLogError.failed` for why.
///
/// **Group commit.** While one batch is being synced, new appends queue up;
/// the writer takes all of them (up to the batch limits) as the next batch, so
/// the number of records per fsync grows with the number of concurrent writers
/// instead of every writer paying for its own fsync (the "group commit" of
/// DeWitt et al., "Implementation Techniques for Main Memory Database Systems",
/// SIGMOD 1984; etcd and PostgreSQL do the same).
///
/// **Threads.** The writer is a dedicated system thread, so blocking I/O never
/// runs on an event loop. Completions run on the writer thread; they must be
/// short and must not block (an event-loop caller hops back with
/// `eventLoop.execute`). `async` callers are resumed from it.
///
/// **Building on it.** The log stores opaque bytes and never rewrites a record.
/// "Truncating" a suffix (a Raft follower overwriting entries from index i on a
/// conflict) is a new record that says so; replay applies records in sequence
/// order, so a later record supersedes what earlier ones said. The same goes
/// for hard state: the newest hard-state record wins. Compaction is a snapshot
/// plus `releaseSegments(coveredBelow:)`: anything still needed from records
/// below the snapshot's coverage must be in the snapshot itself or re-appended.
///
/// Call `close()` before dropping the last reference; the writer thread keeps
/// the log alive until then. The log takes no directory lock of its own: open
/// it through `DurableStorage`, which does, unless something else guarantees a
/// single writer.
public final class WriteAheadLog: Sendable {
    public let directory: String
    public let configuration: StorageConfiguration
    let fileSystem: any StorageFileSystem
    let shared: Mutex<SharedState>
    /// Signalled once for every time the writer went to sleep and must wake.
    let wakeUp = DispatchSemaphore(value: 0)
    let batchObserver: (@Sendable (SynchronizedBatch) -> Void)?

    typealias AppendResult = Result<ClosedRange<SequenceNumber>, WriteAheadLogError>

    enum Completion: Sendable {
        case callback(@Sendable (AppendResult) -> Void)
        case continuation(CheckedContinuation<AppendResult, Never>)

        func complete(_ result: AppendResult) {
            switch self {
            case .callback(let callback): callback(result)
            case .continuation(let continuation): continuation.resume(returning: result)
            }
        }
    }

    struct PendingAppend: Sendable {
        var firstSequence: SequenceNumber
        var payloads: [[UInt8]]
        var encodedBytes: Int
        var completion: Completion

        var sequences: ClosedRange<SequenceNumber> { firstSequence...firstSequence.advanced(by: payloads.count - 1) }
    }

    struct SegmentEntry: Sendable, Equatable {
        var firstSequence: SequenceNumber
        var fileName: String
    }

    struct SharedState: Sendable {
        var queue: [PendingAppend] = []
        var pendingRecords = 0
        var pendingBytes = 0
        /// The number the next append takes.
        var nextSequence: SequenceNumber
        /// Every record below this is durable and acknowledged.
        var durableNextSequence: SequenceNumber
        var failure: StorageIOError?
        var isClosing = false
        var writerIsSleeping = false
        var writerHasExited = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// Live segments in sequence order; the last is the one being written.
        var segments: [SegmentEntry]
        var statistics = WriteAheadLogStatistics()
    }

    private init(
        directory: String, configuration: StorageConfiguration, fileSystem: any StorageFileSystem,
        nextSequence: SequenceNumber, segments: [SegmentEntry],
        batchObserver: (@Sendable (SynchronizedBatch) -> Void)?
    ) {
        self.directory = directory
        self.configuration = configuration
        self.fileSystem = fileSystem
        self.batchObserver = batchObserver
        self.shared = Mutex(
            SharedState(nextSequence: nextSequence, durableNextSequence: nextSequence, segments: segments))
    }

    /// What `open` read back.
    public struct Recovered: Sendable {
        /// The records at or above `coveredBelow`, in sequence order.
        public var records: [WriteAheadLogRecord]
        public var report: LogRecoveryReport
    }

    /// Opens the log in `directory` (created if missing), recovers it, and
    /// starts the writer.
    ///
    /// - Parameters:
    ///   - coveredBelow: records below this number are covered by a snapshot:
    ///     they are neither read nor returned, and segments holding only such
    ///     records may be missing.
    ///   - batchObserver: called on the writer thread after every group commit.
    /// - Throws: `StorageError.corruption` when recovery finds damage it must not
    ///   repair (see `LogRecovery`), `.io` when a call fails.
    public static func open(
        directory: String, configuration: StorageConfiguration = .default,
        fileSystem: any StorageFileSystem = PosixFileSystem(), coveredBelow: SequenceNumber = .first,
        batchObserver: (@Sendable (SynchronizedBatch) -> Void)? = nil
    ) throws(StorageError) -> (log: WriteAheadLog, recovered: Recovered) {
        try configuration.validate()
        do { try fileSystem.createDirectory(atPath: directory) } catch { throw .io(error) }
        let outcome = try LogRecovery.recover(
            directory: directory, fileSystem: fileSystem, coveredBelow: coveredBelow, mode: .repair,
            collectRecords: true)
        let report = outcome.report
        var segments = report.segments.map { SegmentEntry(firstSequence: $0.firstSequence, fileName: $0.fileName) }

        let writer: SegmentWriter
        do {
            if let last = report.segments.last, let size = last.byteCount, let count = last.recordCount {
                let file = try fileSystem.open(join(directory, last.fileName), mode: .readWrite)
                writer = SegmentWriter(
                    fileSystem: fileSystem, directory: directory, configuration: configuration, active: file,
                    activeSize: size, activeRecordCount: count)
            } else {
                let file = try SegmentWriter.createSegment(
                    firstSequence: report.nextSequence, directory: directory, fileSystem: fileSystem)
                segments.append(
                    SegmentEntry(
                        firstSequence: report.nextSequence,
                        fileName: SegmentFormat.fileName(firstSequence: report.nextSequence)))
                writer = SegmentWriter(
                    fileSystem: fileSystem, directory: directory, configuration: configuration, active: file,
                    activeSize: SegmentFormat.headerBytes, activeRecordCount: 0)
            }
        } catch {
            throw .io(error)
        }
        let log = WriteAheadLog(
            directory: directory, configuration: configuration, fileSystem: fileSystem,
            nextSequence: report.nextSequence, segments: segments, batchObserver: batchObserver)
        startDetachedThread(name: "chorus-wal") { [log] in
            var writer = writer
            log.runWriter(&writer)
        }
        return (log, Recovered(records: outcome.records, report: report))
    }

    // MARK: Appending

    /// Appends one record and returns its sequence number once it is durable.
    ///
    /// Cancelling the calling task does not withdraw the record: once accepted,
    /// it is written.
    public func append(_ payload: [UInt8]) async throws(WriteAheadLogError) -> SequenceNumber {
        try await append(contentsOf: [payload]).lowerBound
    }

    /// Appends records as one unit (one queue entry, never split across
    /// batches) and returns their sequence numbers once all are durable.
    public func append(contentsOf payloads: [[UInt8]]) async throws(WriteAheadLogError) -> ClosedRange<SequenceNumber> {
        let result: AppendResult = await withCheckedContinuation { continuation in
            do throws(WriteAheadLogError) {
                _ = try enqueue(payloads, completion: .continuation(continuation))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Appends records and calls `completion` exactly once, on the writer
    /// thread, after they are durable or when the log has failed.
    ///
    /// - Returns: the sequence numbers the records took, known at once (a Raft
    ///   node can track which records a snapshot will cover before they are durable).
    /// - Throws: when the append is refused up front; `completion` is then never called.
    @discardableResult
    public func append(
        contentsOf payloads: [[UInt8]],
        completion: @escaping @Sendable (Result<ClosedRange<SequenceNumber>, WriteAheadLogError>) -> Void
    ) throws(WriteAheadLogError) -> ClosedRange<SequenceNumber> {
        try enqueue(payloads, completion: .callback(completion))
    }

    private func enqueue(_ payloads: [[UInt8]], completion: Completion) throws(WriteAheadLogError)
        -> ClosedRange<SequenceNumber>
    {
        precondition(!payloads.isEmpty, "append needs at least one record")
        var encodedBytes = 0
        for payload in payloads {
            guard payload.count <= configuration.maximumRecordBytes else {
                throw .recordTooLarge(bytes: payload.count, limit: configuration.maximumRecordBytes)
            }
            encodedBytes += SegmentFormat.frameBytes(payloadBytes: payload.count)
        }
        guard payloads.count <= configuration.maximumBatchRecords, encodedBytes <= configuration.maximumBatchBytes
        else { throw .appendTooLarge(records: payloads.count, encodedBytes: encodedBytes) }

        let (sequences, mustWake) = try shared.withLock {
            (state: inout SharedState) throws(WriteAheadLogError) -> (ClosedRange<SequenceNumber>, Bool) in
            if let failure = state.failure { throw .failed(failure) }
            if state.isClosing { throw .closed }
            guard state.pendingRecords + payloads.count <= configuration.maximumPendingRecords,
                state.pendingBytes + encodedBytes <= configuration.maximumPendingBytes
            else { throw .overloaded(pendingRecords: state.pendingRecords, pendingBytes: state.pendingBytes) }
            let append = PendingAppend(
                firstSequence: state.nextSequence, payloads: payloads, encodedBytes: encodedBytes,
                completion: completion)
            state.nextSequence = state.nextSequence.advanced(by: payloads.count)
            state.queue.append(append)
            state.pendingRecords += payloads.count
            state.pendingBytes += encodedBytes
            let mustWake = state.writerIsSleeping
            state.writerIsSleeping = false
            return (append.sequences, mustWake)
        }
        if mustWake { wakeUp.signal() }
        return sequences
    }

    // MARK: State

    /// The sequence number the next append will take.
    public var nextSequence: SequenceNumber { shared.withLock { $0.nextSequence } }

    /// Every record below this number is durable and acknowledged.
    public var durableNextSequence: SequenceNumber { shared.withLock { $0.durableNextSequence } }

    /// The I/O error that stopped the log, or nil while it works.
    public var failure: StorageIOError? { shared.withLock { $0.failure } }

    public var statistics: WriteAheadLogStatistics { shared.withLock { $0.statistics } }

    /// The live segment files in sequence order; the last is being written.
    public var segmentFileNames: [String] { shared.withLock { $0.segments.map(\.fileName) } }

    // MARK: Compaction

    /// Deletes the segments whose records all lie below `coveredBelow`: every
    /// segment followed by one that starts at or below it. The segment being
    /// written is never deleted.
    ///
    /// Blocking; call it off any event loop. Safe to call while appends run.
    /// - Returns: the deleted file names, oldest first.
    @discardableResult
    public func releaseSegments(coveredBelow: SequenceNumber) throws(StorageError) -> [String] {
        let released: [SegmentEntry] = shared.withLock { state in
            precondition(
                coveredBelow <= state.durableNextSequence,
                "cannot release below \(coveredBelow): only records below \(state.durableNextSequence) are durable")
            var count = 0
            while count + 1 < state.segments.count, state.segments[count + 1].firstSequence <= coveredBelow {
                count += 1
            }
            let released = Array(state.segments[..<count])
            state.segments.removeFirst(count)
            state.statistics.segmentsReleased += UInt64(count)
            return released
        }
        guard !released.isEmpty else { return [] }
        // Oldest first: if this stops half way, what remains is still a run of
        // segments that recovery reads from the snapshot's position.
        do {
            for segment in released {
                try fileSystem.removeFile(atPath: join(directory, segment.fileName))
            }
            try fileSystem.synchronizeDirectory(atPath: directory)
        } catch {
            throw .io(error)
        }
        return released.map(\.fileName)
    }

    // MARK: Closing

    /// Stops accepting appends, writes and syncs everything already accepted,
    /// acknowledges it, and stops the writer. Idempotent.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (hasExited, mustWake) = shared.withLock { state in
                state.isClosing = true
                if state.writerHasExited { return (true, false) }
                state.closeWaiters.append(continuation)
                let mustWake = state.writerIsSleeping
                state.writerIsSleeping = false
                return (false, mustWake)
            }
            if hasExited { continuation.resume() }
            if mustWake { wakeUp.signal() }
        }
    }
}
