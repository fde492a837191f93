import ChorusTesting
import ChorusCore
import Foundation
import Testing

@testable import ChorusStorage

@Suite struct DurableStorageTests {
    @Test func snapshotsPlusTheLogRestoreEverything() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (storage, recovered) = try await openStorage(directory.path, configuration: smallConfiguration)
        #expect(recovered.snapshot == nil && recovered.records.isEmpty)
        for index in 0..<120 { _ = try await storage.log.append(payload(index)) }
        try storage.saveSnapshot([1, 2, 3], coveringBelow: 101)
        for index in 120..<130 { _ = try await storage.log.append(payload(index)) }
        await storage.close()

        let (again, state) = try await openStorage(directory.path, configuration: smallConfiguration)
        #expect(state.snapshot == Snapshot(coveredBelow: 101, payload: [1, 2, 3]))
        #expect(state.records.map(\.sequence) == Array(SequenceNumber(101)...SequenceNumber(130)))
        #expect(state.records.map(\.payload) == (100..<130).map { payload($0) })
        await again.close()
    }

    @Test func snapshotsArePrunedAndSegmentsReleasedBelowTheOldestKept() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = smallConfiguration
        configuration.retainedSnapshotCount = 2
        let (storage, _) = try await openStorage(directory.path, configuration: configuration)
        for round in 1...4 {
            for index in 0..<100 { _ = try await storage.log.append(payload(round * 100 + index)) }
            try storage.saveSnapshot([UInt8(round)], coveringBelow: storage.log.durableNextSequence)
        }
        let snapshotNames = try FileManager.default.contentsOfDirectory(atPath: directory.file("snapshots")).sorted()
        #expect(snapshotNames == [SnapshotFormat.fileName(coveredBelow: 301), SnapshotFormat.fileName(coveredBelow: 401)])
        // Segments are kept from the one holding record 301 on, so that the older
        // snapshot still has its log.
        let firstKept = try #require(storage.log.segmentFileNames.first.flatMap(SegmentFormat.firstSequence(fromFileName:)))
        #expect(firstKept <= 301)
        #expect(storage.log.segmentFileNames.count >= 2)
        let secondKept = try #require(SegmentFormat.firstSequence(fromFileName: storage.log.segmentFileNames[1]))
        #expect(secondKept > 301)
        await storage.close()
    }

    @Test func aCorruptNewestSnapshotFallsBackToTheOlderOneAndALongerLog() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (storage, _) = try await openStorage(directory.path, configuration: smallConfiguration)
        for index in 0..<100 { _ = try await storage.log.append(payload(index)) }
        try storage.saveSnapshot([1], coveringBelow: 51)
        try storage.saveSnapshot([2], coveringBelow: 101)
        await storage.close()

        let newest = directory.file("snapshots/" + SnapshotFormat.fileName(coveredBelow: 101))
        var bytes = try readFile(newest)
        bytes[bytes.count - 1] ^= 0x01
        try writeFile(newest, bytes)

        let (again, state) = try await openStorage(directory.path, configuration: smallConfiguration)
        #expect(state.snapshot == Snapshot(coveredBelow: 51, payload: [1]))
        #expect(state.records.map(\.sequence) == Array(SequenceNumber(51)...SequenceNumber(100)))
        #expect(state.snapshotReport.corruptFiles.map(\.file) == [newest])
        #expect(state.snapshotReport.corruptFiles.first?.offset == SnapshotFormat.headerBytes)
        #expect(FileManager.default.fileExists(atPath: newest + ".corrupt"))
        #expect(!FileManager.default.fileExists(atPath: newest))
        await again.close()
    }

    @Test func aCrashBetweenTheTemporaryWriteAndTheRenameLeavesTheOldSnapshot() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let fileSystem = FaultInjectingFileSystem()
        let (storage, _) = try await openStorage(
            directory.path, configuration: smallConfiguration, fileSystem: fileSystem)
        for index in 0..<60 { _ = try await storage.log.append(payload(index)) }
        try storage.saveSnapshot([1], coveringBelow: 31)
        fileSystem.inject(.init(.rename, pathContains: "snapshot-"))
        #expect(throws: StorageError.self) { try storage.saveSnapshot([2], coveringBelow: 61) }
        let temporary = directory.file("snapshots/" + SnapshotFormat.fileName(coveredBelow: 61) + ".tmp")
        #expect(FileManager.default.fileExists(atPath: temporary), "the temporary file was written and synced")
        await storage.close()

        let (again, state) = try await openStorage(directory.path, configuration: smallConfiguration)
        #expect(state.snapshot == Snapshot(coveredBelow: 31, payload: [1]))
        #expect(state.records.map(\.sequence) == Array(SequenceNumber(31)...SequenceNumber(60)))
        #expect(state.snapshotReport.temporaryFiles == [SnapshotFormat.fileName(coveredBelow: 61) + ".tmp"])
        #expect(!FileManager.default.fileExists(atPath: temporary))
        await again.close()
    }

    @Test func aSecondOpenOfTheSameDirectoryIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (storage, _) = try await openStorage(directory.path)
        #expect(throws: StorageError.directoryLocked(path: directory.path)) {
            try DurableStorage.open(directory: directory.path)
        }
        await storage.close()
        let (again, _) = try await openStorage(directory.path)
        await again.close()
    }

    @Test func aSnapshotLargerThanTheLimitIsRefused() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = StorageConfiguration()
        configuration.maximumSnapshotBytes = 10
        let (storage, _) = try await openStorage(directory.path, configuration: configuration)
        _ = try await storage.log.append([1])
        #expect(throws: StorageError.snapshotTooLarge(bytes: 11, limit: 10)) {
            try storage.saveSnapshot([UInt8](repeating: 0, count: 11), coveringBelow: 2)
        }
        await storage.close()
    }

    /// A storage directory holding records 0, 1 and 2 in one segment: its path.
    func threeRecordSegment(in directory: TemporaryDirectory) async throws -> String {
        let (storage, _) = try await openStorage(directory.path)
        for index in 0..<3 { _ = try await storage.log.append(payload(index)) }
        await storage.close()
        return directory.file("wal/" + SegmentFormat.fileName(firstSequence: 1))
    }

    @Test func inspectionReportsWithoutRepairing() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let segment = try await threeRecordSegment(in: directory)
        let bytes = try readFile(segment)
        try writeFile(segment, Array(bytes.dropLast(5)))
        let inspection = try DurableStorage.inspect(directory: directory.path)
        #expect(inspection.logReport.nextSequence == 3)
        #expect(inspection.logReport.repaired == false)
        guard case .tornRecord(_, let count, .truncatedRecord(needed: 5)) = inspection.logReport.tail else {
            Issue.record("expected a torn record, got \(inspection.logReport.tail)")
            return
        }
        #expect(count == SegmentFormat.frameBytes(payloadBytes: 24) - 5)
        #expect(try readFile(segment).count == bytes.count - 5, "inspection must not truncate")
    }

    /// The final record complete but failing its checksum: recovery cuts it and
    /// says it may have been acknowledged; inspection says the same.
    @Test func aCompleteFinalRecordThatFailsItsChecksumIsReportedUncertain() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let segment = try await threeRecordSegment(in: directory)
        var bytes = try readFile(segment)
        bytes[bytes.count - 3] ^= 0x40
        try writeFile(segment, bytes)
        let inspection = try DurableStorage.inspect(directory: directory.path)
        #expect(inspection.logReport.tail.mayHoldAcknowledgedData)
        guard case .uncertainRecord(_, let count, .checksumMismatch) = inspection.logReport.tail else {
            Issue.record("expected an uncertain record, got \(inspection.logReport.tail)")
            return
        }
        #expect(count == SegmentFormat.frameBytes(payloadBytes: 24))
        let (again, recovered) = try await openStorage(directory.path)
        #expect(recovered.records.map(\.payload) == (0..<2).map { payload($0) })
        #expect(recovered.logReport.tail.mayHoldAcknowledgedData)
        await again.close()
    }

    /// `TERM` only rises, survives a reopen, and a damaged one is corruption.
    @Test func theRecordedTermRisesAndIsCheckedOnOpen() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (storage, recovered) = try await openStorage(directory.path)
        #expect(recovered.recordedTerm == .zero && storage.recordedTerm == .zero)
        try storage.raiseRecordedTerm(to: 5)
        try storage.raiseRecordedTerm(to: 3)
        #expect(storage.recordedTerm == 5)
        await storage.close()
        let (again, state) = try await openStorage(directory.path)
        #expect(state.recordedTerm == 5)
        await again.close()
        #expect(try DurableStorage.inspect(directory: directory.path).recordedTerm == 5)

        let file = directory.file(TermFile.fileName)
        var bytes = try readFile(file)
        bytes[6] ^= 1
        try writeFile(file, bytes)
        do {
            let (opened, _) = try await openStorage(directory.path)
            await opened.close()
            Issue.record("a damaged TERM file was accepted")
        } catch let error as StorageError {
            guard case .corruption(let corruption) = error else {
                Issue.record("expected corruption, got \(error)")
                return
            }
            #expect(corruption.file.hasSuffix("/TERM"))
        }
    }

    @Test func aSnapshotWithNoLogAtAllIsReported() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (storage, _) = try await openStorage(directory.path)
        _ = try await storage.log.append([1])
        try storage.saveSnapshot([9], coveringBelow: 2)
        await storage.close()
        try FileManager.default.removeItem(atPath: directory.file("wal"))
        try FileManager.default.createDirectory(atPath: directory.file("wal"), withIntermediateDirectories: false)
        await #expect(throws: StorageError.corruption(StorageCorruption(file: directory.file("wal"), offset: 0, reason: .missingLog))) {
            try await openStorage(directory.path)
        }
    }
}

