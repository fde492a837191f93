import ChorusCore

/// The text formats a history can be read from.
///
/// - `edn`: Jepsen's history format, one EDN map per line:
///   `{:process 3, :type :invoke, :f :cas, :key "k", :value [1 2], :time 1200}`.
/// - `jepsenLog`: the log lines of Jepsen's older tests
///   (`INFO  jepsen.util - 3	:invoke	:write	4`), as in Porcupine's etcd data.
/// - `jsonLines`: Chorus's own form, one JSON object per event:
///   `{"process": 3, "type": "invoke", "f": "cas", "key": "k", "value": [1, 2], "time": 1200}`.
///
/// In all three, events appear in the order they happened; that order is the
/// real-time order the linearizability checker respects (see `History`).
public enum HistoryFormat: String, CaseIterable, Sendable {
    case edn
    case jepsenLog = "jepsen-log"
    case jsonLines = "jsonl"

    /// Guesses the format from the first non-blank line: `{"` starts JSON,
    /// `{:` starts EDN, and a `jepsen.util` logger name marks a Jepsen log.
    public static func detect(_ bytes: [UInt8]) -> HistoryFormat? {
        var lines = LineIterator(bytes: bytes)
        while let line = lines.next() {
            var parser = ValueParser(bytes: bytes, start: line.start, end: line.end)
            parser.skipWhitespace(edn: false)
            if parser.isAtEnd { continue }
            let first = bytes[parser.position]
            if first == UInt8(ascii: "{") {
                var inner = ValueParser(bytes: bytes, start: parser.position + 1, end: line.end)
                inner.skipWhitespace(edn: true)
                if inner.isAtEnd { return nil }
                switch bytes[inner.position] {
                case UInt8(ascii: "\""): return .jsonLines
                case UInt8(ascii: ":"): return .edn
                default: return nil
                }
            }
            return LineIterator.contains(bytes, line.start, line.end, JepsenLogLine.marker) ? .jepsenLog : nil
        }
        return nil
    }

    /// Parses every event in `bytes`. Blank lines are skipped, and so are
    /// events of Jepsen's nemesis (process `:nemesis`), which are faults, not
    /// client operations. Any other line that does not parse is an error
    /// naming its 1-based line number.
    public func events(from bytes: [UInt8]) throws(HistoryError) -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        var lines = LineIterator(bytes: bytes)
        while let line = lines.next() {
            guard line.end - line.start <= CheckLimits.lineLengthMaximum else {
                throw HistoryError(
                    .malformed("longer than \(CheckLimits.lineLengthMaximum) bytes"), line: line.number)
            }
            var blank = ValueParser(bytes: bytes, start: line.start, end: line.end)
            blank.skipWhitespace(edn: false)
            if blank.isAtEnd { continue }
            let event: HistoryEvent?
            do {
                switch self {
                case .edn: event = try HistoryFormat.ednEvent(bytes, line)
                case .jsonLines: event = try HistoryFormat.jsonEvent(bytes, line)
                case .jepsenLog: event = try JepsenLogLine.event(bytes, line)
                }
            } catch let error as ValueSyntaxError {
                throw HistoryError(.malformed("column \(error.column): \(error.message)"), line: line.number)
            } catch let error as HistoryError {
                throw error
            } catch {
                throw HistoryError(.malformed("\(error)"), line: line.number)
            }
            if let event {
                events.append(event)
                guard events.count <= 2 * CheckLimits.operationCountMaximum else {
                    throw HistoryError(.tooManyOperations(limit: CheckLimits.operationCountMaximum), line: line.number)
                }
            }
        }
        return events
    }

    /// Parses and assembles a history.
    public func history(from bytes: [UInt8]) throws(HistoryError) -> History {
        try History(events: events(from: bytes))
    }

    /// Reads a history in `format`, or in the detected format when `format` is nil.
    public static func history(from bytes: [UInt8], format: HistoryFormat?) throws(HistoryError) -> History {
        guard let chosen = format ?? detect(bytes) else {
            throw HistoryError(
                .malformed("cannot tell the format (expected EDN maps, JSON objects or Jepsen log lines)"),
                line: LineIterator.firstNonBlankLine(bytes))
        }
        return try chosen.history(from: bytes)
    }

    // MARK: - EDN and JSON lines

    private static func ednEvent(_ bytes: [UInt8], _ line: Line) throws -> HistoryEvent? {
        try event(from: ednMap(bytes, line), line: line.number, format: "an EDN map")
    }

    private static func jsonEvent(_ bytes: [UInt8], _ line: Line) throws -> HistoryEvent? {
        try event(from: jsonObject(bytes, line), line: line.number, format: "a JSON object")
    }

    /// The EDN map on one line, whole.
    static func ednMap(_ bytes: [UInt8], _ line: Line) throws(ValueSyntaxError) -> HistoryValue {
        var parser = ValueParser(bytes: bytes, start: line.start, end: line.end)
        parser.skipWhitespace(edn: true)
        guard !parser.isAtEnd, bytes[parser.position] == UInt8(ascii: "{") else {
            throw parser.error("expected an EDN map such as {:process 0, :type :invoke, :f :read, :value nil}")
        }
        let value = try parser.parseEDN()
        parser.skipWhitespace(edn: true)
        guard parser.isAtEnd else { throw parser.error("text after the map") }
        return value
    }

    /// The JSON object on one line, whole.
    static func jsonObject(_ bytes: [UInt8], _ line: Line) throws(ValueSyntaxError) -> HistoryValue {
        var parser = ValueParser(bytes: bytes, start: line.start, end: line.end)
        parser.skipWhitespace(edn: false)
        guard !parser.isAtEnd, bytes[parser.position] == UInt8(ascii: "{") else {
            throw parser.error("expected a JSON object such as {\"process\": 0, \"type\": \"invoke\", \"f\": \"read\"}")
        }
        let value = try parser.parseJSON()
        parser.skipWhitespace(edn: false)
        guard parser.isAtEnd else { throw parser.error("text after the object") }
        return value
    }

    /// The fields are the same in EDN and JSON: `process`, `type`, `f`, and
    /// optionally `key`, `value` and `time`. Other fields are ignored, as
    /// Jepsen adds its own (`:index`, `:error`, …).
    static func event(from value: HistoryValue, line: Int, format: String) throws(HistoryError) -> HistoryEvent? {
        guard case .map = value else { throw HistoryError(.malformed("expected \(format)"), line: line) }
        guard let processValue = value.field("process") else {
            throw HistoryError(.malformed("missing process"), line: line)
        }
        let process: ProcessID
        switch processValue {
        case .integer(let number): process = ProcessID(number)
        case .keyword("nemesis"), .string("nemesis"): return nil
        default: throw HistoryError(.malformed("process must be an integer, not \(processValue)"), line: line)
        }
        guard let typeName = value.field("type")?.identifierValue, let type = EventType(rawValue: typeName) else {
            throw HistoryError(.malformed("type must be one of invoke, ok, fail, info"), line: line)
        }
        guard let function = value.field("f")?.identifierValue, !function.isEmpty else {
            throw HistoryError(.malformed("missing f (the operation's function)"), line: line)
        }
        var time: Int64?
        if let timeValue = value.field("time"), !timeValue.isNull {
            guard let number = timeValue.integerValue else {
                throw HistoryError(.malformed("time must be an integer, not \(timeValue)"), line: line)
            }
            time = number
        }
        let key = value.field("key").flatMap { $0.isNull ? nil : $0 }
        return HistoryEvent(
            process: process, type: type, function: function, key: key,
            value: value.field("value") ?? .null, time: time, line: line)
    }

    // MARK: - Writing JSON lines

    /// One event as a line of Chorus's JSON-lines format, without the newline.
    /// Keywords and symbols become strings; a map with non-string keys becomes
    /// a list of `[key, value]` pairs.
    public static func jsonLine(_ event: HistoryEvent) -> String {
        var output = "{\"process\": \(event.process.rawValue), \"type\": \"\(event.type.rawValue)\", \"f\": "
        JSONText.writeString(event.function, to: &output)
        if let key = event.key {
            output += ", \"key\": "
            JSONText.write(key, to: &output)
        }
        output += ", \"value\": "
        JSONText.write(event.value, to: &output)
        if let time = event.time { output += ", \"time\": \(time)" }
        output += "}"
        return output
    }

    /// A whole history in Chorus's JSON-lines format, one event per line.
    public static func jsonLines(_ history: History) -> String {
        var output = ""
        for event in history.events {
            output += jsonLine(event)
            output += "\n"
        }
        return output
    }
}

