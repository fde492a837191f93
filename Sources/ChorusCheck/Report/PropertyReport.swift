/// One file checked by a property checker (session, staleness, prefix,
/// causal, events), as the CLI reports it in text, JSON and HTML.
public struct PropertyFileReport: Sendable {
    public enum Outcome: Sendable {
        /// The history as reports draw it, and what the checker found.
        case checked(History, PropertyCheckResult)
        /// The file could not be read or checked; the message says why (and where).
        case failed(String)
    }

    public var name: String
    public var outcome: Outcome
    /// Lane labels for the timeline, such as subscriber names.
    public var laneNames: [ProcessID: String]

    public init(name: String, outcome: Outcome, laneNames: [ProcessID: String] = [:]) {
        self.name = name
        self.outcome = outcome
        self.laneNames = laneNames
    }
}

/// Machine-readable reports of the property checkers (`chorus check session --json`, …).
public enum PropertyReport {
    /// One JSON document: the checker, its options, and per file the verdict,
    /// each property's verdict with its violation count and examples (every
    /// operation spelled out), and the checker's statistics.
    public static func json(checker: String, options: HistoryValue = .map([]), files: [PropertyFileReport]) -> String {
        var output = "{\"checker\": "
        JSONText.writeString(checker, to: &output)
        output += ", \"options\": "
        JSONText.write(options, to: &output)
        output += ", \"files\": ["
        for (index, file) in files.enumerated() {
            output += index == 0 ? "\n  " : ",\n  "
            write(file, to: &output)
        }
        output += "\n]}"
        return output
    }

    private static func write(_ file: PropertyFileReport, to output: inout String) {
        output += "{\"file\": "
        JSONText.writeString(file.name, to: &output)
        switch file.outcome {
        case .failed(let message):
            output += ", \"verdict\": \"error\", \"error\": "
            JSONText.writeString(message, to: &output)
        case .checked(let history, let result):
            output += ", \"verdict\": \"\(result.verdict.rawValue)\", \"summary\": "
            JSONText.writeString(result.phrase, to: &output)
            let seconds = Double(result.duration.components.seconds) + Double(result.duration.components.attoseconds) * 1e-18
            output += ", \"seconds\": \(seconds), \"operations\": \(history.operations.count), \"properties\": ["
            for (index, property) in result.properties.enumerated() {
                if index > 0 { output += ", " }
                output += "{\"name\": "
                JSONText.writeString(property.name, to: &output)
                output += ", \"verdict\": \"\(property.verdict.rawValue)\", \"violations\": \(property.violationCount)"
                if let note = property.note {
                    output += ", \"note\": "
                    JSONText.writeString(note, to: &output)
                }
                output += ", \"examples\": ["
                for (number, violation) in property.violations.enumerated() {
                    if number > 0 { output += ", " }
                    output += "{\"explanation\": "
                    JSONText.writeString(violation.explanation, to: &output)
                    output += ", \"operations\": ["
                    for (position, id) in violation.operationIDs.enumerated() {
                        if position > 0 { output += ", " }
                        write(history.operations[id], to: &output)
                    }
                    output += "]}"
                }
                output += "]}"
            }
            output += "], \"statistics\": "
            JSONText.write(result.statistics, to: &output)
        }
        output += "}"
    }

    private static func write(_ operation: Operation, to output: inout String) {
        output += "{\"id\": \(operation.id), \"process\": \(operation.process.rawValue), \"summary\": "
        JSONText.writeString(operation.summary, to: &output)
        if let line = operation.invokeLine { output += ", \"line\": \(line)" }
        output += "}"
    }

