import ChorusCheck
import Foundation
import Testing

/// The property checkers' JSON and HTML reports carry each property's
/// verdict and its examples, with the offending operations highlighted.
@Suite struct PropertyReportTests {
    func reports() throws -> [PropertyFileReport] {
        var builder = KeyValueHistoryBuilder()
        builder.write("a", "x", 0, v: 1)
        builder.read("a", "x", .null)
        let history = try builder.history()
        let result = try SessionChecker.check(history)
        return [
            PropertyFileReport(name: "ryw<1>.jsonl", outcome: .checked(history.displayHistory, result), laneNames: [0: "client a"]),
            PropertyFileReport(name: "missing.jsonl", outcome: .failed("no such file")),
        ]
    }

    @Test func jsonNamesEveryPropertyAndTheOperationsOfEachExample() throws {
        let text = PropertyReport.json(checker: "session", options: .map([.init(key: "k", value: 1)]), files: try reports())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["checker"] as? String == "session")
        #expect((object["options"] as? [String: Any])?["k"] as? Int == 1)
        let files = try #require(object["files"] as? [[String: Any]])
        #expect(files[0]["verdict"] as? String == "violated")
        #expect(files[0]["summary"] as? String == "violates read-your-writes")
        let properties = try #require(files[0]["properties"] as? [[String: Any]])
        #expect(properties.map { $0["name"] as? String } == ["read-your-writes", "monotonic-reads", "monotonic-writes", "writes-follow-reads", "integrity"])
        #expect(properties[0]["violations"] as? Int == 1)
        let example = try #require((properties[0]["examples"] as? [[String: Any]])?.first)
        let operations = try #require(example["operations"] as? [[String: Any]])
        #expect(operations.map { $0["id"] as? Int } == [0, 1])
        #expect(files[1]["verdict"] as? String == "error")
    }

    @Test func htmlHighlightsTheFirstExample() throws {
        let page = PropertyReport.html(checker: "session", title: "session guarantees", files: try reports())
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(!page.contains("src=\"http") && !page.contains("href=\"http"))
        #expect(page.contains("ryw&lt;1&gt;.jsonl"))
        #expect(page.contains("class=\"op offending\" data-id=\"0\""))
        #expect(page.contains("class=\"op offending\" data-id=\"1\""))
        #expect(page.contains("data-ops=\"0 1\""))
        #expect(page.contains(">client a</span>"))
        #expect(page.contains("no such file"))
    }
}
