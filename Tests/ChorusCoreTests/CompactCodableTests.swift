import ChorusCore
import Testing

@Suite struct CompactCodableTests {
    @Test func standardLibraryValuesRoundTrip() throws {
        #expect(try String(decodingAll: "héllo 😀".encodedBytes) == "héllo 😀")
        #expect(try UInt64(decodingAll: UInt64.max.encodedBytes) == .max)
        #expect(try Int64(decodingAll: Int64.min.encodedBytes) == .min)
        #expect(try Int(decodingAll: (-42).encodedBytes) == -42)
        #expect(try Bool(decodingAll: true.encodedBytes) == true)
        #expect(try [String](decodingAll: ["a", "", "ccc"].encodedBytes) == ["a", "", "ccc"])
    }

    @Test func byteArraysEncodeAsLengthPrefixedBytes() throws {
        let bytes: [UInt8] = [0, 1, 2, 255]
        var writer = ByteWriter()
        writer.writeLengthPrefixed(bytes)
        #expect(bytes.encodedBytes == writer.bytes)
        #expect(try [UInt8](decodingAll: writer.bytes) == bytes)
    }

    @Test func malformedValuesAreErrors() {
        #expect(throws: BinaryDecodingError.self) { try Bool(decodingAll: [2]) }
        #expect(throws: BinaryDecodingError.self) { try String(decodingAll: [2, 0xFF, 0xFE]) }
        #expect(throws: BinaryDecodingError.self) { try [String](decodingAll: [200]) }
        #expect(throws: BinaryDecodingError.self) { try UInt64(decodingAll: [1, 2]) }
    }
}
