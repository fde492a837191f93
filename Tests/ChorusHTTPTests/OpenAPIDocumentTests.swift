import ChorusAPI
import ChorusClocks
import ChorusCore
import ChorusService
import Foundation
import Testing

@testable import ChorusHTTP

/// `openapi.yaml` against the code it describes: the error codes it lists are
/// exactly `ErrorCode`'s, and each header grammar it gives as a `pattern`
/// accepts exactly what the node's parser accepts (on fixed cases and on
/// seeded random texts near the grammar), so the contract a fuzzer reads is
/// the one the server enforces.
@Suite struct OpenAPIDocumentTests {
    /// The `enum:` of `components.schemas.Error.properties.error.properties.code`.
    static func documentedErrorCodes() -> [String] {
        let yaml = OpenAPIDocument.yaml
        guard let start = yaml.range(of: "              enum: [bad_request,") else { return [] }
        let rest = yaml[start.lowerBound...]
        guard let end = rest.firstIndex(of: "]") else { return [] }
        let list = rest[rest.index(after: rest.firstIndex(of: "[")!)..<end]
        return list.split(separator: ",").map { String($0).trimmingCharacters(inSpacesAndNewlines: ()) }
    }

    @Test func theErrorCodesAreExactlyErrorCodes() {
        let documented = Self.documentedErrorCodes()
        #expect(documented.count == Set(documented).count, "a code is listed twice")
        #expect(Set(documented) == Set(ErrorCode.allCases.map(\.rawValue)))
    }

    /// The `pattern:` on the line after `key:` (or on the same line) in the document.
    static func pattern(after key: String) throws -> Regex<AnyRegexOutput> {
        let yaml = OpenAPIDocument.yaml
        let start = try #require(yaml.range(of: key), "\(key) is not in openapi.yaml")
        let rest = yaml[start.upperBound...]
        let marker = try #require(rest.range(of: "pattern: '"))
        let text = rest[marker.upperBound...].prefix { $0 != "'" }
        return try Regex(String(text))
    }

    static func matches(_ regex: Regex<AnyRegexOutput>, _ text: String) -> Bool { (try? regex.wholeMatch(in: text)) != nil }

    /// Texts near a grammar: pieces of it, recombined at random.
    static func nearby(_ pieces: [String], count: Int, seed: UInt64) -> [String] {
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let length = Int(random.next() % 8)
            return (0..<length).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
        }
    }

    @Test func theIdempotencyPatternIsTheParser() throws {
        let regex = try Self.pattern(after: "    Idempotency:")
        let seed: UInt64 = 1_515
        print("idempotency grammar seed \(seed)")
        let fixed = ["77.1", "1.1", "0.1", "1.0", "01.1", "9223372036854775807.1", "12345678901234567890.1", "1.2.3", "", "."]
        for text in fixed + Self.nearby(["1", "0", "9", ".", "12345678", "a", " "], count: 2_000, seed: seed) {
            #expect(Self.matches(regex, text) == (WriteSession(header: text) != nil), "\(text)")
        }
    }

    @Test func theSessionPatternIsTheParser() throws {
        let regex = try Self.pattern(after: "      name: X-Chorus-Session")
        let seed: UInt64 = 2_727
        print("session grammar seed \(seed)")
        let token = SessionToken(epoch: 0xAB, index: LogIndex(17), leaderless: VersionVector([(1, 2), (9, 40)] as [(ReplicaID, UInt64)]))
        #expect(Self.matches(regex, token.text), "a token the node issues matches")
        let fixed = [token.text, token.text + ", " + token.text, token.text + ",", "s1.00000000000000ab.0", "s1.ab.0", "x"]
        let pieces = ["s1", ".", "00000000000000ab", "0", "f", "-", "1", ",", " ", "A", "s2", "0000000000000001"]
        for text in fixed + Self.nearby(pieces, count: 3_000, seed: seed) {
            let parsed = (try? SessionToken.tokens(inHeader: text)) != nil
            #expect(Self.matches(regex, text) == parsed, "\(text)")
        }
    }

    @Test func theContextPatternIsTheParser() throws {
        let regex = try Self.pattern(after: "      name: X-Chorus-Context")
        let seed: UInt64 = 3_939
        print("context grammar seed \(seed)")
        let vector = VersionVector([(3, 5), (12, 1)] as [(ReplicaID, UInt64)])
        #expect(LeaderlessKeyValueAPI.encode(vector) == "c.3-5.c-1")
        #expect(Self.matches(regex, LeaderlessKeyValueAPI.encode(vector)))
        for text in ["c", "c.1-1", "c.", "c.1", "C.1-1", "c.1-1.2-2"] + Self.nearby(["c", ".", "1", "-", "f", "g", "0"], count: 2_000, seed: seed) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            let parsed = parts.first == "c" && VersionVectorText.parse(parts.dropFirst()) != nil
            #expect(Self.matches(regex, text) == parsed, "\(text)")
        }
    }

    @Test func theEntityTagPatternIsTheParser() throws {
        let regex = try Self.pattern(after: "        - name: If-Match")
        for text in ["\"0\"", "\"42\"", "\"042\"", "42", "W/\"4\"", "*", "\"\"", "\"1\", \"2\"", "\"12345678901234567890\""] {
            let strong: Bool
            if case .strong = KeyValueAPI.parseEntityTag(text) { strong = true } else { strong = false }
            #expect(Self.matches(regex, text) == strong, "\(text)")
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(inSpacesAndNewlines: ()) -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\n" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\n" { slice = slice.dropLast() }
        return String(slice)
    }
}
