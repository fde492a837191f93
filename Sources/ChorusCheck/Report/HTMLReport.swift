/// A self-contained HTML page (no external files, no network) that draws each
/// history as a timeline: one lane per process, one bar per operation from
/// its invocation to its completion, and, for a violation, the longest legal
/// prefix in green, the operations that cannot be placed after it in red and
/// the operation that ran out of time outlined. Hovering a bar shows the
/// operation's details and, for placed operations, the model state after it.
///
/// Several files go on one page: a summary table links to one section per
/// file, with violations open and the rest folded.
public enum HTMLReport {
    public static func page(condition: ConsistencyCondition, model: String, files: [FileReport]) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>chorus check: \(escape(condition.rawValue)) (\(escape(model)))</title>
            <style>\(style)</style></head><body>
            <h1>chorus check — \(escape(condition.rawValue)), model <code>\(escape(model))</code></h1>
            <table class="summary"><tr><th>file</th><th>verdict</th><th>operations</th><th>time</th></tr>

            """
        for (index, file) in files.enumerated() {
            html += "<tr><td><a href=\"#file\(index)\">\(escape(file.name))</a></td>"
            switch file.outcome {
            case .failed(let message):
                html += "<td><span class=\"badge error\">error</span> \(escape(message))</td><td></td><td></td></tr>\n"
            case .checked(let history, let result):
                html += "<td><span class=\"badge \(result.verdict.rawValue)\">\(escape(result.phrase))</span></td>"
                html += "<td>\(history.operations.count)</td><td>\(milliseconds(result.duration))</td></tr>\n"
            }
        }
        html += "</table>\n" + legend
        for (index, file) in files.enumerated() {
            section(file, index: index, condition: condition, to: &html)
        }
        html += "<div id=\"tip\"></div><script>\(script)</script></body></html>\n"
        return html
    }

    // MARK: - One file

    private static func section(_ file: FileReport, index: Int, condition: ConsistencyCondition, to html: inout String) {
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

        // Roles and order numbers of operations, from the counterexample or the witnesses.
        var order: [Int: Int] = [:]
        var stateAfter: [Int: String] = [:]
        var role: [Int: String] = [:]
        var focus: Set<Int>?
        if let counterexample = result.counterexample {
            focus = Set(counterexample.partitionOperationIDs)
            for (position, step) in counterexample.prefix.enumerated() {
                order[step.operationID] = position + 1
                stateAfter[step.operationID] = step.stateAfter
                role[step.operationID] = "placed"
            }
            for id in counterexample.candidates { role[id] = "candidate" }
            for id in counterexample.unplaceable { role[id] = "unplaceable" }
            if let blocking = counterexample.blockingOperationID {
                role[blocking] = counterexample.unplaceable.contains(blocking) ? "unplaceable blocking" : "candidate blocking"
            }
            explain(counterexample, history: history, condition: condition, to: &html)
        } else {
            for partition in result.partitions {
                for (position, id) in (partition.witness ?? []).enumerated() {
                    order[id] = position + 1
                    role[id] = "placed"
                }
            }
            switch result.verdict {
            case .satisfied:
                html += "<p class=\"explain\">A legal order exists; the numbers on the bars give one"
                html += result.partitions.count > 1 ? " (per key)." : "."
                html += " Operations without a number failed, or were indeterminate and need not have taken effect.</p>\n"
            case .unknown:
                html += "<p class=\"explain\">No verdict: \(escape(result.unknownReason?.description ?? "unknown")).</p>\n"
            case .violated:
                break
            }
        }
        if focus != nil, result.partitions.count > 1 || history.operations.contains(where: { $0.key != nil }) {
            html += "<label class=\"toggle\"><input type=\"checkbox\" onchange=\"this.closest('section')"
            html += ".classList.toggle('showall', this.checked)\"> show operations on other keys</label>\n"
        }
        timeline(history, order: order, stateAfter: stateAfter, role: role, focus: focus, to: &html)
        html += "</details></section>\n"
    }

    private static func explain(
        _ counterexample: Counterexample, history: History, condition: ConsistencyCondition, to html: inout String
    ) {
        func describe(_ id: Int) -> String {
            let operation = history.operations[id]
            let line = operation.invokeLine.map { ", line \($0)" } ?? ""
            return "<code>\(escape(operation.summary))</code>\(line)"
        }
        html += "<div class=\"explain\">"
        if let key = counterexample.key { html += "<p>Key <code>\(escape(key.description))</code>.</p>" }
        html += "<p>The longest legal order the search found places \(counterexample.prefix.count) operations "
        html += "(green, numbered); after them the state is <code>\(escape(counterexample.stateAtEnd))</code>.</p>"
        if let blocking = counterexample.blockingOperationID {
            html += "<p>Next, \(describe(blocking)) must take effect before it completes, "
            html += "so one of the operations invoked by then must go next:</p><ul>"
        } else {
            html += "<p>Next, one of the operations each process may run must go next:</p><ul>"
        }
        for id in counterexample.candidates {
            let verdict = counterexample.unplaceable.contains(id)
                ? "<span class=\"no\">the model rejects it in this state</span>"
                : "<span class=\"maybe\">legal here, but every continuation fails later</span>"
            html += "<li>\(describe(id)): \(verdict)</li>"
        }
        html += "</ul>"
        if condition == .linearizable {
            html += "<p>So no order of the operations respects both real time and the model.</p>"
        } else {
            html += "<p>So no order of the operations respects both each process's order and the model.</p>"
        }
        html += "</div>\n"
    }

    static func timeline(
        _ history: History, order: [Int: Int], stateAfter: [Int: String], role: [Int: String], focus: Set<Int>?,
        laneNames: [ProcessID: String] = [:], to html: inout String
    ) {
        let unit = 16
        let laneHeight = 24
        let processes = history.processes
        var lane: [ProcessID: Int] = [:]
        for (index, process) in processes.enumerated() { lane[process] = index }
        let width = (history.endInstant + 2) * unit
        let height = processes.count * laneHeight + 22
        html += "<div class=\"scroll\"><div class=\"timeline\" style=\"width:\(width + 60)px;height:\(height)px\">"
        for (index, process) in processes.enumerated() {
            html += "<div class=\"lane\" style=\"top:\(index * laneHeight + 20)px;width:\(width + 60)px\">"
            html += "<span class=\"lanename\">\(escape(laneNames[process] ?? "p" + process.description))</span></div>"
        }
        var tick = 0
        while tick <= history.endInstant {
            html += "<div class=\"tick\" style=\"left:\(tick * unit + 50)px;height:\(height)px\"><span>\(tick)</span></div>"
            tick += tick == 0 ? 10 : 10
        }
        for operation in history.operations {
            guard let laneIndex = lane[operation.process] else { continue }
            let start = operation.invokedAt
            let end = operation.outcome.isIndeterminate ? history.endInstant : (operation.completedAt ?? history.endInstant)
            var classes = ["op"]
            if let assigned = role[operation.id] { classes.append(assigned) }
            if operation.outcome == .fail { classes.append("failed") }
            if operation.outcome.isIndeterminate { classes.append("indeterminate") }
            if let focus, !focus.contains(operation.id) { classes.append("other") }
            let left = start * unit + 50
            let barWidth = max(unit - 2, (end - start) * unit + unit - 2)
            var label = order[operation.id].map { "\($0). " } ?? ""
            label += shortLabel(operation)
            var details = operation.summary
            if let key = operation.key { details += "\nkey \(key)" }
            if let line = operation.invokeLine { details += "\nline \(line)" + (operation.completeLine.map { "–\($0)" } ?? "") }
            if let time = operation.invokeTime {
                details += "\ntime \(time)" + (operation.completeTime.map { "–\($0)" } ?? "")
            }
            details += "\nevents \(operation.invokedAt)–" + (operation.completedAt.map(String.init) ?? "never completed")
            if let position = order[operation.id] { details += "\nplaced #\(position)" }
            if let state = stateAfter[operation.id] { details += "\nstate after: \(state)" }
            if role[operation.id]?.hasPrefix("unplaceable") == true { details += "\ncannot be placed after the prefix" }
            if role[operation.id]?.hasSuffix("blocking") == true { details += "\nmust take effect before it completes" }
            html += "<div class=\"\(classes.joined(separator: " "))\" data-id=\"\(operation.id)\" style=\"left:\(left)px;top:\(laneIndex * laneHeight + 22)px;"
            html += "width:\(barWidth)px\" data-tip=\"\(escape(details))\">\(escape(label))</div>"
        }
        html += "</div></div>\n"
    }

    /// `w 4`, `r 3`, `cas 1→2`, `append k "x"`: short enough to sit in a bar.
    private static func shortLabel(_ operation: Operation) -> String {
        var text = operation.function
        if let key = operation.key { text += " \(key)" }
        if !operation.input.isNull { text += " \(operation.input)" }
        if operation.outcome == .ok, let output = operation.output, output != operation.input, !output.isNull {
            text += " → \(output)"
        }
        return text
    }

    static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) * 1e-15
        if value < 10 { return String(Double(Int(value * 10)) / 10) + " ms" }
        return String(Int(value.rounded())) + " ms"
    }

    static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            case "\n": output += "&#10;"
            default: output.unicodeScalars.append(character)
            }
        }
        return output
    }

    // MARK: - Page furniture

    private static let legend = """
        <p class="legend"><span class="op sample placed">placed</span> in the longest legal order (numbered) \
        <span class="op sample unplaceable">cannot be placed</span> rejected by the model after that order \
        <span class="op sample candidate">could go next</span> legal there, but leads nowhere \
        <span class="op sample blocking">outlined</span> had to take effect before it completed \
        <span class="op sample failed">failed</span> did not happen \
        <span class="op sample indeterminate">indeterminate</span> may take effect any time after its start, or never. \
        Hover a bar for details.</p>

