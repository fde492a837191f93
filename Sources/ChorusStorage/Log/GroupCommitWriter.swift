import Dispatch
import Synchronization
import ChorusCore

/// The writer thread's own state: the segment being written and a reusable
/// encoding buffer. Only the writer thread touches it after `open` hands it over.
struct SegmentWriter: Sendable {
    let fileSystem: any StorageFileSystem
    let directory: String
    let configuration: StorageConfiguration
    var active: StorageFile
    /// Bytes in the active segment, header included: where the next batch goes.
    var activeSize: Int
    var activeRecordCount: Int
    var buffer = ByteWriter()

    init(
        fileSystem: any StorageFileSystem, directory: String, configuration: StorageConfiguration,
        active: StorageFile, activeSize: Int, activeRecordCount: Int
    ) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.configuration = configuration
        self.active = active
        self.activeSize = activeSize
        self.activeRecordCount = activeRecordCount
    }

    /// Creates a segment whose first record will be `firstSequence`, with its
    /// header synced and its directory entry synced, before any record goes in.
    /// That order is what lets recovery remove a final segment with a partial
    /// header: no record in it can have been acknowledged.
    static func createSegment(
        firstSequence: SequenceNumber, directory: String, fileSystem: any StorageFileSystem
    ) throws(StorageIOError) -> StorageFile {
        let path = join(directory, SegmentFormat.fileName(firstSequence: firstSequence))
        let file = try fileSystem.open(path, mode: .createNew)
        do {
            try fileSystem.write(file, SegmentFormat.encodeHeader(firstSequence: firstSequence), at: 0)
            try fileSystem.synchronizeData(file)
            try fileSystem.synchronizeDirectory(atPath: directory)
        } catch {
            fileSystem.close(file)
            throw error
        }
        return file
    }

    /// Seals the active segment and starts a new one when the active segment
    /// has reached the rollover size. The active segment needs no sync here:
    /// every batch before this one was synced before it was acknowledged.
    mutating func rollIfNeeded(nextSequence: SequenceNumber) throws(StorageIOError) -> Bool {
        guard activeSize >= configuration.segmentRolloverBytes, activeRecordCount > 0 else { return false }
        let file = try Self.createSegment(firstSequence: nextSequence, directory: directory, fileSystem: fileSystem)
        fileSystem.close(active)
        active = file
        activeSize = SegmentFormat.headerBytes
        activeRecordCount = 0
        return true
    }

    func closeFiles() {
        fileSystem.close(active)
    }
}

extension WriteAheadLog {
    private enum Step {
        case write([PendingAppend])
        case sleep
        case exit([CheckedContinuation<Void, Never>])
    }

    /// The writer thread's loop: take a batch, write it, sync it, acknowledge
    /// it; sleep when there is nothing to do; exit once closing and drained.
    func runWriter(_ writer: inout SegmentWriter) {
        while true {
            let step: Step = shared.withLock { state in
                if !state.queue.isEmpty { return .write(takeBatch(from: &state)) }
                if state.isClosing {
                    state.writerHasExited = true
                    let waiters = state.closeWaiters
                    state.closeWaiters = []
                    return .exit(waiters)
                }
                state.writerIsSleeping = true
                return .sleep
            }
            switch step {
            case .write(let batch):
                commit(batch, with: &writer)
            case .sleep:
                wakeUp.wait()
            case .exit(let waiters):
                writer.closeFiles()
                for waiter in waiters { waiter.resume() }
                return
            }
        }
    }

    /// Takes queued appends in order up to the batch limits. Always takes at
    /// least one; `enqueue` has checked that any single append fits a batch.
    private func takeBatch(from state: inout SharedState) -> [PendingAppend] {
        var records = 0
        var bytes = 0
        var count = 0
        for append in state.queue {
            let wouldExceed =
                records + append.payloads.count > configuration.maximumBatchRecords
                || bytes + append.encodedBytes > configuration.maximumBatchBytes
            if count > 0 && wouldExceed { break }
            records += append.payloads.count
            bytes += append.encodedBytes
            count += 1
        }
        if count == state.queue.count {
            let batch = state.queue
            state.queue.removeAll(keepingCapacity: true)
            return batch
        }
        let batch = Array(state.queue[..<count])
        state.queue.removeFirst(count)
        return batch
    }

    private func commit(_ batch: [PendingAppend], with writer: inout SegmentWriter) {
        guard let first = batch.first, let last = batch.last else { return }
        writer.buffer.bytes.removeAll(keepingCapacity: true)
        for append in batch {
            for (offset, payload) in append.payloads.enumerated() {
                SegmentFormat.appendFrame(
                    sequence: append.firstSequence.advanced(by: offset), payload: payload, to: &writer.buffer)
            }
        }
        let byteCount = writer.buffer.count
        let sequences = first.firstSequence...last.sequences.upperBound
        let recordCount = sequences.count

        let clock = ContinuousClock()
        let started = clock.now
        let startedSegment: Bool
        let written: ContinuousClock.Instant
        do {
            startedSegment = try writer.rollIfNeeded(nextSequence: first.firstSequence)
            try writer.fileSystem.write(writer.active, writer.buffer.bytes, at: writer.activeSize)
            written = clock.now
            try writer.fileSystem.synchronizeData(writer.active)
        } catch {
            fail(with: error, inFlight: batch)
            return
        }
        let synchronized = clock.now
        writer.activeSize += byteCount
        writer.activeRecordCount += recordCount

        let event = SynchronizedBatch(
            sequences: sequences, byteCount: byteCount, writeNanoseconds: nanoseconds(written - started),
            fsyncNanoseconds: nanoseconds(synchronized - written), startedSegment: startedSegment)
        shared.withLock { state in
            precondition(
                state.durableNextSequence == sequences.lowerBound,
                "batches must become durable in sequence order")
            state.durableNextSequence = sequences.upperBound.next
            state.pendingRecords -= recordCount
            state.pendingBytes -= batch.reduce(0) { $0 + $1.encodedBytes }
            if startedSegment {
                state.segments.append(
                    SegmentEntry(
                        firstSequence: sequences.lowerBound,
                        fileName: SegmentFormat.fileName(firstSequence: sequences.lowerBound)))
                state.statistics.segmentsCreated += 1
            }
            state.statistics.acknowledgedRecords += UInt64(recordCount)
            state.statistics.writtenBytes += UInt64(byteCount)
            state.statistics.fsyncCount += 1
            state.statistics.fsyncNanosecondsTotal += event.fsyncNanoseconds
            state.statistics.fsyncNanosecondsMaximum = max(
                state.statistics.fsyncNanosecondsMaximum, event.fsyncNanoseconds)
            state.statistics.batchRecordsMaximum = max(state.statistics.batchRecordsMaximum, recordCount)
        }
        batchObserver?(event)
        for append in batch { append.completion.complete(.success(append.sequences)) }
    }

    /// Stops the log for good: the batch in flight and everything queued fail,
    /// and `enqueue` refuses all later appends. Never retried; see
    /// `WriteAheadLogError.failed`.
    private func fail(with error: StorageIOError, inFlight batch: [PendingAppend]) {
        let queued: [PendingAppend] = shared.withLock { state in
            state.failure = error
            let queued = state.queue
            state.queue.removeAll()
            state.pendingRecords = 0
            state.pendingBytes = 0
            return queued
        }
        for append in batch + queued { append.completion.complete(.failure(.failed(error))) }
    }
}

private func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
}
