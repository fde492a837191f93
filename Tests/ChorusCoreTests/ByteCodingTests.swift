import ChorusCore
import Testing

@Suite struct ByteCodingTests {
    @Test func varintsRoundTripAtEveryWidth() throws {
        var values: [UInt64] = [0, 1, 127, 128, 255, 256, 16_383, 16_384, .max, .max - 1]
        for shift in 0..<64 { values.append(1 << UInt64(shift)); values.append((1 << UInt64(shift)) - 1) }
        var writer = ByteWriter()
        for value in values { writer.writeVarint(value) }
        var reader = ByteReader(writer.bytes)
        for value in values { #expect(try reader.readVarint() == value) }
        try reader.expectEnd()
    }

    @Test func signedVarintsRoundTripAndSmallNegativesStayShort() throws {
        let values: [Int64] = [0, -1, 1, -64, 63, -65, .min, .max]
        var writer = ByteWriter()
        for value in values { writer.writeSignedVarint(value) }
        var reader = ByteReader(writer.bytes)
        for value in values { #expect(try reader.readSignedVarint() == value) }
        var small = ByteWriter()
        small.writeSignedVarint(-1)
        #expect(small.count == 1)
    }

    @Test func mixedPrimitivesRoundTrip() throws {
        var writer = ByteWriter()
        writer.writeFixed(UInt32(0xDEAD_BEEF))
        writer.writeFixed(UInt64.max - 5)
        writer.write(true)
        writer.writeString("héllo, wörld")
        writer.writeLengthPrefixed([1, 2, 3])
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readFixedUInt32() == 0xDEAD_BEEF)
        #expect(try reader.readFixedUInt64() == UInt64.max - 5)
        #expect(try reader.readBool() == true)
        #expect(try reader.readString(limit: 100) == "héllo, wörld")
        #expect(Array(try reader.readLengthPrefixed(limit: 3)) == [1, 2, 3])
        try reader.expectEnd()
    }

    @Test func truncatedInputIsAnErrorNamingTheOffset() {
        var reader = ByteReader([0x80, 0x80])
        #expect(throws: BinaryDecodingError(.truncated(needed: 1), at: 0)) { try reader.readVarint() }
        var short = ByteReader([1, 2, 3])
        #expect(throws: BinaryDecodingError(.truncated(needed: 1), at: 0)) { try short.readFixedUInt32() }
    }

    @Test func overlongVarintIsRejected() {
        var reader = ByteReader([UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: BinaryDecodingError(.varintOverflow, at: 0)) { try reader.readVarint() }
    }

    @Test func forgedLengthsAreBoundedBeforeAllocation() {
        var writer = ByteWriter()
        writer.writeVarint(UInt64(1) << 40)
        var reader = ByteReader(writer.bytes)
        #expect(throws: BinaryDecodingError.self) { try reader.readLengthPrefixed(limit: 1 << 20) }
        var counts = ByteReader(writer.bytes)
        #expect(throws: BinaryDecodingError.self) { try counts.readCount(limit: .max) }
    }

    @Test func invalidUTF8AndBooleansAreErrors() {
        var utf8 = ByteReader([2, 0xC3, 0x28])
        #expect(throws: BinaryDecodingError(.invalidUTF8, at: 0)) { try utf8.readString(limit: 10) }
        var boolean = ByteReader([7])
        #expect(throws: BinaryDecodingError.self) { try boolean.readBool() }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0..<24, using: &generator)
            var reader = ByteReader((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            _ = try? reader.readVarint()
            _ = try? reader.readString(limit: 16)
            _ = try? reader.readCount(limit: 1_000)
            _ = try? reader.readFixedUInt64()
        }
    }
}
