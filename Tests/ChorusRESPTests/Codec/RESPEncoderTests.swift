import ChorusRESP
import Testing

@Suite struct RESPEncoderTests {
    static let cases: [(value: RESPValue, resp2: String, resp3: String)] = [
        (.simpleString("OK"), "+OK\r\n", "+OK\r\n"),
        (.error("ERR bad"), "-ERR bad\r\n", "-ERR bad\r\n"),
        (.integer(0), ":0\r\n", ":0\r\n"),
        (.integer(-42), ":-42\r\n", ":-42\r\n"),
        (.integer(.min), ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"),
        (.integer(.max), ":9223372036854775807\r\n", ":9223372036854775807\r\n"),
        (.bulkString(bytes("a\r\nb")), "$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n"),
        (.bulkString([]), "$0\r\n\r\n", "$0\r\n\r\n"),
        (.null, "$-1\r\n", "_\r\n"),
        (.nullArray, "*-1\r\n", "_\r\n"),
        (.array([.integer(1), .bulk("x")]), "*2\r\n:1\r\n$1\r\nx\r\n", "*2\r\n:1\r\n$1\r\nx\r\n"),
        (.array([]), "*0\r\n", "*0\r\n"),
        (.map([RESPMapEntry(.bulk("k"), .integer(1))]), "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"),
        (.set([.bulk("a")]), "*1\r\n$1\r\na\r\n", "~1\r\n$1\r\na\r\n"),
        (.double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n"),
        (.double(.infinity), "$3\r\ninf\r\n", ",inf\r\n"),
        (.double(-.infinity), "$4\r\n-inf\r\n", ",-inf\r\n"),
        (.boolean(true), ":1\r\n", "#t\r\n"),
        (.boolean(false), ":0\r\n", "#f\r\n"),
        (.verbatimString(format: "txt", bytes("hi")), "$2\r\nhi\r\n", "=6\r\ntxt:hi\r\n"),
        (.bigNumber("-123456789012345678901234567890"), "$31\r\n-123456789012345678901234567890\r\n",
         "(-123456789012345678901234567890\r\n"),
        (.bulkError(bytes("ERR a\r\nb")), "-ERR a  b\r\n", "!8\r\nERR a\r\nb\r\n"),
        (.push([.bulk("invalidate")]), "*1\r\n$10\r\ninvalidate\r\n", ">1\r\n$10\r\ninvalidate\r\n"),
    ]

    @Test(arguments: 0..<cases.count) func encodesEachTypeInBothVersions(case index: Int) {
        let (value, resp2, resp3) = Self.cases[index]
        #expect(RESPEncoder.encoded(value, version: .resp2) == bytes(resp2))
        #expect(RESPEncoder.encoded(value, version: .resp3) == bytes(resp3))
    }

    @Test(arguments: 0..<cases.count) func decodesWhatItEncodes(case index: Int) {
        let value = Self.cases[index].value
        let resp3 = RESPEncoder.encoded(value, version: .resp3)
        #expect(RESPValueParser.parse(resp3) == (resp3.count, .value(value.readBack(.resp3))))
        let resp2 = RESPEncoder.encoded(value, version: .resp2)
        #expect(RESPValueParser.parse(resp2) == (resp2.count, .value(value.readBack(.resp2))))
    }

    @Test func nanRoundTripsAsNaN() {
        let encoded = RESPEncoder.encoded(.double(.nan), version: .resp3)
        #expect(encoded == bytes(",nan\r\n"))
        guard case .value(.double(let number)) = RESPValueParser.parse(encoded).outcome else {
            Issue.record("not a double")
            return
        }
        #expect(number.isNaN)
    }

    @Test func attributesAreReadAndDropped() {
        let input = bytes("|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n")
        #expect(RESPValueParser.parse(input) == (input.count, .value(.bulk("v"))))
    }

    @Test func incompleteValuesNeedMoreData() {
        let whole = RESPEncoder.encoded(
            .map([RESPMapEntry(.bulk("k"), .array([.integer(1), .double(2.5), .null]))]), version: .resp3)
        for end in 0..<whole.count {
            #expect(RESPValueParser.parse(Array(whole[..<end])) == (0, .needMoreData), "prefix of \(end) bytes")
        }
    }

    @Test func malformedRepliesAreProtocolErrors() {
        let cases: [(String, RESPProtocolError.Reason)] = [
            ("?x\r\n", .unknownType(UInt8(ascii: "?"))),
            (":1.5\r\n", .invalidLine("not an integer")),
            ("#x\r\n", .invalidLine("a boolean is t or f")),
            (",abc\r\n", .invalidLine("not a double")),
            ("(12a\r\n", .invalidLine("not a big number")),
            ("$2\r\nabc\r\n", .missingBulkTerminator),
            ("$-2\r\n", .invalidBulkLength),
            ("=2\r\nab\r\n", .invalidLine("a verbatim string starts with a three-byte format and ':'")),
            ("*-2\r\n", .invalidLine("aggregate length -2 out of bounds")),
            ("+a\nb\r\n", .missingLineFeed),
            ("_x\r\n", .invalidLine("a null carries nothing")),
        ]
        for (text, reason) in cases {
            #expect(RESPValueParser.parse(bytes(text)) == (0, .protocolError(RESPProtocolError(reason))), "\(text.debugDescription)")
        }
        // Status lines need not be UTF-8; such bytes read as replacement characters.
        #expect(RESPValueParser.parse([UInt8(ascii: "+"), 0xFF, 13, 10]).outcome == .value(.simpleString("\u{FFFD}")))
    }

    @Test func nestingAndCountsAreBounded() {
        let limits = RESPLimits(maximumArrayElements: 4, maximumNestingDepth: 3)
        #expect(RESPValueParser.parse(bytes("*1\r\n*1\r\n:1\r\n"), limits: limits).outcome
            == .value(.array([.array([.integer(1)])])))
        #expect(RESPValueParser.parse(bytes("*1\r\n*1\r\n*1\r\n:1\r\n"), limits: limits).outcome
            == .protocolError(RESPProtocolError(.nestingTooDeep)))
        #expect(RESPValueParser.parse(bytes("*5\r\n"), limits: limits).outcome
            == .protocolError(RESPProtocolError(.invalidLine("aggregate length 5 out of bounds"))))
        #expect(RESPValueParser.parse(bytes("%3\r\n"), limits: limits).outcome
            == .protocolError(RESPProtocolError(.invalidLine("map length 3 out of bounds"))))
        // A huge claimed count with no elements reserves nothing and waits.
        #expect(RESPValueParser.parse(bytes("*1048576\r\n")) == (0, .needMoreData))
    }
}