    /// One self-contained page, drawn like the linearizability report: a
    /// summary table, then per file each property's verdict and its
    /// examples, over the timeline of the history. The first example's
    /// operations are red, the other examples' amber; clicking an example
    /// outlines its operations and scrolls to them.
    public static func html(checker: String, title: String, files: [PropertyFileReport]) -> String {
        let escape = HTMLReport.escape
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>chorus check \(escape(checker))</title>
            <style>\(HTMLReport.style)\(style)</style></head><body>
            <h1>chorus check \(escape(checker)) — \(escape(title))</h1>
            <table class="summary"><tr><th>file</th><th>verdict</th><th>operations</th><th>time</th></tr>

            """
        for (index, file) in files.enumerated() {
            html += "<tr><td><a href=\"#file\(index)\">\(escape(file.name))</a></td>"
            switch file.outcome {
            case .failed(let message):
                html += "<td><span class=\"badge error\">error</span> \(escape(message))</td><td></td><td></td></tr>\n"
            case .checked(let history, let result):
                html += "<td><span class=\"badge \(result.verdict.rawValue)\">\(escape(result.phrase))</span></td>"
                html += "<td>\(history.operations.count)</td><td>\(HTMLReport.milliseconds(result.duration))</td></tr>\n"
            }
        }
        html += "</table>\n" + legend
        for (index, file) in files.enumerated() { section(file, index: index, to: &html) }
        html += "<div id=\"tip\"></div><script>\(HTMLReport.script)\(script)</script></body></html>\n"
        return html
    }

    private static func section(_ file: PropertyFileReport, index: Int, to html: inout String) {
        let escape = HTMLReport.escape
        guard case .checked(let history, let result) = file.outcome else {
            if case .failed(let message) = file.outcome {
                html += "<section id=\"file\(index)\"><h2>\(escape(file.name))</h2>"
                html += "<p class=\"explain error\">Could not check this file: \(escape(message))</p></section>\n"
            }
            return
        }
        let open = result.verdict == .satisfied ? "" : " open"
        html += "<section id=\"file\(index)\"><details\(open)><summary><h2>\(escape(file.name)) "
        html += "<span class=\"badge \(result.verdict.rawValue)\">\(escape(result.phrase))</span></h2></summary>\n"
        html += "<table class=\"summary properties\"><tr><th>property</th><th>verdict</th><th>violations</th><th>note</th></tr>\n"
        var role: [Int: String] = [:]
        var first = true
        var examples = ""
        for property in result.properties {
            html += "<tr><td><code>\(escape(property.name))</code></td><td><span class=\"badge \(property.verdict.rawValue)\">"
            html += "\(property.verdict.rawValue)</span></td><td>\(property.violationCount)</td>"
            html += "<td>\(escape(property.note ?? ""))</td></tr>\n"
            guard !property.violations.isEmpty else { continue }
            examples += "<h3><code>\(escape(property.name))</code>"
            if property.violationCount > property.violations.count {
                examples += " (first \(property.violations.count) of \(property.violationCount))"
            }
            examples += "</h3><ol class=\"examples\">"
            for violation in property.violations {
                for id in violation.operationIDs where role[id] == nil || first {
                    role[id] = first ? "offending" : "offending other"
                }
                let ids = violation.operationIDs.map(String.init).joined(separator: " ")
                examples += "<li class=\"example\(first ? " selected" : "")\" data-ops=\"\(ids)\">\(escape(violation.explanation))</li>"
                first = false
            }
            examples += "</ol>"
        }
        html += "</table>\n"
        if !examples.isEmpty { html += "<div class=\"explain\">\(examples)</div>\n" }
        HTMLReport.timeline(
            history, order: [:], stateAfter: [:], role: role, focus: nil, laneNames: file.laneNames, to: &html)
        html += "</details></section>\n"
    }

    private static let legend = """
        <p class="legend"><span class="op sample offending">offending</span> the first example's operations \
        <span class="op sample offending other">offending</span> the other examples' operations \
        <span class="op sample failed">failed</span> did not happen \
        <span class="op sample indeterminate">indeterminate</span> may or may not have taken effect. \
        Click an example to outline its operations; hover a bar for details.</p>

        """

    private static let style = """
        h3{font-size:.95em;margin:.6em 0 .2em}
        ol.examples{margin:.2em 0 .6em;padding-left:1.6em}
        li.example{cursor:pointer;margin:.2em 0}
        li.example.selected{font-weight:600}
        table.properties{margin:.6em 0}
        .op.offending{background:#ef9a9a;border-color:#c62828;font-weight:600}
        .op.offending.other{background:#ffe082;border-color:#ffa000;font-weight:normal}
        .op.focus{outline:3px solid #1565c0;outline-offset:1px;z-index:2}
        """

    private static let script = """
        (function(){document.querySelectorAll('li.example').forEach(function(item){
        item.addEventListener('click',function(){var section=item.closest('section');
        section.querySelectorAll('.op.focus').forEach(function(o){o.classList.remove('focus')});
        section.querySelectorAll('li.example.selected').forEach(function(o){o.classList.remove('selected')});
        item.classList.add('selected');var first=null;
        item.getAttribute('data-ops').split(' ').forEach(function(id){
        var bar=section.querySelector('.op[data-id="'+id+'"]');if(bar){bar.classList.add('focus');if(!first)first=bar}});
        if(first){var s=first.closest('.scroll');s.scrollLeft=Math.max(0,first.offsetLeft-s.clientWidth/2)}})})})();
        """
}