@Suite struct PathTests {
    @Test func parentDirectories() {
        #expect(parentDirectory(of: "/a/b") == "/a")
        #expect(parentDirectory(of: "/a/b/") == "/a")
        #expect(parentDirectory(of: "/a") == "/")
        #expect(parentDirectory(of: "b") == ".")
        #expect(parentDirectory(of: "x/y") == "x")
    }
}

@Suite struct StorageConfigurationTests {
    @Test func theDefaultsAreValid() throws {
        try StorageConfiguration.default.validate()
        try smallConfiguration.validate()
    }

    @Test func theLimitsMustFitTogether() {
        func invalid(_ change: (inout StorageConfiguration) -> Void) -> Bool {
            var configuration = StorageConfiguration.default
            change(&configuration)
            do {
                try configuration.validate()
                return false
            } catch {
                if case .invalidConfiguration = error { return true }
                return false
            }
        }
        #expect(invalid { $0.maximumRecordBytes = 0 })
        #expect(invalid { $0.maximumRecordBytes = SegmentFormat.maximumRecordBytes + 1 })
        #expect(invalid { $0.maximumBatchBytes = $0.maximumRecordBytes + SegmentFormat.frameHeaderBytes - 1 })
        #expect(!invalid { $0.maximumBatchBytes = $0.maximumRecordBytes + SegmentFormat.frameHeaderBytes })
        #expect(invalid { $0.maximumPendingRecords = $0.maximumBatchRecords - 1 })
        #expect(invalid { $0.maximumPendingBytes = $0.maximumBatchBytes - 1 })
        #expect(invalid { $0.segmentRolloverBytes = StorageConfiguration.Bounds.segmentRolloverBytesMinimum - 1 })
        #expect(invalid { $0.segmentRolloverBytes = StorageConfiguration.Bounds.segmentRolloverBytesMaximum + 1 })
        #expect(invalid { $0.maximumBatchRecords = 0 })
        #expect(invalid { $0.retainedSnapshotCount = 0 })
        #expect(invalid { $0.maximumSnapshotBytes = 0 })
        // The largest segment a configuration can write is one recovery will read.
        var largest = StorageConfiguration.default
        largest.segmentRolloverBytes = StorageConfiguration.Bounds.segmentRolloverBytesMaximum
        largest.maximumBatchBytes = StorageConfiguration.Bounds.maximumBatchBytesMaximum
        largest.maximumPendingBytes = largest.maximumBatchBytes
        #expect(throws: Never.self) { try largest.validate() }
        #expect(largest.maximumSegmentFileBytes <= SegmentFormat.maximumFileBytes)
    }
}