/// A line's bounds in the input and its 1-based number.
struct Line {
    var start: Int
    var end: Int
    var number: Int
}

/// Splits bytes on `\n`, dropping a trailing `\r`.
struct LineIterator {
    let bytes: [UInt8]
    private var position = 0
    private var number = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func next() -> Line? {
        guard position < bytes.count else { return nil }
        number += 1
        let start = position
        var end = start
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        position = end + 1
        var contentEnd = end
        if contentEnd > start && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        return Line(start: start, end: contentEnd, number: number)
    }

    static func firstNonBlankLine(_ bytes: [UInt8]) -> Int? {
        var lines = LineIterator(bytes: bytes)
        while let line = lines.next() {
            if bytes[line.start..<line.end].contains(where: { $0 != 0x20 && $0 != 0x09 }) { return line.number }
        }
        return nil
    }

    static func contains(_ bytes: [UInt8], _ start: Int, _ end: Int, _ needle: [UInt8]) -> Bool {
        firstIndex(bytes, start, end, needle) != nil
    }

    static func firstIndex(_ bytes: [UInt8], _ start: Int, _ end: Int, _ needle: [UInt8]) -> Int? {
        guard !needle.isEmpty, end - start >= needle.count else { return nil }
        var index = start
        while index + needle.count <= end {
            var matches = true
            for offset in 0..<needle.count where bytes[index + offset] != needle[offset] {
                matches = false
                break
            }
            if matches { return index }
            index += 1
        }
        return nil
    }
}

/// Writes `HistoryValue`s as JSON.
enum JSONText {
    static func write(_ value: HistoryValue, to output: inout String) {
        switch value {
        case .null: output += "null"
        case .boolean(let flag): output += flag ? "true" : "false"
        case .integer(let number): output += String(number)
        case .float(let number): output += number.isFinite ? String(number) : "null"
        case .string(let text), .keyword(let text), .symbol(let text): writeString(text, to: &output)
        case .list(let elements), .set(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += ", " }
                write(element, to: &output)
            }
            output += "]"
        case .map(let entries):
            let stringKeys = entries.allSatisfy { $0.key.identifierValue != nil }
            output += stringKeys ? "{" : "["
            for (index, entry) in entries.enumerated() {
                if index > 0 { output += ", " }
                if stringKeys, let name = entry.key.identifierValue {
                    writeString(name, to: &output)
                    output += ": "
                    write(entry.value, to: &output)
                } else {
                    output += "["
                    write(entry.key, to: &output)
                    output += ", "
                    write(entry.value, to: &output)
                    output += "]"
                }
            }
            output += stringKeys ? "}" : "]"
        }
    }

    static func writeString(_ text: String, to output: inout String) {
        JSONString.write(text, to: &output)
    }
}
