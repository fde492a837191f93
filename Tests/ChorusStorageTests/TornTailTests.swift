import ChorusCore
import Foundation
import Testing

@testable import ChorusStorage

/// The torn-tail rule, byte by byte, on segments held in memory.
@Suite struct TornTailScannerTests {
    let payloads = (0..<10).map { payload($0, length: 20 + $0) }
    var segment: [UInt8] { makeSegment(first: 1, payloads: payloads) }
    /// Where the final record's frame starts.
    var finalRecordOffset: Int { makeSegment(first: 1, payloads: Array(payloads.dropLast())).count }

    @Test func truncationAtEveryByteOfTheFinalRecordDropsOnlyThatRecord() throws {
        let whole = segment
        for cut in finalRecordOffset..<whole.count {
            let result = try SegmentScanner.scan(Array(whole[..<cut]), file: "last", isLastSegment: true)
            #expect(result.records.count == 9, "cut at \(cut)")
            #expect(result.validEndOffset == finalRecordOffset, "cut at \(cut)")
            if cut == finalRecordOffset {
                #expect(result.tail == .clean)
            } else {
                guard case .tornRecord(let offset, let count, _) = result.tail else {
                    Issue.record("cut at \(cut): expected a torn record, got \(result.tail)")
                    continue
                }
                #expect(offset == finalRecordOffset && count == cut - finalRecordOffset, "cut at \(cut)")
            }
        }
    }

    /// A flipped bit leaves the final record complete but failing its check,
    /// which no byte of the format tells apart from damage after a sync: an
    /// uncertain tail. Only a flip in the length field that makes the record
    /// run past the end of the file reads as torn.
    @Test func everyFlippedBitInTheFinalRecordIsCutAsUncertainOrTorn() throws {
        let whole = segment
        let lengthField = (finalRecordOffset + 4)..<(finalRecordOffset + 8)
        for bit in (finalRecordOffset * 8)..<(whole.count * 8) {
            var damaged = whole
            damaged[bit / 8] ^= 1 << (bit % 8)
            let result = try SegmentScanner.scan(damaged, file: "last", isLastSegment: true)
            #expect(result.records.count == 9, "bit \(bit)")
            #expect(result.validEndOffset == finalRecordOffset, "bit \(bit)")
            switch result.tail {
            case .uncertainRecord(let offset, let count, _):
                #expect(offset == finalRecordOffset && count == whole.count - finalRecordOffset, "bit \(bit)")
                #expect(result.tail.mayHoldAcknowledgedData)
            case .tornRecord(_, _, .truncatedRecord) where lengthField.contains(bit / 8):
                #expect(!result.tail.mayHoldAcknowledgedData)
            default:
                Issue.record("bit \(bit): expected an uncertain record, got \(result.tail)")
            }
        }
    }

    @Test func aZeroFilledTailIsTruncatedAndKeepsEveryRecord() throws {
        for zeros in [1, 15, 16, 17, 100, 4096] {
            let result = try SegmentScanner.scan(
                segment + [UInt8](repeating: 0, count: zeros), file: "last", isLastSegment: true)
            #expect(result.records.count == 10, "\(zeros) zeros")
            #expect(result.tail == .zeroFilled(offset: segment.count, count: zeros), "\(zeros) zeros")
        }
    }

    /// Zeros from a sector boundary inside the final frame to the end of the
    /// file: sectors never written, so a torn write. Zeros that begin inside a
    /// sector the frame's start shares leave no whole unwritten sector inside
    /// the frame: the record is uncertain.
    @Test func aFinalRecordCompletedByZeroedSectorsIsATornTail() throws {
        let large = makeSegment(first: 1, payloads: Array(payloads.dropLast()) + [payload(9, length: 2_000)])
        for cut in [1_024, 1_536, 2_048] {
            let torn = Array(large[..<cut]) + [UInt8](repeating: 0, count: large.count - cut)
            let result = try SegmentScanner.scan(torn, file: "last", isLastSegment: true)
            #expect(result.records.count == 9, "cut at \(cut)")
            guard case .tornRecord(let offset, _, .checksumMismatch) = result.tail else {
                Issue.record("cut at \(cut): expected a torn record, got \(result.tail)")
                continue
            }
            #expect(offset == finalRecordOffset)
        }
        let short = Array(segment[..<(finalRecordOffset + 9)]) + [UInt8](repeating: 0, count: segment.count - finalRecordOffset - 9)
        let result = try SegmentScanner.scan(short, file: "last", isLastSegment: true)
        guard case .uncertainRecord(let offset, _, _) = result.tail else {
            Issue.record("expected an uncertain record, got \(result.tail)")
            return
        }
        #expect(offset == finalRecordOffset)
    }

