import ChorusCore
import Testing

@Suite struct CRC32CTests {
    @Test func checkValueMatchesTheStandard() {
        // The CRC catalogue's check value for CRC-32/ISCSI.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func emptyInputIsZero() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func knownVectorsFromRFC3720() {
        // RFC 3720 appendix B.4: 32 bytes of zeros, of 0xFF, and ascending.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func incrementalEqualsWholeAtEverySplit() {
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<100).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            let first = CRC32C.checksum(bytes[..<split])
            #expect(CRC32C.checksum(bytes[split...], seed: first) == whole, "split at \(split)")
        }
    }

    @Test func singleBitFlipsAreDetected() {
        let bytes = Array("the log is the truth".utf8)
        let original = CRC32C.checksum(bytes)
        for index in bytes.indices {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= 1 << bit
                #expect(CRC32C.checksum(flipped) != original)
            }
        }
    }
}