extension RESPValue {
    /// What a parser reads back after this value was encoded in `version`:
    /// itself in RESP3; in RESP2 the fallback types the encoder wrote.
    func readBack(_ version: RESPProtocolVersion) -> RESPValue {
        guard version == .resp2 else {
            switch self {
            case .nullArray: return .null
            case .array(let elements): return .array(elements.map { $0.readBack(version) })
            case .set(let elements): return .set(elements.map { $0.readBack(version) })
            case .push(let elements): return .push(elements.map { $0.readBack(version) })
            case .map(let entries):
                return .map(entries.map { RESPMapEntry($0.key.readBack(version), $0.value.readBack(version)) })
            default: return self
            }
        }
        switch self {
        case .array(let elements), .set(let elements), .push(let elements):
            return .array(elements.map { $0.readBack(version) })
        case .map(let entries):
            return .array(entries.flatMap { [$0.key.readBack(version), $0.value.readBack(version)] })
        case .double(let number): return .bulk(RESPEncoder.formatDouble(number))
        case .boolean(let flag): return .integer(flag ? 1 : 0)
        case .verbatimString(_, let text): return .bulkString(text)
        case .bigNumber(let digits): return .bulk(digits)
        case .bulkError(let text):
            return .error(String(decoding: text.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self))
        default: return self
        }
    }
}
