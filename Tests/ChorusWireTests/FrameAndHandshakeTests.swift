import ChorusCore
import ChorusRaft
import Testing

@testable import ChorusWire

@Suite struct FrameAndHandshakeTests {
    @Test func framesSplitBackIntoTheirPayloads() throws {
        var generator = WireValueGenerator(seed: 7)
        let payloads = (0..<50).map { _ in generator.bytes(maximum: 300) }
        var stream: [UInt8] = []
        for payload in payloads { Frame.append(payload: payload, to: &stream) }
        let (decoded, consumed) = try Frame.split(stream, limit: 1 << 20)
        #expect(decoded == payloads)
        #expect(consumed == stream.count)
        // A stream cut in the middle yields the complete frames before the cut.
        let (prefix, prefixConsumed) = try Frame.split(Array(stream[..<(stream.count - 1)]), limit: 1 << 20)
        #expect(prefix == Array(payloads.dropLast()))
        #expect(prefixConsumed == stream.count - payloads.last!.count - Frame.headerBytes)
    }

    @Test func aFlippedBitFailsTheChecksum() throws {
        var stream: [UInt8] = []
        Frame.append(payload: Array("hello, peer".utf8), to: &stream)
        stream[Frame.headerBytes + 3] ^= 0x10
        #expect {
            try Frame.split(stream, limit: 1 << 20)
        } throws: { error in
            if case WireError.checksumMismatch = error { return true }
            return false
        }
    }

    @Test func anOversizedHeaderIsRefusedBeforeItsPayloadArrives() throws {
        var header = ByteWriter()
        header.writeFixed(UInt32.max)
        header.writeFixed(UInt32(0))
        #expect(throws: WireError.frameTooLarge(length: UInt64(UInt32.max), limit: 4_096)) {
            try Frame.split(header.bytes, limit: 4_096)
        }
    }

    @Test func handshakeRoundTripsAndValidates() throws {
        let handshake = Handshake(clusterID: 0xDEAD_BEEF, from: 2, to: 3, httpURL: "http://127.0.0.1:8002")
        let decoded = try Handshake(decoding: try handshake.encoded())
        #expect(decoded == handshake)
        try decoded.validate(clusterID: 0xDEAD_BEEF, localNode: 3, knownPeers: [1, 2])
        #expect(throws: WireError.self) { try decoded.validate(clusterID: 1, localNode: 3, knownPeers: [1, 2]) }
        #expect(throws: WireError.self) { try decoded.validate(clusterID: 0xDEAD_BEEF, localNode: 1, knownPeers: [2, 3]) }
        #expect(throws: WireError.self) { try decoded.validate(clusterID: 0xDEAD_BEEF, localNode: 3, knownPeers: [1]) }
    }

    @Test func strangersAndOtherVersionsAreRefused() throws {
        #expect(throws: WireError.notAHandshake) { try Handshake(decoding: Array("GET / HTTP/1.1\r\n".utf8)) }
        var bytes = try Handshake(clusterID: 1, from: 1, to: 2, httpURL: "http://x").encoded()
        bytes[4] = 9  // the protocol version varint
        #expect(throws: WireError.unsupportedProtocolVersion(9)) { try Handshake(decoding: bytes) }
        let long = Handshake(clusterID: 1, from: 1, to: 2, httpURL: String(repeating: "a", count: 600))
        #expect(throws: WireError.self) { try long.encoded() }
        let selfAddressed = try Handshake(clusterID: 1, from: 1, to: 2, httpURL: "u").encoded()
        var tampered = selfAddressed
        tampered[tampered.count - 3] = 1  // "to" becomes the sender
        #expect(throws: WireError.self) { try Handshake(decoding: tampered) }
    }

    @Test func defaultLimitsAreValidAndRelationsAreChecked() throws {
        try WireLimits.default.validate()
        var limits = WireLimits.default
        limits.maximumSnapshotBytes = limits.maximumFrameBytes
        #expect(throws: WireError.self) { try limits.validate() }
        limits = .default
        limits.maximumCommandBytes = limits.maximumFrameBytes
        #expect(throws: WireError.self) { try limits.validate() }
        limits = .default
        limits.maximumFrameBytes = 100
        #expect(throws: WireError.self) { try limits.validate() }
    }
}
