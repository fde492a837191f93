import ChorusCheck
@testable import ChorusLab
import Foundation
import Testing

@Suite struct LabReportTests {
    static func report() throws -> LabReport {
        var configuration = LabConfiguration(executable: "/usr/bin/true")
        configuration.durationSeconds = 6
        configuration.clients = 2
        configuration.levels = [.linearizable, .eventual]
        return LabReport(
            configuration: LabReport.Settings(configuration),
            levels: [try LabAnalysisTests.report(.linearizable), try LabAnalysisTests.report(.eventual)])
    }

    @Test func onlyLevelsThatBrokeTheirOwnGuaranteeAreListed() throws {
        #expect(try Self.report().levelsViolatingOwnGuarantee == [.linearizable])
    }

    @Test func theJSONHasStableKeysAndRoundTrips() throws {
        let report = try Self.report()
        let json = try report.json()
        #expect(try LabReport.decode(json: json) == report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object.keys.sorted() == ["configuration", "levels", "levelsViolatingOwnGuarantee"])
        let levels = try #require(object["levels"] as? [[String: Any]])
        #expect(levels.map { $0["level"] as? String } == ["linearizable", "eventual"])
        #expect(levels[0].keys.sorted() == [
            "checks", "level", "ownViolations", "query", "rangeReads", "readLatencyMilliseconds", "reads", "readsPerSecond",
            "seconds", "staleness", "writeLatencyMilliseconds", "writes",
        ])
        let latency = try #require(levels[0]["readLatencyMilliseconds"] as? [String: Any])
        #expect(latency.keys.sorted() == ["count", "max", "p50", "p99", "p999"])
        // Sorted keys: the same report prints the same bytes.
        #expect(try report.json() == json)
        #expect(json.contains("\"configuration\" : {\n    \"clients\" : 2,\n    \"durationSeconds\" : 6,"))
    }

    @Test func theTableHasOneAlignedRowPerLevel() throws {
        let lines = try Self.report().table().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].hasPrefix("level"))
        #expect(lines[2].hasPrefix("linearizable "))
        #expect(lines[3].hasPrefix("eventual "))
        #expect(lines[2].hasSuffix("VIOLATED"))
        #expect(lines[3].hasSuffix("ok"))
        #expect(Set(lines[0...3].map(\.count)).count == 1, "header, rule and rows are one width")
        // Own checks carry a star: linearizable's 2 stale reads are its own, eventual's are not.
        #expect(lines[2].contains(" 2* "))
        #expect(lines[3].contains(" 2 "))
    }

    @Test func theHTMLPageIsSelfContainedAndPlots() throws {
        let html = try Self.report().html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 2)
        #expect(html.components(separatedBy: "<circle ").count - 1 == 2 * 2 * 2, "a dot and a legend mark per level and plot")
        #expect(!html.contains("<script"))
        #expect(!html.contains("http"))
        #expect(!html.contains("src="))
        #expect(html.contains("<td class=\"bad\""))
        // The planted anomalies, each with its counterexample: linearizable's own, eventual's beyond its level.
        #expect(html.contains("<li>linearizable: 2 stale-reads (<strong>a violation of its own guarantee</strong>), e.g. "))
        #expect(html.contains("<li>eventual: 1 monotonic-reads (beyond what the level promises), e.g. "))
        #expect(html.components(separatedBy: "<li>").count - 1 == 4, "stale reads and monotonic reads, at both levels")
        #expect(html.hasSuffix("</html>\n"))
    }

    @Test func escapingAndAxisCeilings() {
        #expect(escape("<a & \"b\">") == "&lt;a &amp; &quot;b&quot;&gt;")
        #expect(niceCeiling(0) == 1)
        #expect(niceCeiling(0.3) == 0.5)
        #expect(niceCeiling(1) == 1)
        #expect(niceCeiling(15) == 20)
        #expect(niceCeiling(35) == 50)
        #expect(niceCeiling(51) == 100)
    }
}