        """

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
        h1{font-size:1.3em}h2{font-size:1.05em;display:inline}
        code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
        table.summary{border-collapse:collapse;margin-bottom:1em}
        table.summary td,table.summary th{border-bottom:1px solid #ddd;padding:.2em .8em;text-align:left}
        .badge{padding:.1em .5em;border-radius:1em;font-size:.85em;color:#fff;white-space:nowrap}
        .badge.satisfied{background:#2e7d32}.badge.violated{background:#c62828}
        .badge.unknown{background:#ef6c00}.badge.error{background:#555}
        section{margin:1em 0;border-top:1px solid #ccc;padding-top:.5em}
        summary{cursor:pointer}
        .explain{background:#fff8e1;border-left:4px solid #ffb300;padding:.4em .8em;margin:.6em 0}
        .explain.error{background:#eee;border-color:#555}
        .no{color:#c62828;font-weight:600}.maybe{color:#8d6e00}
        .scroll{overflow-x:auto;border:1px solid #ddd;margin:.5em 0}
        .timeline{position:relative;font-size:11px}
        .lane{position:absolute;left:0;height:23px;border-bottom:1px dotted #e0e0e0}
        .lanename{position:sticky;left:0;background:#fff;padding:0 .3em;color:#555;line-height:23px}
        .tick{position:absolute;top:0;border-left:1px solid #f0f0f0}
        .tick span{color:#aaa;font-size:10px;padding-left:2px}
        .op{position:absolute;height:18px;line-height:18px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;
          padding:0 3px;box-sizing:border-box;border-radius:3px;background:#b0bec5;border:1px solid #90a4ae;cursor:default}
        .op.placed{background:#a5d6a7;border-color:#43a047}
        .op.candidate{background:#ffe082;border-color:#ffa000}
        .op.unplaceable{background:#ef9a9a;border-color:#c62828;font-weight:600}
        .op.blocking{outline:3px solid #c62828;outline-offset:1px;z-index:2}
        .op.failed{background:repeating-linear-gradient(45deg,#eee,#eee 4px,#fff 4px,#fff 8px);border-style:dashed;color:#777}
        .op.indeterminate{border-right-style:dashed;background-image:linear-gradient(90deg,rgba(255,255,255,0) 30%,rgba(255,255,255,.85))}
        .op.other{opacity:.18}
        section.showall .op.other{opacity:.6}
        .op:hover{filter:brightness(.9);z-index:3}
        .legend .op.sample{position:static;display:inline-block;margin:0 .2em 0 .8em}
        .toggle{font-size:.9em;color:#555}
        #tip{position:fixed;display:none;background:#263238;color:#fff;padding:.4em .6em;border-radius:4px;
          white-space:pre;font:12px/1.35 ui-monospace,monospace;pointer-events:none;z-index:10;max-width:60em}
        """

    static let script = """
        (function(){var tip=document.getElementById('tip');
        document.addEventListener('mouseover',function(e){var t=e.target.closest('[data-tip]');
        if(!t){tip.style.display='none';return}tip.textContent=t.getAttribute('data-tip');tip.style.display='block'});
        document.addEventListener('mousemove',function(e){if(tip.style.display!=='block')return;
        var x=e.clientX+14,y=e.clientY+14;if(x+tip.offsetWidth>innerWidth)x=e.clientX-tip.offsetWidth-10;
        if(y+tip.offsetHeight>innerHeight)y=e.clientY-tip.offsetHeight-10;tip.style.left=x+'px';tip.style.top=y+'px'});
        document.querySelectorAll('.scroll').forEach(function(s){var b=s.querySelector('.blocking')||s.querySelector('.unplaceable');
        if(b)s.scrollLeft=Math.max(0,b.offsetLeft-s.clientWidth/2)});
        })();
        """
}