    @Test func everyFlippedBitInAMiddleRecordIsCorruptionAtThatRecord() {
        let whole = segment
        let start = makeSegment(first: 1, payloads: Array(payloads.prefix(4))).count
        let end = makeSegment(first: 1, payloads: Array(payloads.prefix(5))).count
        for isLast in [true, false] {
            for bit in (start * 8)..<(end * 8) {
                var damaged = whole
                damaged[bit / 8] ^= 1 << (bit % 8)
                do {
                    let result = try SegmentScanner.scan(damaged, file: "segment-x.wal", isLastSegment: isLast)
                    Issue.record("bit \(bit), last \(isLast): damage accepted, tail \(result.tail)")
                } catch {
                    #expect(error.file == "segment-x.wal")
                    #expect(error.offset == start, "bit \(bit), last \(isLast)")
                }
            }
        }
    }

    @Test func aHoleFollowedByValidRecordsIsCorruption() {
        var damaged = segment
        let start = makeSegment(first: 1, payloads: Array(payloads.prefix(7))).count
        for index in start..<(start + 30) { damaged[index] = 0 }
        #expect(throws: StorageCorruption(file: "f", offset: start, reason: .checksumMismatch(stored: 0, computed: checksumOfZeroFrameHeader(damaged, at: start)))) {
            try SegmentScanner.scan(damaged, file: "f", isLastSegment: true)
        }
    }

    @Test func aSealedSegmentMayNotEndTornOrZeroFilled() {
        let whole = segment
        #expect(throws: StorageCorruption(file: "f", offset: finalRecordOffset, reason: .truncatedRecord(needed: 3))) {
            try SegmentScanner.scan(Array(whole.dropLast(3)), file: "f", isLastSegment: false)
        }
        #expect(throws: StorageCorruption(file: "f", offset: whole.count, reason: .unexpectedZeroBytes(count: 8))) {
            try SegmentScanner.scan(whole + [UInt8](repeating: 0, count: 8), file: "f", isLastSegment: false)
        }
    }

    @Test func aValidFrameWithTheWrongSequenceIsCorruptionEvenAtTheEnd() {
        var writer = ByteWriter()
        writer.writeRaw(makeSegment(first: 1, payloads: [payload(0), payload(1)]))
        let offset = writer.count
        SegmentFormat.appendFrame(sequence: 4, payload: payload(2), to: &writer)
        #expect(throws: StorageCorruption(file: "f", offset: offset, reason: .unexpectedSequence(expected: 3, found: 4))) {
            try SegmentScanner.scan(writer.bytes, file: "f", isLastSegment: true)
        }
    }

    private func checksumOfZeroFrameHeader(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        // A zeroed frame header declares length 0, so the checksum covers its 12 bytes after the checksum field.
        CRC32C.checksum(bytes[(offset + 4)..<(offset + 16)])
    }
}

