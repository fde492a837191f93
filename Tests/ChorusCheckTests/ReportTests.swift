import ChorusCheck
import Foundation
import Testing

/// The JSON and HTML reports carry the verdict and the counterexample.
@Suite struct ReportTests {
    func staleReadReport() throws -> [FileReport] {
        let history = try History(events: [
            e(0, .invoke, "write", 1), e(0, .ok, "write", 1),
            e(1, .invoke, "read"), e(1, .ok, "read", .null),
        ])
        let result = try ModelKind.casRegister.check(history, condition: .linearizable)
        return [
            FileReport(name: "stale<read>.edn", outcome: .checked(history, result)),
            FileReport(name: "missing.edn", outcome: .failed("no such file")),
        ]
    }

    @Test func jsonReportIsValidJSONWithTheCounterexample() throws {
        let text = CheckReport.json(condition: .linearizable, model: "cas-register", files: try staleReadReport())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let files = try #require(object["files"] as? [[String: Any]])
        #expect(files.count == 2)
        #expect(files[0]["verdict"] as? String == "violated")
        #expect(files[0]["summary"] as? String == "not linearizable")
        let counterexample = try #require(files[0]["counterexample"] as? [String: Any])
        #expect(counterexample["stateAtEnd"] as? String == "1")
        let blocking = try #require(counterexample["blocking"] as? [String: Any])
        #expect(blocking["summary"] as? String == "p1 read nil → nil")
        #expect(files[1]["verdict"] as? String == "error")
    }

    @Test func htmlPageIsSelfContainedAndHighlightsTheCounterexample() throws {
        let page = HTMLReport.page(condition: .linearizable, model: "cas-register", files: try staleReadReport())
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(!page.contains("src=\"http") && !page.contains("href=\"http"))
        #expect(page.contains("stale&lt;read&gt;.edn"))
        #expect(page.contains("class=\"op unplaceable blocking\""))
        #expect(page.contains("class=\"op placed\""))
        #expect(page.contains("not linearizable"))
        #expect(page.contains("no such file"))
        #expect(page.contains("data-tip=\"p1 read nil → nil"))
    }
}
