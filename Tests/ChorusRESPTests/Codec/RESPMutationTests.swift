import ChorusCore
import ChorusRESP
import Testing

/// Seeded mutation testing of both decoders: valid streams, then flipped,
/// inserted, deleted, duplicated and truncated bytes, fed whole and in
/// random chunks. Decoding never traps; the incremental parser's verdict does
/// not depend on how the bytes were split; nothing follows a protocol error;
/// and every accepted command respects the limits.
@Suite struct RESPMutationTests {
    static let baseSeed: UInt64 = 0x5245_5350  // "RESP"
    static let seedCount: UInt64 = 400

    /// Bytes that matter to the grammar, drawn more often than others.
    static let interesting: [UInt8] = Array("\r\n*$+-:0129\"'\\ x".utf8) + [0, 0xFF, 0x7F]

    static func randomByte(_ random: inout SeededGenerator) -> UInt8 {
        random.chance(0.5) ? interesting.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
    }

    static func validStream(_ random: inout SeededGenerator) -> (input: [UInt8], commands: [[[UInt8]]]) {
        var input: [UInt8] = []
        var commands: [[[UInt8]]] = []
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            if random.chance(0.7) {
                let arguments = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                    (0..<Int.random(in: 0...40, using: &random)).map { _ in randomByte(&random) }
                }
                input += multibulk(arguments)
                commands.append(arguments)
            } else {
                let words = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                    (0..<Int.random(in: 1...8, using: &random)).map { _ in UInt8.random(in: 97...122, using: &random) }
                }
                input += Array(words.joined(separator: [32])) + (random.chance(0.5) ? [13, 10] : [10])
                commands.append(words)
            }
        }
        return (input, commands)
    }

    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { bytes.append(randomByte(&random)); continue }
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0: bytes[index] = randomByte(&random)
            case 1: bytes.insert(randomByte(&random), at: index)
            case 2: bytes.remove(at: index)
            case 3:
                let end = min(bytes.count, index + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[index..<end], at: index)
            case 4: bytes.removeSubrange(index...)
            default:
                // A forged length: huge, negative, or past a limit.
                let forged = ["99999999999", "-7", "1048577", "16781313", "00", "9223372036854775808"]
                bytes.insert(contentsOf: Array(forged.randomElement(using: &random)!.utf8), at: index)
            }
        }
        return bytes
    }

    static func randomCuts(_ count: Int, _ random: inout SeededGenerator) -> [Int] {
        guard count > 1 else { return [] }
        return (0..<Int.random(in: 0...8, using: &random)).map { _ in Int.random(in: 1..<count, using: &random) }.sorted()
    }

    @Test func commandParserNeverTrapsAndIgnoresHowReadsSplit() {
        print("RESPMutationTests command parser: base seed \(Self.baseSeed), \(Self.seedCount) seeds")
        let limits = RESPLimits.default
        for offset in 0..<Self.seedCount {
            let seed = Self.baseSeed &+ offset
            var random = SeededGenerator(seed: seed)
            let (input, commands) = Self.validStream(&random)
            #expect(feed([input]).outcomes == commands.map { .command($0) }, "seed \(seed): the valid stream")

            let mutated = Self.mutate(input, &random)
            let whole = feed([mutated], limits: limits)
            let split = feed(chunks(mutated, cuts: Self.randomCuts(mutated.count, &random)), limits: limits)
            let byteByByte = feed(mutated.map { [$0] }, limits: limits)
            #expect(split.outcomes == whole.outcomes, "seed \(seed): chunking changed the outcome")
            #expect(byteByByte.outcomes == whole.outcomes, "seed \(seed): byte-by-byte changed the outcome")
            if let error = whole.outcomes.firstIndex(where: { if case .protocolError = $0 { true } else { false } }) {
                #expect(error == whole.outcomes.count - 1, "seed \(seed): an outcome after a protocol error")
                #expect(whole.leftover == 0, "seed \(seed): bytes left after a protocol error")
            }
            for case .command(let arguments) in whole.outcomes {
                #expect(!arguments.isEmpty && arguments.count <= limits.maximumArrayElements, "seed \(seed)")
                #expect(arguments.allSatisfy { $0.count <= limits.maximumBulkBytes }, "seed \(seed)")
            }
        }
    }

    static func randomValue(_ random: inout SeededGenerator, depth: Int) -> RESPValue {
        let text = { (random: inout SeededGenerator) -> [UInt8] in
            (0..<Int.random(in: 0...12, using: &random)).map { _ in randomByte(&random) }
        }
        let word = { (random: inout SeededGenerator) -> String in
            String((0..<Int.random(in: 0...8, using: &random)).map { _ in Character(UnicodeScalar(UInt8.random(in: 32...126, using: &random))) })
        }
        let leaf = depth >= 3 || random.chance(0.5)
        switch Int.random(in: 0..<(leaf ? 11 : 16), using: &random) {
        case 0: return .simpleString(word(&random))
        case 1: return .error("ERR " + word(&random))
        case 2: return .integer(Int64.random(in: .min ... .max, using: &random))
        case 3: return .bulkString(text(&random))
        case 4: return .null
        case 5: return .double(Double(Int32.random(in: .min ... .max, using: &random)) / 64)
        case 6: return .boolean(random.chance(0.5))
        case 7: return .verbatimString(format: "txt", text(&random))
        case 8: return .bigNumber(String(UInt64.random(in: 0 ... .max, using: &random)) + "123456789")
        case 9: return .bulkError(text(&random))
        case 10: return .nullArray
        default:
            let elements = (0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(&random, depth: depth + 1) }
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .array(elements)
            case 1: return .set(elements)
            case 2: return .push(elements)
            default:
                return .map(elements.map { RESPMapEntry(.bulkString(RESPEncoder.encoded($0, version: .resp3)), $0) })
            }
        }
    }

    @Test func valueParserRoundTripsAndNeverTrapsOnMutations() {
        print("RESPMutationTests value parser: base seed \(Self.baseSeed), \(Self.seedCount) seeds")
        for offset in 0..<Self.seedCount {
            let seed = Self.baseSeed &+ offset
            var random = SeededGenerator(seed: seed)
            let value = Self.randomValue(&random, depth: 0)
            for version in RESPProtocolVersion.allCases {
                let encoded = RESPEncoder.encoded(value, version: version)
                #expect(RESPValueParser.parse(encoded) == (encoded.count, .value(value.readBack(version))),
                    "seed \(seed): \(version) round trip")
                let mutated = Self.mutate(encoded, &random)
                let (consumed, outcome) = RESPValueParser.parse(mutated)
                #expect(consumed >= 0 && consumed <= mutated.count, "seed \(seed)")
                // A value read from a prefix reads the same with bytes after it.
                if case .value = outcome {
                    let extended = RESPValueParser.parse(mutated + [UInt8(ascii: "+")])
                    #expect(extended.consumed == consumed && extended.outcome == outcome, "seed \(seed): prefix stability")
                } else {
                    #expect(consumed == 0, "seed \(seed): nothing is consumed without a value")
                }
            }
        }
    }
}
