import ChorusCore
import Testing

@Suite struct JSONValueParsingTests {
    func parse(_ text: String, limits: JSONLimits = .default) throws(JSONParseError) -> JSONValue {
        try JSONValue(parsing: text, limits: limits)
    }

    func error(_ text: String, limits: JSONLimits = .default) -> JSONParseError? {
        do {
            _ = try JSONValue(parsing: text, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    func error(bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONValue(parsing: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func scalarsAtTopLevel() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("\"hi\"") == .string("hi"))
        #expect(try parse("-12.5e+3").numberValue?.literal == "-12.5e+3")
        #expect(try parse("0") == .integer(0))
    }

    @Test func nestedDocumentKeepsMemberOrder() throws {
        let value = try parse(#"{"z": 1, "a": [true, null, {"m": "x"}], "k": {}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "k"])
        #expect(value["a"]?[2]?["m"] == .string("x"))
        #expect(value["k"] == .object(JSONObject()))
        #expect(value.text == #"{"z":1,"a":[true,null,{"m":"x"}],"k":{}}"#)
    }

    @Test func numbersKeepTheirLiteralAndConvert() throws {
        let big = try parse("18446744073709551615")
        #expect(big.numberValue?.literal == "18446744073709551615")
        #expect(big.int64Value == nil)  // beyond Int64, but the text survives
        #expect(big.text == "18446744073709551615")
        #expect(try parse("9223372036854775807").int64Value == Int64.max)
        #expect(try parse("-9223372036854775808").int64Value == Int64.min)
        #expect(try parse("1.0").int64Value == nil)
        #expect(try parse("1.5").numberValue?.doubleValue == 1.5)
        #expect(try parse("2E2").numberValue?.doubleValue == 200)
        #expect(try parse("2E2").numberValue?.isIntegerLiteral == false)
    }

    @Test func stringEscapesAndSurrogatePairs() throws {
        #expect(try parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u4E2D""#) == .string("Aé中"))
        #expect(try parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try parse(#""\ud834\udd1e""#) == .string("𝄞"))
        #expect(try parse("\"héllo 🌍\"") == .string("héllo 🌍"))
    }

    @Test func rejectsMalformedInputWithOffsets() {
        #expect(error("") == JSONParseError(.unexpectedEnd(expected: "a value"), at: 0))
        #expect(error("[1,]") == JSONParseError(.unexpectedByte(UInt8(ascii: "]"), expected: "a value"), at: 3))
        #expect(error("{\"a\":1,}") == JSONParseError(.unexpectedByte(UInt8(ascii: "}"), expected: "a string key"), at: 7))
        #expect(error("{'a':1}") == JSONParseError(.unexpectedByte(UInt8(ascii: "'"), expected: "a string key"), at: 1))
        #expect(error("{\"a\" 1}") == JSONParseError(.unexpectedByte(UInt8(ascii: "1"), expected: "':'"), at: 5))
        #expect(error("[1 2]") == JSONParseError(.unexpectedByte(UInt8(ascii: "2"), expected: "',' or ']'"), at: 3))
        #expect(error("[1") == JSONParseError(.unexpectedEnd(expected: "',' or ']'"), at: 2))
        #expect(error("\"abc") == JSONParseError(.unexpectedEnd(expected: "'\"' closing the string"), at: 4))
        #expect(error("tru")?.reason == .unexpectedEnd(expected: "the literal true (started at byte 0)"))
        #expect(error("nul1")?.offset == 3)
        #expect(error("// comment\n1")?.offset == 0)
    }

    @Test func rejectsNonRFCNumbers() {
        #expect(error("01") == JSONParseError(.trailingData, at: 1))
        #expect(error("-") == JSONParseError(.unexpectedEnd(expected: "a digit"), at: 1))
        #expect(error("1.") == JSONParseError(.unexpectedEnd(expected: "a digit"), at: 2))
        #expect(error("1.e5") == JSONParseError(.unexpectedByte(UInt8(ascii: "e"), expected: "a digit"), at: 2))
        #expect(error("1e") == JSONParseError(.unexpectedEnd(expected: "a digit"), at: 2))
        #expect(error("+1") == JSONParseError(.unexpectedByte(UInt8(ascii: "+"), expected: "a value"), at: 0))
        #expect(error(".5")?.offset == 0)
        #expect(error("NaN")?.offset == 0)
        #expect(error("Infinity")?.offset == 0)
        let long = String(repeating: "9", count: 129)
        #expect(error(long) == JSONParseError(.numberTooLong(limit: 128), at: 0))
        #expect(error("[" + long + "]") == JSONParseError(.numberTooLong(limit: 128), at: 1))
    }

    @Test func rejectsBadStrings() {
        #expect(error("\"a\u{1}b\"") == JSONParseError(.controlCharacterInString(1), at: 2))
        #expect(error("\"a\nb\"") == JSONParseError(.controlCharacterInString(0x0A), at: 2))
        #expect(error(#""\x""#) == JSONParseError(.invalidEscape(UInt8(ascii: "x")), at: 1))
        #expect(error(#""\u12G4""#) == JSONParseError(.invalidUnicodeEscape, at: 5))
        #expect(error(#""\u12""#) == JSONParseError(.invalidUnicodeEscape, at: 3))
        #expect(error(#""\uD83D""#) == JSONParseError(.unpairedSurrogate(0xD83D), at: 1))
        #expect(error(#""\uD83Dx""#) == JSONParseError(.unpairedSurrogate(0xD83D), at: 1))
        #expect(error(#""\uD83D\u0041""#) == JSONParseError(.unpairedSurrogate(0xD83D), at: 1))
        #expect(error(#""ab\uDE00""#) == JSONParseError(.unpairedSurrogate(0xDE00), at: 3))
    }

    @Test func rejectsInvalidUTF8() {
        let quote = UInt8(ascii: "\"")
        #expect(error(bytes: [quote, 0xFF, quote]) == JSONParseError(.invalidUTF8, at: 1))
        #expect(error(bytes: [quote, 0xC0, 0xAF, quote]) == JSONParseError(.invalidUTF8, at: 1))  // overlong '/'
        #expect(error(bytes: [quote, 0xE0, 0x80, 0xAF, quote]) == JSONParseError(.invalidUTF8, at: 2))  // overlong
        #expect(error(bytes: [quote, 0xED, 0xA0, 0x80, quote]) == JSONParseError(.invalidUTF8, at: 2))  // surrogate
        #expect(error(bytes: [quote, 0xF4, 0x90, 0x80, 0x80, quote]) == JSONParseError(.invalidUTF8, at: 2))
        #expect(error(bytes: [quote, 0xC3, quote]) == JSONParseError(.invalidUTF8, at: 2))
        #expect(error(bytes: [quote, 0xE4, 0xB8]) == JSONParseError(.invalidUTF8, at: 1))
        #expect(try! JSONValue(parsing: [quote, 0xC3, 0xA9, quote]) == .string("é"))
        #expect(error(bytes: [0xEF, 0xBB, 0xBF] + Array("1".utf8)) == JSONParseError(.byteOrderMark, at: 0))
    }

    @Test func rejectsDuplicateKeysAndTrailingGarbage() {
        #expect(error(#"{"a":1,"b":2,"a":3}"#) == JSONParseError(.duplicateKey("a"), at: 13))
        #expect(error("{} {}") == JSONParseError(.trailingData, at: 3))
        #expect(error("1 x") == JSONParseError(.trailingData, at: 2))
        #expect(error("[1]]") == JSONParseError(.trailingData, at: 3))
        #expect(error("\"a\"\u{0}") == JSONParseError(.trailingData, at: 3))
        #expect(throws: Never.self) { try JSONValue(parsing: " \t\r\n[1] \n") }
    }

    @Test func boundsDepthAndSize() throws {
        let limits = JSONLimits(maximumByteCount: 64, maximumDepth: 3, maximumNumberLiteralBytes: 8)
        #expect(try parse("[[[1]]]", limits: limits) == [[[1]]])
        #expect(error("[[[[1]]]]", limits: limits) == JSONParseError(.nestingTooDeep(limit: 3), at: 3))
        #expect(error(#"{"a":{"b":{"c":{}}}}"#, limits: limits) == JSONParseError(.nestingTooDeep(limit: 3), at: 15))
        let large = "[" + String(repeating: "1,", count: 40) + "1]"
        #expect(error(large, limits: limits) == JSONParseError(.inputTooLarge(byteCount: 83, limit: 64), at: 0))
        #expect(error("123456789", limits: limits) == JSONParseError(.numberTooLong(limit: 8), at: 0))
        // The default depth stops a hostile nesting long before the stack would.
        let hostile = String(repeating: "[", count: 100_000)
        #expect(error(hostile) == JSONParseError(.nestingTooDeep(limit: 64), at: 64))
    }

    @Test func errorsDescribeThemselves() {
        #expect(
            JSONParseError(.duplicateKey("a"), at: 13).description == "invalid JSON at byte 13: duplicate object key \"a\"")
        #expect(
            JSONParseError(.unexpectedByte(0x01, expected: "a value"), at: 0).description
                == "invalid JSON at byte 0: unexpected byte 0x01, expected a value")
        #expect(
            JSONParseError(.unpairedSurrogate(0xD83D), at: 4).description
                == "invalid JSON at byte 4: unpaired UTF-16 surrogate \\uD83D")
    }
}

@Suite struct JSONValueSerializingTests {
    @Test func compactCanonicalAndPretty() throws {
        let value: JSONValue = ["b": [1, 2.5, "x"], "a": ["d": nil, "c": true], "é": "\"q\"\n"]
        #expect(value.text == #"{"b":[1,2.5,"x"],"a":{"d":null,"c":true},"é":"\"q\"\n"}"#)
        #expect(value.canonicalText == #"{"a":{"c":true,"d":null},"b":[1,2.5,"x"],"é":"\"q\"\n"}"#)
        #expect(
            value.serialized(.pretty) == """
                {
                  "b": [
                    1,
                    2.5,
                    "x"
                  ],
                  "a": {
                    "d": null,
                    "c": true
                  },
                  "é": "\\"q\\"\\n"
                }
                """)
        #expect(JSONValue.array([]).serialized(.pretty) == "[]")
        #expect(JSONValue.object(JSONObject()).serialized(.pretty) == "{}")
    }

