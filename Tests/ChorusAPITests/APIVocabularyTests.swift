import ChorusCore
import Testing

@testable import ChorusAPI

@Suite struct APIVocabularyTests {
    @Test func everyCodeHasAStatusAndRetryableCodesAreUnavailableOrRedirects() {
        #expect(Set(ErrorCode.allCases.map(\.rawValue)).count == ErrorCode.allCases.count)
        for code in ErrorCode.allCases {
            #expect((300..<600).contains(code.httpStatus), "\(code)")
            #expect(code.rawValue.allSatisfy { $0 == "_" || $0.isLowercase }, "codes are snake_case: \(code)")
            if code.isRetryable { #expect([307, 503].contains(code.httpStatus), "\(code)") }
        }
        #expect(!ErrorCode.outcomeUnknown.isRetryable, "retrying an unknown outcome without a session may apply twice")
    }

    @Test func errorBodiesRoundTripAndUnknownCodesAreNotGuessed() throws {
        let problem = APIProblem(.versionMismatch, "the key's version is \"42\"\n")
        #expect(APIProblem(json: Array(problem.json.utf8)) == problem)
        #expect(APIProblem(json: Array(#"{"error":{"code":"from_the_future","message":"x"}}"#.utf8)) == nil)
        #expect(APIProblem(json: Array("not json".utf8)) == nil)
        #expect(APIProblem(json: Array(#"{"error":"no"}"#.utf8)) == nil)
    }

    @Test func levelsParseOrListTheChoices() throws {
        #expect(try ConsistencyLevel.parse("sequential") == .sequential)
        do {
            _ = try ConsistencyLevel.parse("strong")
            Issue.record("an unknown level was accepted")
        } catch {
            #expect(error.code == .invalidConsistency)
            #expect(error.message.contains("linearizable"))
        }
    }
}
