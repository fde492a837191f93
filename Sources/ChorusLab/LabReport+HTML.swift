/// The lab's self-contained HTML page: the table, and plots of read
/// latency against staleness with one point per level, as inline SVG drawn
/// here. No script, no style sheet or font from elsewhere: the page opens
/// from a file with no network.
extension LabReport {
    public func html() -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Chorus consistency lab</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
            th:first-child,td:first-child{text-align:left}td.own{background:#eef6ee}td.bad{background:#f8d7d7;font-weight:bold}
            svg{border:1px solid #ddd;margin:1em 1em 0 0}p.note{color:#555;font-size:13px}
            </style></head><body>
            <h1>Chorus consistency lab</h1>
            <p class="note">\(configuration.nodes) nodes (real processes), \(configuration.clients) clients and \(configuration.writers) writers per level, \(configuration.phaseMilliseconds) ms per level, peer delay \(configuration.peerDelayMilliseconds) ms. Shaded cells are each level's own guarantee; a red cell is a violation of it.</p>

            """
        page += tableHTML()
        page += anomaliesHTML()
        let points = levels.map { level in
            PlotPoint(
                label: level.level.rawValue,
                x: level.staleness.measuredReads > 0 ? 100 * Double(level.staleness.staleReads) / Double(level.staleness.measuredReads) : 0,
                y: level.readLatencyMilliseconds.p50)
        }
        page += scatter(title: "read latency p50 against stale reads", xLabel: "stale reads (% of reads)", yLabel: "read p50 (ms)", points: points)
        let tails = levels.map { level in
            PlotPoint(label: level.level.rawValue, x: level.staleness.milliseconds.max, y: level.readLatencyMilliseconds.p99)
        }
        page += scatter(title: "read latency p99 against the stalest read", xLabel: "staleness max (ms)", yLabel: "read p99 (ms)", points: tails)
        page += "\n</body></html>\n"
        return page
    }

    private func tableHTML() -> String {
        var html = "<table><tr><th>level</th><th>reads/s</th><th>read ms p50/p99/p999</th><th>write ms p50/p99/p999</th>"
        for (_, name) in Self.tableChecks { html += "<th>\(escape(name))</th>" }
        html += "<th>stale versions p50/p99/max</th><th>stale ms p50/p99/max</th></tr>\n"
        for level in levels {
            html += "<tr><td>\(escape(level.level.rawValue))</td><td>\(format(level.readsPerSecond, digits: 0))</td>"
            html += "<td>\(milliseconds(level.readLatencyMilliseconds))</td><td>\(milliseconds(level.writeLatencyMilliseconds))</td>"
            for (check, _) in Self.tableChecks {
                guard let found = level.check(check) else {
                    html += "<td>-</td>"
                    continue
                }
                let kind = found.own ? (found.violations > 0 ? " class=\"bad\"" : " class=\"own\"") : ""
                let title = found.example.map { " title=\"\(escape($0))\"" } ?? ""
                html += "<td\(kind)\(title)>\(found.violations)</td>"
            }
            let versions = level.staleness.versions
            let lags = level.staleness.milliseconds
            html += "<td>\(format(versions.p50, digits: 0))/\(format(versions.p99, digits: 0))/\(format(versions.max, digits: 0))</td>"
            html += "<td>\(format(lags.p50, digits: 1))/\(format(lags.p99, digits: 1))/\(format(lags.max, digits: 1))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// Each check that found something, per level, with the checker's first
    /// counterexample: the operations that show it, named in one sentence.
    private func anomaliesHTML() -> String {
        var items: [String] = []
        for level in levels {
            for found in level.checks where found.violations > 0 {
                let kind = found.own ? "<strong>a violation of its own guarantee</strong>" : "beyond what the level promises"
                var item = "<li>\(escape(level.level.rawValue)): \(found.violations) \(escape(found.check.rawValue)) (\(kind))"
                if let example = found.example { item += ", e.g. \(escape(example))" }
                items.append(item + "</li>")
            }
        }
        guard !items.isEmpty else { return "<p>No checker found an anomaly at any level.</p>\n" }
        return "<h2>Anomalies</h2><ul>\n" + items.joined(separator: "\n") + "\n</ul>\n"
    }

    private func milliseconds(_ percentiles: Percentiles) -> String {
        "\(format(percentiles.p50, digits: 1))/\(format(percentiles.p99, digits: 1))/\(format(percentiles.p999, digits: 1))"
    }
}

struct PlotPoint {
    var label: String
    var x: Double
    var y: Double
}

/// A scatter plot as inline SVG: linear axes from 0 to a little past the
/// largest value, five ticks each, one labelled dot per point.
func scatter(title: String, xLabel: String, yLabel: String, points: [PlotPoint]) -> String {
    let width = 520.0
    let height = 360.0
    let left = 60.0
    let right = 150.0
    let top = 30.0
    let bottom = 50.0
    let xMaximum = niceCeiling(points.map(\.x).max() ?? 0)
    let yMaximum = niceCeiling(points.map(\.y).max() ?? 0)
    func px(_ x: Double) -> Double { left + (width - left - right) * x / xMaximum }
    func py(_ y: Double) -> Double { height - bottom - (height - top - bottom) * y / yMaximum }
    var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
    svg += "<title>\(escape(title))</title>"
    svg += "<text x=\"\(left)\" y=\"18\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>"
    svg += "<line x1=\"\(left)\" y1=\"\(py(0))\" x2=\"\(px(xMaximum))\" y2=\"\(py(0))\" stroke=\"#333\"/>"
    svg += "<line x1=\"\(left)\" y1=\"\(py(0))\" x2=\"\(left)\" y2=\"\(py(yMaximum))\" stroke=\"#333\"/>"
    for tick in 0...5 {
        let x = xMaximum * Double(tick) / 5
        let y = yMaximum * Double(tick) / 5
        svg += "<text x=\"\(format(px(x), digits: 1))\" y=\"\(py(0) + 16)\" font-size=\"11\" text-anchor=\"middle\">\(tickLabel(x))</text>"
        svg += "<text x=\"\(left - 6)\" y=\"\(format(py(y) + 4, digits: 1))\" font-size=\"11\" text-anchor=\"end\">\(tickLabel(y))</text>"
    }
    svg += "<text x=\"\(format((left + px(xMaximum)) / 2, digits: 1))\" y=\"\(height - 12)\" font-size=\"12\" text-anchor=\"middle\">\(escape(xLabel))</text>"
    svg += "<text x=\"14\" y=\"\(format((top + py(0)) / 2, digits: 1))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(format((top + py(0)) / 2, digits: 1)))\">\(escape(yLabel))</text>"
    let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for (index, point) in points.enumerated() {
        let colour = colours[index % colours.count]
        let x = format(px(point.x), digits: 1)
        let y = format(py(point.y), digits: 1)
        svg += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"5\" fill=\"\(colour)\"><title>\(escape(point.label)): \(format(point.x, digits: 2)), \(format(point.y, digits: 2))</title></circle>"
        let legendY = top + 16 * Double(index) + 10
        svg += "<circle cx=\"\(width - right + 16)\" cy=\"\(legendY)\" r=\"5\" fill=\"\(colour)\"/>"
        svg += "<text x=\"\(width - right + 26)\" y=\"\(legendY + 4)\" font-size=\"11\">\(escape(point.label))</text>"
    }
    return svg + "</svg>\n"
}

/// 1, 2 or 5 times a power of ten, at least `value` (1 for 0 or less).
func niceCeiling(_ value: Double) -> Double {
    guard value > 0 else { return 1 }
    var step = 1.0
    while step < value { step *= 10 }
    while step / 10 >= value { step /= 10 }
    for factor in [0.2, 0.5] where step * factor >= value { return step * factor }
    return step
}

private func tickLabel(_ value: Double) -> String {
    value == value.rounded() ? format(value, digits: 0) : (value * 10 == (value * 10).rounded() ? format(value, digits: 1) : format(value, digits: 2))
}

/// Text for HTML content and attribute values.
func escape(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        default: escaped.append(character)
        }
    }
    return escaped
}
