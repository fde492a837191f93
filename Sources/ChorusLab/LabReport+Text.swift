import Foundation

extension LabReport {
    /// The JSON report: sorted keys (stable across runs and versions), two-space indent.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    public static func decode(json: String) throws -> LabReport {
        try JSONDecoder().decode(LabReport.self, from: Data(json.utf8))
    }

    /// The columns of the terminal table, left to right: latencies in ms
    /// (p50/p99/p999), then violations per check (a `*` marks the level's own
    /// checks), then staleness (versions and ms, p50/p99/max).
    static let tableChecks: [(LabCheck, String)] = [
        (.staleReads, "stale"), (.maximumVersions, "K>10"), (.maximumLag, "T>100"), (.readYourWrites, "RYW"),
        (.monotonicReads, "MR"), (.monotonicWrites, "MW"), (.writesFollowReads, "WFR"), (.consistentPrefix, "prefix"),
        (.integrity, "integrity"),
    ]

    /// The aligned terminal table, one row per level, and a legend.
    public func table() -> String {
        var rows: [[String]] = [
            ["level", "reads/s", "read ms p50/p99/p999", "write ms p50/p99/p999"] + Self.tableChecks.map(\.1)
                + ["stale versions p50/p99/max", "stale ms p50/p99/max", "own"]
        ]
        for level in levels {
            let checks = Self.tableChecks.map { entry -> String in
                guard let found = level.check(entry.0) else { return "-" }
                return "\(found.violations)" + (found.own ? "*" : "")
            }
            rows.append(
                [level.level.rawValue, format(level.readsPerSecond, digits: 0), triple(level.readLatencyMilliseconds),
                 triple(level.writeLatencyMilliseconds)] + checks
                    + [
                        staleness(level.staleness.versions, digits: 0), staleness(level.staleness.milliseconds, digits: 1),
                        level.ownViolations == 0 ? "ok" : "VIOLATED",
                    ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        lines.insert(String(repeating: "-", count: lines[0].count), at: 1)
        lines.append("")
        lines.append(
            "violations per checker (* the level's own guarantee); \(configuration.nodes) nodes, \(configuration.clients) clients "
                + "and \(configuration.writers) writers per level, \(configuration.phaseMilliseconds) ms per level, "
                + "peer delay \(configuration.peerDelayMilliseconds) ms")
        return lines.joined(separator: "\n") + "\n"
    }

    private func triple(_ percentiles: Percentiles) -> String {
        guard percentiles.count > 0 else { return "-" }
        return "\(format(percentiles.p50, digits: 1))/\(format(percentiles.p99, digits: 1))/\(format(percentiles.p999, digits: 1))"
    }

    private func staleness(_ percentiles: Percentiles, digits: Int) -> String {
        guard percentiles.count > 0 else { return "-" }
        return "\(format(percentiles.p50, digits: digits))/\(format(percentiles.p99, digits: digits))/\(format(percentiles.max, digits: digits))"
    }
}

/// A number with a fixed count of decimals (no locale).
func format(_ value: Double, digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}