/// The same rules through `WriteAheadLog.open`, on real files, with the repair
/// carried out and checked.
@Suite struct TornTailRecoveryTests {
    @Test func truncatingTheLastSegmentAtEveryByteOfItsFinalRecordRecoversTheRest() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = (0..<5).map { payload($0) }
        try await writeLog(directory.path, records, configuration: .default)
        let segmentPath = directory.file(try #require(try segmentFiles(directory.path).last))
        let whole = try readFile(segmentPath)
        let finalStart = whole.count - SegmentFormat.frameBytes(payloadBytes: records[4].count)
        for cut in finalStart..<whole.count {
            try writeFile(segmentPath, Array(whole[..<cut]))
            let recovered = try await readLog(directory.path, configuration: .default)
            #expect(recovered.records.map(\.payload) == Array(records.prefix(4)), "cut at \(cut)")
            #expect(recovered.report.truncatedBytes == cut - finalStart, "cut at \(cut)")
            #expect(try readFile(segmentPath).count == finalStart, "cut at \(cut): file not truncated")
        }
        // After the repair the log continues at the dropped record's number.
        let (log, _) = try WriteAheadLog.open(directory: directory.path)
        #expect(try await log.append(payload(99)) == 5)
        await log.close()
        #expect(try await readLog(directory.path).records.map(\.payload) == Array(records.prefix(4)) + [payload(99)])
    }

    @Test func aZeroFilledTailOrAFlippedBitInTheFinalRecordIsTruncatedOnDisk() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = (0..<4).map { payload($0) }
        try await writeLog(directory.path, records, configuration: .default)
        let segmentPath = directory.file(SegmentFormat.fileName(firstSequence: 1))
        let whole = try readFile(segmentPath)
        let finalStart = whole.count - SegmentFormat.frameBytes(payloadBytes: 24)

        try writeFile(segmentPath, whole + [UInt8](repeating: 0, count: 4096))
        var recovered = try await readLog(directory.path, configuration: .default)
        #expect(recovered.records.map(\.payload) == records)
        #expect(recovered.report.tail == .zeroFilled(offset: whole.count, count: 4096))
        #expect(try readFile(segmentPath) == whole)

