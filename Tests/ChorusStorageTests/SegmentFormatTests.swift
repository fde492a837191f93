import ChorusCore
import Testing

@testable import ChorusStorage

@Suite struct SegmentFormatTests {
    @Test func headerRoundTripsAndRejectsEveryFlippedBit() {
        let header = SegmentFormat.encodeHeader(firstSequence: 1234)
        #expect(header.count == SegmentFormat.headerBytes)
        #expect(SegmentFormat.decodeHeader(header[...]) == .success(1234))
        for bit in 0..<(header.count * 8) {
            var damaged = header
            damaged[bit / 8] ^= 1 << (bit % 8)
            guard case .failure = SegmentFormat.decodeHeader(damaged[...]) else {
                Issue.record("header with bit \(bit) flipped was accepted")
                continue
            }
        }
        #expect(SegmentFormat.decodeHeader(header.prefix(10)) == .failure(.tooShort(10)))
    }

    @Test func fileNamesSortAsNumbersAndParseBack() {
        let numbers: [UInt64] = [1, 9, 10, 99, 100, 12_345_678_901, UInt64.max]
        let names = numbers.map { SegmentFormat.fileName(firstSequence: SequenceNumber($0)) }
        #expect(names == names.sorted())
        #expect(names.map { SegmentFormat.firstSequence(fromFileName: $0)?.rawValue } == numbers)
        #expect(SegmentFormat.fileName(firstSequence: 1) == "segment-00000000000000000001.wal")
        for bad in ["segment-1.wal", "segment-0000000000000000000a.wal", "segment-00000000000000000001.wa", "x.wal", ""] {
            #expect(SegmentFormat.firstSequence(fromFileName: bad) == nil, "\(bad)")
        }
    }

    @Test func frameLayoutIsChecksumLengthSequencePayload() {
        var writer = ByteWriter()
        SegmentFormat.appendFrame(sequence: 7, payload: [0xAA, 0xBB], to: &writer)
        let bytes = writer.bytes
        #expect(bytes.count == SegmentFormat.frameBytes(payloadBytes: 2))
        #expect(Array(bytes[4..<8]) == [2, 0, 0, 0])
        #expect(Array(bytes[8..<16]) == [7, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[16...]) == [0xAA, 0xBB])
        let stored = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        #expect(stored == CRC32C.checksum(bytes[4...]))
    }

    @Test func scannerReadsWhatWasWritten() throws {
        let segment = makeSegment(first: 5, payloads: (0..<10).map { payload($0, length: $0 * 3) })
        let result = try SegmentScanner.scan(segment, file: "s", isLastSegment: false)
        #expect(result.firstSequence == 5)
        #expect(result.records.map(\.sequence) == (5..<15).map { SequenceNumber($0) })
        #expect(result.records.map { Array(segment[$0.payloadRange]) } == (0..<10).map { payload($0, length: $0 * 3) })
        #expect(result.validEndOffset == segment.count)
        #expect(result.tail == .clean)
        #expect(result.nextSequence == 15)
    }

    @Test func snapshotRoundTripsAndRejectsEveryFlippedBit() throws {
        let snapshot = Snapshot(coveredBelow: 42, payload: payload(3, length: 20))
        let bytes = SnapshotFormat.encode(snapshot)
        #expect(try SnapshotFormat.decode(bytes, file: "s", payloadLimit: 100) == snapshot)
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= 1 << (bit % 8)
            #expect(throws: StorageCorruption.self, "bit \(bit)") {
                try SnapshotFormat.decode(damaged, file: "s", payloadLimit: 100)
            }
        }
        #expect(throws: StorageCorruption.self) { try SnapshotFormat.decode(bytes + [0], file: "s", payloadLimit: 100) }
        #expect(throws: StorageCorruption.self) { try SnapshotFormat.decode(Array(bytes.dropLast()), file: "s", payloadLimit: 100) }
        #expect(throws: StorageCorruption.self) { try SnapshotFormat.decode(bytes, file: "s", payloadLimit: 19) }
    }
}

/// A whole segment file's bytes: header plus one frame per payload.
func makeSegment(first: SequenceNumber, payloads: [[UInt8]]) -> [UInt8] {
    var writer = ByteWriter()
    writer.writeRaw(SegmentFormat.encodeHeader(firstSequence: first))
    for (offset, payload) in payloads.enumerated() {
        SegmentFormat.appendFrame(sequence: first.advanced(by: offset), payload: payload, to: &writer)
    }
    return writer.bytes
}
