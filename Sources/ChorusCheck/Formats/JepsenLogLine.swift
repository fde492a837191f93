/// Jepsen's older log-line history format, as its etcd test wrote it and as
/// Porcupine's test data keeps it:
///
///     INFO  jepsen.util - 3	:invoke	:write	4
///     INFO  jepsen.util - 3	:ok	:write	4
///     INFO  jepsen.util - 2	:fail	:cas	[3 0]
///     INFO  jepsen.util - 0	:fail	:read	:timed-out
///
/// After the `jepsen.util -` logger name come the process, the type, the
/// function and the value (EDN), separated by tabs or spaces. A line with
/// the logger name must be a well-formed event. Other log lines (starting with
/// a level such as `INFO` or `WARN`) are Jepsen's own chatter and are skipped;
/// anything else is malformed.
enum JepsenLogLine {
    static let marker = Array("jepsen.util".utf8)
    private static let levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]

    static func event(_ bytes: [UInt8], _ line: Line) throws -> HistoryEvent? {
        guard let markerIndex = LineIterator.firstIndex(bytes, line.start, line.end, marker) else {
            if isOtherLogLine(bytes, line) { return nil }
            throw HistoryError(.malformed("not a Jepsen log line (no jepsen.util logger)"), line: line.number)
        }
        var parser = ValueParser(bytes: bytes, start: markerIndex + marker.count, end: line.end)
        parser.skipWhitespace(edn: false)
        guard !parser.isAtEnd, bytes[parser.position] == UInt8(ascii: "-") else {
            throw parser.error("expected '-' after jepsen.util")
        }
        var fields = ValueParser(bytes: bytes, start: parser.position + 1, end: line.end)
        let processValue = try fields.parseEDN()
        let process: ProcessID
        switch processValue {
        case .integer(let number): process = ProcessID(number)
        case .keyword("nemesis"): return nil
        default: throw fields.error("process must be an integer, not \(processValue)")
        }
        guard case .keyword(let typeName) = try fields.parseEDN(), let type = EventType(rawValue: typeName) else {
            throw fields.error("type must be one of :invoke, :ok, :fail, :info")
        }
        guard case .keyword(let function) = try fields.parseEDN() else {
            throw fields.error("the function must be a keyword such as :read")
        }
        fields.skipWhitespace(edn: true)
        let value = fields.isAtEnd ? HistoryValue.null : try fields.parseEDN()
        fields.skipWhitespace(edn: true)
        guard fields.isAtEnd else { throw fields.error("text after the value") }
        return HistoryEvent(process: process, type: type, function: function, value: value, line: line.number)
    }

    private static func isOtherLogLine(_ bytes: [UInt8], _ line: Line) -> Bool {
        var end = line.start
        while end < line.end && bytes[end] != 0x20 && bytes[end] != 0x09 { end += 1 }
        guard end < line.end, let word = String(validating: bytes[line.start..<end], as: UTF8.self) else {
            return false
        }
        return levels.contains(word)
    }
}
