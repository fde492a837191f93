import ChorusCore
@testable import FuzzedChorusStorage
import FuzzFileSystem
import FuzzSupport

/// The write-ahead log's on-disk format: one segment scanned by
/// `SegmentScanner` (header, frames, and the torn-tail rule), and whole log
/// directories recovered by `LogRecovery`, inspected and repaired.
///
/// Properties: the valid prefix a scan reports re-encodes to exactly those
/// bytes (header and frames, through `SegmentFormat`); what recovery repairs,
/// a second recovery finds clean, with the same records; and recovery ends in
/// a report or a typed error, never a trap.
///
/// Input: a mode byte. Even: one segment file (bit 1: whether it is the last).
/// Odd: a directory; a byte for the snapshot's coverage, then chunks, each a
/// segment file named by the first sequence its header declares (or, when the
/// header does not decode, by the chunk's position).
enum SegmentHarness {
    static let directory = "/wal"

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let mode = input.byte()
        if mode % 2 == 0 {
            scanOne(input.rest(), isLastSegment: mode & 2 == 0)
        } else {
            let coveredBelow = SequenceNumber(UInt64(input.byte() % 16) + 1)
            recoverDirectory(input.chunks(limit: 6), coveredBelow: coveredBelow)
        }
    }

    static func scanOne(_ bytes: [UInt8], isLastSegment: Bool) {
        let result: SegmentScanner.Result
        do { result = try SegmentScanner.scan(bytes, file: "segment", isLastSegment: isLastSegment) } catch { return }
        precondition(result.validEndOffset <= bytes.count, "valid end beyond the file")
        // The valid prefix is exactly the header and the frames of the records found.
        var writer = ByteWriter()
        writer.writeRaw(SegmentFormat.encodeHeader(firstSequence: result.firstSequence))
        for (position, record) in result.records.enumerated() {
            precondition(record.sequence == result.firstSequence.advanced(by: position), "records not consecutive")
            SegmentFormat.appendFrame(sequence: record.sequence, payload: Array(bytes[record.payloadRange]), to: &writer)
        }
        precondition(writer.bytes == Array(bytes[..<result.validEndOffset]), "the valid prefix does not re-encode to itself")
        switch result.tail {
        case .clean:
            precondition(result.validEndOffset == bytes.count, "a clean tail with bytes after the last frame")
        case .zeroFilled(let offset, let count), .tornRecord(let offset, let count, _):
            precondition(isLastSegment, "a repairable tail in a sealed segment")
            precondition(offset == result.validEndOffset && offset + count == bytes.count, "tail bounds")
            // Truncating the tail, as recovery does, leaves a clean segment with the same records.
            let repaired = try! SegmentScanner.scan(Array(bytes[..<offset]), file: "segment", isLastSegment: true)
            precondition(repaired.tail == .clean && repaired.records == result.records, "a truncated tail is not clean")
        }
    }

    static func recoverDirectory(_ files: [[UInt8]], coveredBelow: SequenceNumber) {
        var contents: [String: [UInt8]] = [:]
        for (position, file) in files.enumerated() {
            let first: SequenceNumber
            switch SegmentFormat.decodeHeader(file[...]) {
            case .success(let declared): first = declared
            case .failure: first = SequenceNumber(UInt64(position) + 1)
            }
            contents[directory + "/" + SegmentFormat.fileName(firstSequence: first)] = file
        }
        let fileSystem = InMemoryFileSystem(files: contents)
        let inspected: LogRecovery.Outcome
        do {
            inspected = try LogRecovery.recover(
                directory: directory, fileSystem: fileSystem, coveredBelow: coveredBelow, mode: .inspect, collectRecords: true)
        } catch {
            return
        }
        precondition(fileSystem.files == contents, "inspecting changed the directory")
        let repaired = try! LogRecovery.recover(
            directory: directory, fileSystem: fileSystem, coveredBelow: coveredBelow, mode: .repair, collectRecords: true)
        precondition(repaired.records == inspected.records, "repair recovered other records than inspection")
        precondition(repaired.report.nextSequence == inspected.report.nextSequence, "repair and inspection disagree")
        var expected = coveredBelow
        for record in repaired.records {
            precondition(record.sequence == expected, "recovered records not consecutive from the coverage")
            expected = expected.next
        }
        let again = try! LogRecovery.recover(
            directory: directory, fileSystem: fileSystem, coveredBelow: coveredBelow, mode: .inspect, collectRecords: true)
        precondition(again.report.tail == .clean && again.report.tornSegmentFile == nil, "a repaired log is not clean")
        precondition(again.records == repaired.records, "a repaired log recovers other records")
        precondition(again.report.nextSequence == repaired.report.nextSequence, "a repaired log moved its next sequence")
    }

    static func segment(first: UInt64, payloads: [[UInt8]]) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeRaw(SegmentFormat.encodeHeader(firstSequence: SequenceNumber(first)))
        for (position, payload) in payloads.enumerated() {
            SegmentFormat.appendFrame(sequence: SequenceNumber(first + UInt64(position)), payload: payload, to: &writer)
        }
        return writer.bytes
    }

    static func seeds() -> [Seed] {
        let first = segment(first: 1, payloads: [[1, 2, 3], Array("hard state".utf8), [], [9]])
        let second = segment(first: 5, payloads: [Array("entries".utf8), [0xFF, 0x00]])
        let torn = Array(second.dropLast(1))
        let zeroed = second + [UInt8](repeating: 0, count: 40)
        return [
            Seed("scan-last", [0] + first),
            Seed("scan-sealed", [2] + first),
            Seed("scan-torn", [0] + torn),
            Seed("scan-zero-tail", [0] + zeroed),
            Seed("scan-header-only", [0] + segment(first: 7, payloads: [])),
            Seed("directory-two-segments", [1, 0] + FuzzInput.chunked([first, second])),
            Seed("directory-torn-tail", [1, 2] + FuzzInput.chunked([first, torn])),
            Seed("directory-torn-header", [1, 0] + FuzzInput.chunked([first, second, Array(segment(first: 7, payloads: []).prefix(10))])),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegment(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    SegmentHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzSegmentMain {
    static func main() { FuzzMain.run(seeds: SegmentHarness.seeds, testOneInput: fuzzSegment) }
}
