import ChorusTesting
import ChorusCore
import Foundation
import Synchronization
import Testing

@testable import ChorusStorage

/// A failed fsync or write stops the log for good, and nothing after it is acknowledged.
@Suite struct FaultInjectionTests {
    @Test func aFailedFsyncFailsTheLogPermanentlyAndAcknowledgesNothingAfterIt() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        let (log, _) = try WriteAheadLog.open(
            directory: directory.path, configuration: smallConfiguration, fileSystem: fileSystem)
        for index in 0..<5 { _ = try await log.append(payload(index)) }
        let syncsSoFar = fileSystem.callCount(.synchronizeData)
        fileSystem.inject(.init(.synchronizeData, pathContains: ".wal", errorNumber: EIO))

        let expectedError = StorageIOError(
            .fdatasync, path: directory.file(SegmentFormat.fileName(firstSequence: 1)), errorNumber: EIO)
        await #expect(throws: WriteAheadLogError.failed(expectedError)) { try await log.append(payload(5)) }
        #expect(log.failure == expectedError)
        // The fault was a one-shot: the next fsync would succeed. The log must
        // not try it: later appends fail at once, without touching the disk.
        await #expect(throws: WriteAheadLogError.failed(expectedError)) { try await log.append(payload(6)) }
        #expect(throws: WriteAheadLogError.failed(expectedError)) { try log.append(contentsOf: [payload(7)]) { _ in } }
        #expect(fileSystem.callCount(.synchronizeData) == syncsSoFar + 1)
        #expect(log.durableNextSequence == 6)
        #expect(log.statistics.acknowledgedRecords == 5)
        await log.close()

        // Recovery from disk keeps every acknowledged record. The record whose
        // fsync failed may or may not be there; it was never acknowledged.
        let recovered = try await readLog(directory.path)
        #expect(Array(recovered.records.prefix(5).map(\.payload)) == (0..<5).map { payload($0) })
        #expect(recovered.records.count <= 6)
    }

    @Test func everythingQueuedBehindAFailedBatchFailsToo() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        // Batches of at most 10 records, and no segment rollover to use up fsyncs.
        let configuration = StorageConfiguration(maximumBatchRecords: 10)
        let (log, _) = try WriteAheadLog.open(
            directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        fileSystem.inject(.init(.synchronizeData, pathContains: ".wal", succeedingCalls: 3))
        let outcomes = Mutex<[SequenceNumber: Bool]>([:])
        for index in 0..<200 {
            do {
                let range = try log.append(contentsOf: [payload(index)]) { result in
                    outcomes.withLock { outcomes in
                        if case .success(let range) = result { outcomes[range.lowerBound] = true }
                    }
                }
                outcomes.withLock { outcomes in
                    if outcomes[range.lowerBound] == nil { outcomes[range.lowerBound] = false }
                }
            } catch {
                #expect(log.failure != nil, "appends are refused only once the log has failed")
            }
        }
        await log.close()
        let acknowledged = outcomes.withLock { $0 }.filter(\.value).keys.sorted()
        // Acknowledgements form a prefix: the three batches before the failure.
        #expect(acknowledged == Array(SequenceNumber(1)...SequenceNumber(UInt64(acknowledged.count))))
        #expect(log.statistics.fsyncCount == 3)
        #expect(UInt64(acknowledged.count) == log.statistics.acknowledgedRecords)
        #expect(acknowledged.count < 200)
        let recovered = try await readLog(directory.path, configuration: configuration)
        #expect(recovered.records.count >= acknowledged.count)
    }

    @Test func aTornWriteFailsTheLogAndRecoveryTruncatesIt() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        let (log, _) = try WriteAheadLog.open(
            directory: directory.path, configuration: .default, fileSystem: fileSystem)
        for index in 0..<3 { _ = try await log.append(payload(index)) }
        fileSystem.inject(.init(.write, pathContains: ".wal", writtenPrefixBytes: 21))
        await #expect(throws: WriteAheadLogError.self) { try await log.append(payload(3, length: 100)) }
        await log.close()
        let recovered = try await readLog(directory.path, configuration: .default)
        #expect(recovered.records.map(\.payload) == (0..<3).map { payload($0) })
        guard case .tornRecord(_, 21, _) = recovered.report.tail else {
            Issue.record("expected a 21-byte torn record, got \(recovered.report.tail)")
            return
        }
    }

    @Test func aFailureWhileStartingASegmentFailsTheLog() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        let (log, _) = try WriteAheadLog.open(
            directory: directory.path, configuration: smallConfiguration, fileSystem: fileSystem)
        fileSystem.inject(.init(.synchronizeDirectory, errorNumber: ENOSPC))
        var acknowledged = 0
        do {
            for index in 0..<1000 {
                _ = try await log.append(payload(index))
                acknowledged += 1
            }
            Issue.record("the log never needed a new segment")
        } catch {
            guard case .failed(let failure) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(failure.operation == .synchronizeDirectory && failure.errorNumber == ENOSPC)
        }
        await log.close()
        let recovered = try await readLog(directory.path)
        #expect(recovered.records.count == acknowledged)
        #expect(recovered.records.map(\.payload) == (0..<acknowledged).map { payload($0) })
    }
}
