import ChorusCore
import ChorusRaft
import Testing

@testable import ChorusWire

/// Random and mutated bytes fed to every decoder must produce a value or a
/// `WireError`, never a trap (a trap would kill the test process). Seeded; a
/// failure names the seed and iteration so it replays.
@Suite struct FuzzTests {
    static let iterations = 4_000

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func mutatedMessagesNeverTrap(seed: UInt64) throws {
        var generator = WireValueGenerator(seed: seed)
        var decodedCount = 0
        for iteration in 0..<Self.iterations {
            var bytes = try MessageCodec.encoded(generator.message())
            mutate(&bytes, &generator)
            if let message = try? MessageCodec.decode(bytes) {
                decodedCount += 1
                // Whatever decodes must also pass validation and re-encode to a decodable form.
                let again = try MessageCodec.decode(try MessageCodec.encoded(message))
                #expect(again == message, "seed \(seed) iteration \(iteration)")
            }
        }
        // Sanity: mutation is not so destructive that nothing is ever accepted.
        #expect(decodedCount > 0, "seed \(seed)")
    }

    @Test(arguments: 1...4 as ClosedRange<UInt64>)
    func randomBytesNeverTrapAnyDecoder(seed: UInt64) {
        var generator = WireValueGenerator(seed: seed)
        for _ in 0..<Self.iterations {
            var bytes = generator.bytes(maximum: 64)
            // Often start with a valid tag or magic so the decoders go deeper.
            if !bytes.isEmpty && generator.coin() { bytes[0] = UInt8(1 + generator.below(11)) }
            _ = try? MessageCodec.decode(bytes)
            _ = try? PersistenceRecord(decoding: bytes)
            _ = try? Checkpoint(decoding: bytes)
            _ = try? Handshake(decoding: Handshake.magic + bytes)
            _ = try? Frame.split(bytes, limit: 1 << 16)
        }
    }

    @Test(arguments: 1...4 as ClosedRange<UInt64>)
    func mutatedRecordsAndHandshakesNeverTrap(seed: UInt64) throws {
        var generator = WireValueGenerator(seed: seed)
        for _ in 0..<Self.iterations {
            var record = PersistenceRecord.entries(
                generator.entries(after: LogIndex(generator.below(100)), previousTerm: 1, maximumTerm: 9)
            ).encoded()
            mutate(&record, &generator)
            _ = try? PersistenceRecord(decoding: record)
            var handshake = try Handshake(
                clusterID: generator.random.next(), from: 1, to: 2, httpURL: "http://127.0.0.1:\(generator.below(65536))"
            ).encoded()
            mutate(&handshake, &generator)
            _ = try? Handshake(decoding: handshake)
        }
    }

    /// One to three random edits: flip a bit, overwrite a byte, cut the tail, or insert a byte.
    func mutate(_ bytes: inout [UInt8], _ generator: inout WireValueGenerator) {
        for _ in 0...generator.below(3) {
            guard !bytes.isEmpty else {
                bytes.append(UInt8(truncatingIfNeeded: generator.random.next()))
                continue
            }
            let position = Int(generator.below(UInt64(bytes.count)))
            switch generator.below(4) {
            case 0: bytes[position] ^= UInt8(1) << UInt8(generator.below(8))
            case 1: bytes[position] = UInt8(truncatingIfNeeded: generator.random.next())
            case 2: bytes.removeSubrange(position...)
            default: bytes.insert(UInt8(truncatingIfNeeded: generator.random.next()), at: position)
            }
        }
    }
}
