import ChorusCore
import FuzzSupport

/// `JSONValue`'s strict parser (RFC 8259, bounded by `JSONLimits`) and its
/// serializer: a parsed value's text parses back to an equal value in every
/// formatting (compact, canonical, pretty), each text is a fixed point, and
/// the canonical text does not depend on member order.
///
/// Input: the JSON text, parsed under tight limits so the depth and number
/// bounds are reached.
enum JSONHarness {
    static let limits = JSONLimits(maximumByteCount: 1 << 16, maximumDepth: 16, maximumNumberLiteralBytes: 40)

    static func run(_ bytes: [UInt8]) {
        guard let value = try? JSONValue(parsing: bytes, limits: limits) else { return }
        for formatting in [JSONValue.Formatting.compact, .pretty] {
            Check.roundTrip(
                value, "JSONValue text", encode: { Array($0.serialized(formatting).utf8) },
                decode: { (text: [UInt8]) throws(JSONParseError) in try JSONValue(parsing: text, limits: .default) })
        }
        // The canonical text sorts keys, so it is compared as text.
        Check.encodingRoundTrip(
            value, "JSONValue canonical text", encode: { Array($0.canonicalText.utf8) },
            decode: { (text: [UInt8]) throws(JSONParseError) in try JSONValue(parsing: text, limits: .default) })
        if case .number(let number) = value {
            _ = number.int64Value
            _ = number.doubleValue
            precondition(JSONNumber(literal: number.literal) == number, "a parsed number's literal is not a number")
        }
    }

    static func seeds() -> [Seed] {
        let texts = [
            #"{"name":"transfer","version":1,"steps":[{"id":"debit","kind":"compensable"}],"deadlineMilliseconds":60000}"#,
            #"[null,true,false,0,-0,1.5e-3,12345678901234567890,"\u00e9\ud83d\ude00\n\t\"\\\/"]"#,
            #"  {"a": {"b": [[], {}, [1, [2, [3]]]]}, "é": "x"}  "#,
            #""plain string""#,
            "-12.5E+7",
        ]
        return texts.enumerated().map { Seed("json-\($0.offset)", Array($0.element.utf8)) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    JSONHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzJSONMain {
    static func main() { FuzzMain.run(seeds: JSONHarness.seeds, testOneInput: fuzzJSON) }
}