        for bit in stride(from: finalStart * 8, to: whole.count * 8, by: 13) {
            var damaged = whole
            damaged[bit / 8] ^= 1 << (bit % 8)
            try writeFile(segmentPath, damaged)
            recovered = try await readLog(directory.path, configuration: .default)
            #expect(recovered.records.map(\.payload) == Array(records.prefix(3)), "bit \(bit)")
            #expect(try readFile(segmentPath) == Array(whole[..<finalStart]), "bit \(bit)")
        }
    }

    @Test func aFlippedBitInAMiddleRecordStopsRecoveryNamingFileAndOffset() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, (0..<6).map { payload($0) }, configuration: .default)
        let segmentPath = directory.file(try #require(try segmentFiles(directory.path).last))
        var bytes = try readFile(segmentPath)
        let third = SegmentFormat.headerBytes + 2 * SegmentFormat.frameBytes(payloadBytes: 24)
        bytes[third + 20] ^= 0x10
        try writeFile(segmentPath, bytes)
        let found = await corruption { () async throws(StorageError) in try await readLog(directory.path) }
        #expect(found?.file == segmentPath)
        #expect(found?.offset == third)
        #expect(found?.description.contains("segment-00000000000000000001.wal at byte \(third)") == true)
        // Nothing was changed: the damage is still there for a repair from peers.
        #expect(try readFile(segmentPath) == bytes)
    }

    @Test func anInterruptedSegmentCreationIsRemoved() async throws {
        let header = SegmentFormat.encodeHeader(firstSequence: 41)
        let leftovers: [[UInt8]] = [
            [], Array(header.prefix(10)), [UInt8](repeating: 0, count: 300),
            Array(header.prefix(17)) + [UInt8](repeating: 0, count: 4000),
        ]
        for leftover in leftovers {
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let records = (0..<40).map { payload($0) }
            try await writeLog(directory.path, records)
            let next = SegmentFormat.fileName(firstSequence: 41)
            try writeFile(directory.file(next), leftover)
            let recovered = try await readLog(directory.path)
            #expect(recovered.records.map(\.payload) == records, "leftover of \(leftover.count) bytes")
            #expect(recovered.report.tornSegmentFile == next)
            #expect(!(try segmentFiles(directory.path)).contains(next))
        }
    }

    @Test func aDamagedHeaderOnALastSegmentWithRecordsIsCorruption() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, (0..<3).map { payload($0) }, configuration: .default)
        let path = directory.file(SegmentFormat.fileName(firstSequence: 1))
        var bytes = try readFile(path)
        for index in 0..<SegmentFormat.headerBytes { bytes[index] = 0 }
        try writeFile(path, bytes)
        let found = await corruption { () async throws(StorageError) in
            try await readLog(directory.path, configuration: .default)
        }
        #expect(found?.file == path && found?.offset == 0)
        #expect(try readFile(path) == bytes, "nothing may be removed")
    }

    @Test func aMissingMiddleSegmentIsAGap() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, (0..<100).map { payload($0) })
        let files = try segmentFiles(directory.path)
        try #require(files.count >= 4)
        try FileManager.default.removeItem(atPath: directory.file(files[1]))
        let found = await corruption { () async throws(StorageError) in try await readLog(directory.path) }
        let missingFrom = try #require(SegmentFormat.firstSequence(fromFileName: files[1]))
        let nextFirst = try #require(SegmentFormat.firstSequence(fromFileName: files[2]))
        #expect(found?.file == directory.file(files[2]))
        #expect(found?.reason == .missingRecords(from: missingFrom, through: SequenceNumber(nextFirst.rawValue - 1)))
    }

    @Test func aMissingFirstSegmentIsAGapUnlessASnapshotCoversIt() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, (0..<100).map { payload($0) })
        let files = try segmentFiles(directory.path)
        try FileManager.default.removeItem(atPath: directory.file(files[0]))
        let second = try #require(SegmentFormat.firstSequence(fromFileName: files[1]))
        let found = await corruption { () async throws(StorageError) in try await readLog(directory.path) }
        #expect(found?.reason == .missingRecords(from: 1, through: SequenceNumber(second.rawValue - 1)))
        let recovered = try await readLog(directory.path, coveredBelow: second)
        #expect(recovered.records.first?.sequence == second)
        #expect(recovered.records.last?.sequence == 100)
    }

    @Test func staleSegmentsBelowTheSnapshotAreNotRead() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, (0..<100).map { payload($0) })
        let files = try segmentFiles(directory.path)
        try writeFile(directory.file(files[0]), [UInt8](repeating: 0xEE, count: 100))
        let third = try #require(SegmentFormat.firstSequence(fromFileName: files[2]))
        let recovered = try await readLog(directory.path, coveredBelow: third.next)
        #expect(recovered.report.staleSegmentCount == 2)
        #expect(recovered.records.map(\.sequence) == Array(third.next...SequenceNumber(100)))
    }

    @Test func headerProblemsInSealedSegmentsAreCorruption() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, (0..<100).map { payload($0) })
        let files = try segmentFiles(directory.path)
        let path = directory.file(files[1])
        let original = try readFile(path)
        var damaged = original
        damaged[9] ^= 1
        try writeFile(path, damaged)
        var found = await corruption { () async throws(StorageError) in try await readLog(directory.path) }
        #expect(found?.file == path && found?.offset == 0)

        // A header naming a different first sequence than the file name.
        let renamed = directory.file(SegmentFormat.fileName(firstSequence: 999))
        try writeFile(path, original)
        try FileManager.default.moveItem(atPath: directory.file(files.last!), toPath: renamed)
        found = await corruption { () async throws(StorageError) in try await readLog(directory.path) }
        #expect(found?.file == renamed)
        guard case .nameDisagreesWithHeader(999, _) = found?.reason else {
            Issue.record("expected a name/header disagreement, got \(String(describing: found))")
            return
        }
    }

    @Test func otherFilesAreIgnored() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try await writeLog(directory.path, [payload(1)])
        try writeFile(directory.file("notes.txt"), [1, 2, 3])
        let recovered = try await readLog(directory.path)
        #expect(recovered.records.map(\.payload) == [payload(1)])
        #expect(recovered.report.ignoredFiles == ["notes.txt"])
    }
}