    @Test func canonicalFormIgnoresMemberOrderButEqualityDoesNot() throws {
        let first = try JSONValue(parsing: #"{"x":{"q":1,"p":2},"y":[{"b":0,"a":0}]}"#)
        let second = try JSONValue(parsing: #"{"y":[{"a":0,"b":0}],"x":{"p":2,"q":1}}"#)
        #expect(first != second)
        #expect(first.canonicalText == second.canonicalText)
    }

    @Test func controlCharactersAndSurrogatesRoundTrip() throws {
        let text = "\u{0}\u{1F}\u{7F} \u{2028} 😀 \\"
        let value = JSONValue.string(text)
        #expect(value.text == "\"\\u0000\\u001f\u{7F} \u{2028} 😀 \\\\\"")
        #expect(try JSONValue(parsing: value.text) == value)
    }

    @Test func doublesAndIntegersBuildValidLiterals() {
        #expect(JSONNumber(0.1)?.literal == "0.1")
        #expect(JSONNumber(3.0)?.literal == "3")
        #expect(JSONNumber(-0.0)?.literal == "0")
        #expect(JSONNumber(1e-5)?.literal == "1e-05")
        #expect(JSONNumber(1.5e300)?.literal == "1.5e+300")
        #expect(JSONNumber(Double.infinity) == nil)
        #expect(JSONNumber(Double.nan) == nil)
        #expect(JSONNumber(literal: "01") == nil)
        #expect(JSONNumber(literal: "1e-05")?.doubleValue == 1e-5)
        #expect(JSONNumber(Int64.min).literal == "-9223372036854775808")
    }

    @Test func objectEditingKeepsOrderAndUniqueness() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["c"] = 3
        object["a"] = 10
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == 10)
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object.sortedByKey().keys == ["a", "c"])
        #expect(JSONValue.object(object).text == #"{"a":10,"c":3}"#)
    }

    /// Seeded property: random values survive serialize → parse unchanged,
    /// in compact, pretty and canonical form (canonical as the sorted value).
    @Test func randomValuesRoundTrip() throws {
        let seed: UInt64 = 0x15_0A_7E
        var random = SeededGenerator(seed: seed)
        func randomString() -> String {
            let pool: [Unicode.Scalar] = ["a", "Z", "\"", "\\", "\n", "\u{0}", "\u{1F}", "é", "中", "😀", "/", " "]
            var text = String.UnicodeScalarView()
            for _ in 0..<Int(random.next() % 6) { text.append(pool[Int(random.next() % UInt64(pool.count))]) }
            return String(text)
        }
        func randomValue(depth: Int) -> JSONValue {
            switch random.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(random.next() % 2 == 0)
            case 2:
                let literals = ["0", "-1", "12.75", "1e9", "-0.5E-3", String(random.next())]
                return .number(JSONNumber(literal: literals[Int(random.next() % 6)])!)
            case 3: return .string(randomString())
            case 4: return .array((0..<Int(random.next() % 4)).map { _ in randomValue(depth: depth + 1) })
            default:
                var object = JSONObject()
                for _ in 0..<Int(random.next() % 4) { object[randomString()] = randomValue(depth: depth + 1) }
                return .object(object)
            }
        }
        func sortedDeep(_ value: JSONValue) -> JSONValue {
            switch value {
            case .array(let elements): return .array(elements.map(sortedDeep))
            case .object(let object):
                var sorted = JSONObject()
                for member in object.sortedByKey() { sorted[member.key] = sortedDeep(member.value) }
                return .object(sorted)
            default: return value
            }
        }
        for round in 0..<400 {
            let value = randomValue(depth: 0)
            #expect(try JSONValue(parsing: value.text) == value, "seed \(seed) round \(round)")
            #expect(try JSONValue(parsing: value.serialized(.pretty)) == value, "seed \(seed) round \(round)")
            #expect(try JSONValue(parsing: value.canonicalText) == sortedDeep(value), "seed \(seed) round \(round)")
        }
    }

    /// Seeded property: every prefix and every single-byte corruption of a
    /// valid document is an error or a value, never a crash.
    @Test func corruptedInputNeverTraps() {
        let seed: UInt64 = 0xBAD_15
        var random = SeededGenerator(seed: seed)
        let document = Array(#"{"a":[1,-2.5e3,true,null],"b":{"c":"\u00e9\uD83D\uDE00x"},"d":"é"}"#.utf8)
        for cut in 0..<document.count {
            #expect(throws: JSONParseError.self, "prefix \(cut)") { try JSONValue(parsing: Array(document.prefix(cut))) }
        }
        for _ in 0..<2_000 {
            var corrupted = document
            corrupted[Int(random.next() % UInt64(document.count))] = UInt8(truncatingIfNeeded: random.next())
            _ = try? JSONValue(parsing: corrupted)
        }
    }
}
