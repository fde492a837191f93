import ChorusCore
import Foundation
import Synchronization
import Testing

@testable import ChorusStorage

@Suite struct WriteAheadLogTests {
    @Test func appendsGetConsecutiveNumbersAndSurviveReopening() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (log, recovered) = try WriteAheadLog.open(directory: directory.path, configuration: smallConfiguration)
        #expect(recovered.records.isEmpty)
        #expect(try await log.append(payload(0)) == 1)
        #expect(try await log.append(contentsOf: [payload(1), payload(2), []]) == 2...4)
        #expect(log.durableNextSequence == 5)
        await log.close()
        let again = try await readLog(directory.path)
        #expect(again.records.map(\.sequence) == [1, 2, 3, 4])
        #expect(again.records.map(\.payload) == [payload(0), payload(1), payload(2), []])
        #expect(again.report.nextSequence == 5)
    }

    @Test func concurrentWritersShareFsyncs() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let observed = Mutex<[SynchronizedBatch]>([])
        let (log, _) = try WriteAheadLog.open(
            directory: directory.path, configuration: .default,
            batchObserver: { batch in observed.withLock { $0.append(batch) } })
        let writers = 32
        let perWriter = 20
        let acknowledged = try await withThrowingTaskGroup(of: [SequenceNumber].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var mine: [SequenceNumber] = []
                    for index in 0..<perWriter { mine.append(try await log.append(payload(writer * 1000 + index))) }
                    return mine
                }
            }
            var all: [SequenceNumber] = []
            for try await part in group { all += part }
            return all
        }
        let statistics = log.statistics
        await log.close()
        #expect(acknowledged.sorted() == Array(SequenceNumber(1)...SequenceNumber(UInt64(writers * perWriter))))
        #expect(statistics.acknowledgedRecords == UInt64(writers * perWriter))
        // With 32 writers each waiting on its own append, batches form while the
        // previous fsync runs; one record per fsync would mean no group commit.
        #expect(statistics.fsyncCount < UInt64(writers * perWriter / 2), "fsyncs: \(statistics.fsyncCount)")
        #expect(statistics.batchRecordsMaximum > 1)
        let batches = observed.withLock { $0 }
        #expect(batches.count == Int(statistics.fsyncCount))
        #expect(batches.reduce(0) { $0 + $1.recordCount } == writers * perWriter)
        // Batches cover the sequence numbers in order, without gaps or overlaps.
        var next = SequenceNumber.first
        for batch in batches {
            #expect(batch.sequences.lowerBound == next)
            next = batch.sequences.upperBound.next
        }
        let recovered = try await readLog(directory.path, configuration: .default)
        #expect(recovered.records.count == writers * perWriter)
    }

    @Test func callbackAppendsReturnTheirNumbersAtOnceAndCompleteInOrder() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (log, _) = try WriteAheadLog.open(directory: directory.path, configuration: smallConfiguration)
        let completed = Mutex<[SequenceNumber]>([])
        var assigned: [ClosedRange<SequenceNumber>] = []
        for index in 0..<50 {
            assigned.append(
                try log.append(contentsOf: [payload(index)]) { result in
                    if case .success(let range) = result { completed.withLock { $0.append(range.lowerBound) } }
                })
        }
        #expect(assigned.map(\.lowerBound) == Array(SequenceNumber(1)...SequenceNumber(50)))
        await log.close()
        #expect(completed.withLock { $0 } == Array(SequenceNumber(1)...SequenceNumber(50)))
    }

    @Test func segmentsRollOverAndAreReleasedBelowACoveredSequence() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (log, _) = try WriteAheadLog.open(directory: directory.path, configuration: smallConfiguration)
        for index in 0..<200 { _ = try await log.append(payload(index)) }
        let files = log.segmentFileNames
        #expect(files.count > 5)
        #expect(try segmentFiles(directory.path) == files)
        #expect(log.statistics.segmentsCreated == UInt64(files.count - 1))
        // Every sealed segment stays within the rollover size plus one batch.
        for name in files {
            let size = try readFile(directory.file(name)).count
            #expect(size <= smallConfiguration.maximumSegmentFileBytes, "\(name): \(size) bytes")
        }
        let thirdFirst = try #require(SegmentFormat.firstSequence(fromFileName: files[3]))
        // Covering only part of segment 3 keeps it: its later records are still needed.
        let released = try log.releaseSegments(coveredBelow: thirdFirst.next)
        #expect(released == Array(files[..<3]))
        #expect(log.segmentFileNames == Array(files[3...]))
        #expect(try segmentFiles(directory.path) == Array(files[3...]))
        // The segment being written is never released, even when everything is covered.
        try log.releaseSegments(coveredBelow: log.durableNextSequence)
        #expect(log.segmentFileNames == [files.last!])
        _ = try await log.append(payload(1000))
        await log.close()
        let recovered = try await readLog(directory.path, coveredBelow: 201)
        #expect(recovered.records.map(\.payload) == [payload(1000)])
    }

    @Test func limitsRefuseOversizedAppendsWithTypedErrors() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StorageConfiguration(
            maximumRecordBytes: 100, segmentRolloverBytes: 1024, maximumBatchRecords: 4, maximumBatchBytes: 1024,
            maximumPendingRecords: 4, maximumPendingBytes: 1024)
        let (log, _) = try WriteAheadLog.open(directory: directory.path, configuration: configuration)
        await #expect(throws: WriteAheadLogError.recordTooLarge(bytes: 101, limit: 100)) {
            try await log.append([UInt8](repeating: 1, count: 101))
        }
        await #expect(throws: WriteAheadLogError.appendTooLarge(records: 5, encodedBytes: 5 * 16)) {
            try await log.append(contentsOf: Array(repeating: [], count: 5))
        }
        #expect(try await log.append(contentsOf: Array(repeating: [7], count: 4)) == 1...4)
        await log.close()
        await #expect(throws: WriteAheadLogError.closed) { try await log.append([1]) }
    }

    @Test func aFullQueueRefusesAppendsInsteadOfGrowing() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let configuration = StorageConfiguration(
            maximumRecordBytes: 100, segmentRolloverBytes: 1 << 20, maximumBatchRecords: 2, maximumBatchBytes: 1024,
            maximumPendingRecords: 2, maximumPendingBytes: 1024)
        // Hold the writer inside its first write so that appends pile up behind it.
        let fileSystem = BlockingFileSystem()
        let (log, _) = try WriteAheadLog.open(
            directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        fileSystem.blockWrites()
        let first = Mutex<Result<ClosedRange<SequenceNumber>, WriteAheadLogError>?>(nil)
        try log.append(contentsOf: [[1]]) { result in first.withLock { $0 = result } }
        fileSystem.waitUntilWriteIsBlocked()
        try log.append(contentsOf: [[2]]) { _ in }
        #expect(throws: WriteAheadLogError.overloaded(pendingRecords: 2, pendingBytes: 34)) {
            try log.append(contentsOf: [[3]]) { _ in }
        }
        fileSystem.releaseWrites()
        await log.close()
        #expect(first.withLock { $0 } == .success(1...1))
        #expect(try await readLog(directory.path, configuration: configuration).records.map(\.payload) == [[1], [2]])
    }

    @Test func closeDrainsAcceptedAppends() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (log, _) = try WriteAheadLog.open(directory: directory.path, configuration: smallConfiguration)
        let results = Mutex<[Bool]>([])
        for index in 0..<100 {
            try log.append(contentsOf: [payload(index)]) { result in
                results.withLock { $0.append((try? result.get()) != nil) }
            }
        }
        await log.close()
        await log.close()
        #expect(results.withLock { $0 } == Array(repeating: true, count: 100))
        #expect(try await readLog(directory.path).records.count == 100)
    }
}

