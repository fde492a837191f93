import ChorusCore
import ChorusRaft
import FuzzedChorusWire
import FuzzSupport

/// The peer byte stream's outer layers: `Frame` (length, CRC32C, payload),
/// the `Handshake` that opens every connection, and the `PeerFrame` that
/// every later payload is (protocol byte, then that protocol's message; a
/// Raft body goes on to `MessageCodec`, fuzzed deeper by FuzzRaftMessage).
///
/// The first byte picks the layer, so mutations that break a frame's CRC
/// still reach the handshake and peer-frame decoders behind it:
/// 0 a frame stream, 1 a handshake payload, 2 a peer-frame payload.
enum WireFrameHarness {
    static let limits = WireLimits(maximumFrameBytes: 1 << 20, maximumSnapshotBytes: 1 << 19)

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        switch input.byte() % 3 {
        case 0: frames(input.rest())
        case 1: handshake(input.rest())
        default: peerFrame(input.rest())
        }
    }

    static func frames(_ stream: [UInt8]) {
        let split: (payloads: [[UInt8]], consumed: Int)
        do { split = try Frame.split(stream, limit: limits.maximumFrameBytes) } catch { return }
        precondition(split.consumed <= stream.count, "a split consumed more bytes than it was given")
        // Re-framing the payloads gives exactly the bytes that were consumed.
        var reframed: [UInt8] = []
        for payload in split.payloads { Frame.append(payload: payload, to: &reframed) }
        precondition(reframed == Array(stream[..<split.consumed]), "re-framed payloads differ from the consumed bytes")
        for (position, payload) in split.payloads.enumerated() {
            if position == 0 { handshake(payload) } else { peerFrame(payload) }
        }
    }

    static func handshake(_ payload: [UInt8]) {
        guard let decoded = try? Handshake(decoding: payload, limits: limits) else { return }
        Check.roundTrip(
            decoded, "Handshake", encode: { value in try! value.encoded(limits: limits) },
            decode: { (bytes: [UInt8]) throws(WireError) in try Handshake(decoding: bytes, limits: limits) })
        _ = try? decoded.validate(clusterID: decoded.clusterID, localNode: decoded.to, knownPeers: [decoded.from])
    }

    static func peerFrame(_ payload: [UInt8]) {
        guard let first = payload.first else { return }
        let frame = PeerFrame(protocolTag: PeerProtocol(first), body: Array(payload.dropFirst()))
        guard frame.protocolTag == .raft else { return }
        guard let message = try? MessageCodec.decode(frame.body, limits: limits) else { return }
        Check.roundTrip(
            message, "RaftMessage in a peer frame", encode: { value in try! MessageCodec.encoded(value, limits: limits) },
            decode: { (bytes: [UInt8]) throws(WireError) in try MessageCodec.decode(bytes, limits: limits) })
    }

    static func seeds() -> [Seed] {
        let handshake = try! Handshake(clusterID: 0xC0FFEE, from: NodeID(2), to: NodeID(1), httpURL: "http://127.0.0.1:8081")
            .encoded()
        let heartbeat = [PeerProtocol.raft.rawValue] + (try! MessageCodec.encoded(
            RaftMessage(from: NodeID(2), to: NodeID(1), term: Term(3), payload: .heartbeat(.init(commit: LogIndex(7), round: 9)))))
        let append = [PeerProtocol.raft.rawValue] + (try! MessageCodec.encoded(
            RaftMessage(
                from: NodeID(2), to: NodeID(1), term: Term(3),
                payload: .appendEntries(.init(
                    previousIndex: LogIndex(4), previousTerm: Term(2),
                    entries: [LogEntry(term: Term(3), index: LogIndex(5), payload: .command(Array("put x".utf8)))],
                    commit: LogIndex(4))))))
        var stream: [UInt8] = []
        for payload in [handshake, heartbeat, append] { Frame.append(payload: payload, to: &stream) }
        return [
            Seed("stream-handshake-heartbeat-append", [0] + stream),
            Seed("handshake", [1] + handshake),
            Seed("peer-frame-heartbeat", [2] + heartbeat),
            Seed("peer-frame-append", [2] + append),
            Seed("peer-frame-gossip", [2, PeerProtocol.gossip.rawValue, 1, 2, 3]),
            Seed("stream-http-request", [0] + Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireFrame(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    WireFrameHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzWireFrameMain {
    static func main() { FuzzMain.run(seeds: WireFrameHarness.seeds, testOneInput: fuzzWireFrame) }
}