/// A file system whose writes can be held, to fill the queue deterministically.
final class BlockingFileSystem: StorageFileSystem {
    private let base = PosixFileSystem()
    private let state = Mutex((blocking: false, blocked: false))
    private let entered = DispatchSemaphore(value: 0)
    private let release = DispatchSemaphore(value: 0)

    func blockWrites() { state.withLock { $0.blocking = true } }
    func waitUntilWriteIsBlocked() { entered.wait() }
    func releaseWrites() {
        state.withLock { $0.blocking = false }
        release.signal()
    }

    func write(_ file: StorageFile, _ bytes: [UInt8], at offset: Int) throws(StorageIOError) {
        let mustBlock = state.withLock { state in
            guard state.blocking, !state.blocked else { return false }
            state.blocked = true
            return true
        }
        if mustBlock {
            entered.signal()
            release.wait()
        }
        try base.write(file, bytes, at: offset)
    }

    func createDirectory(atPath path: String) throws(StorageIOError) { try base.createDirectory(atPath: path) }
    func contentsOfDirectory(atPath path: String) throws(StorageIOError) -> [String] {
        try base.contentsOfDirectory(atPath: path)
    }
    func open(_ path: String, mode: StorageOpenMode) throws(StorageIOError) -> StorageFile {
        try base.open(path, mode: mode)
    }
    func close(_ file: StorageFile) { base.close(file) }
    func size(of file: StorageFile) throws(StorageIOError) -> Int { try base.size(of: file) }
    func read(_ file: StorageFile, offset: Int, count: Int) throws(StorageIOError) -> [UInt8] {
        try base.read(file, offset: offset, count: count)
    }
    func truncate(_ file: StorageFile, toSize size: Int) throws(StorageIOError) { try base.truncate(file, toSize: size) }
    func synchronizeData(_ file: StorageFile) throws(StorageIOError) { try base.synchronizeData(file) }
    func synchronize(_ file: StorageFile) throws(StorageIOError) { try base.synchronize(file) }
    func rename(_ source: String, to destination: String) throws(StorageIOError) {
        try base.rename(source, to: destination)
    }
    func removeFile(atPath path: String) throws(StorageIOError) { try base.removeFile(atPath: path) }
    func synchronizeDirectory(atPath path: String) throws(StorageIOError) {
        try base.synchronizeDirectory(atPath: path)
    }
    func lockExclusively(_ path: String) throws(StorageIOError) -> StorageFile { try base.lockExclusively(path) }
}
