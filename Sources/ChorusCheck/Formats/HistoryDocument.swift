/// A line of a history that is not an invocation or a completion: a statement
/// about the history, such as a key's known write order
/// (`{"type": "write-order", "key": "x", "value": [1, 2]}`) or a subscriber's
/// delivery (`{"type": "deliver", "subscriber": "s", "event": "e1", …}`).
///
/// It keeps every field of its line; the checker that knows its type reads
/// them, and a checker that does not rejects the line by number.
public struct HistoryRecord: Hashable, Sendable {
    /// The line's `type`, such as `write-order` or `deliver`.
    public var type: String
    /// The whole map of the line.
    public var fields: HistoryValue
    /// The 1-based source line, when read from text.
    public var line: Int?
    /// Where the record sits among the events: the number of events before
    /// it. An operation whose completion instant is below this completed
    /// before the record; one whose invocation instant is at or above it was
    /// invoked after.
    public var instant: Int

    public init(type: String, fields: HistoryValue, line: Int? = nil, instant: Int) {
        self.type = type
        self.fields = fields
        self.line = line
        self.instant = instant
    }

    /// The field `name`, or nil when absent or `null`.
    public func field(_ name: String) -> HistoryValue? {
        guard let value = fields.field(name), !value.isNull else { return nil }
        return value
    }
}

/// A history with everything its lines said: the operations, paired exactly
/// as `History(events:)` pairs them, the whole field map of every event (so a
/// checker can read fields beyond `process`, `type`, `f`, `key`, `value` and
/// `time`, such as `session` and `version`), and the records.
///
/// The operations' instants are the positions of their events, so the map of
/// an operation's invocation is `eventFields[operation.invokedAt]`.
public struct HistoryDocument: Sendable {
    public var history: History
    /// The map of each event, indexed by the event's instant.
    public var eventFields: [HistoryValue]
    /// The records, in file order.
    public var records: [HistoryRecord]

    public init(history: History, eventFields: [HistoryValue], records: [HistoryRecord]) {
        self.history = history
        self.eventFields = eventFields
        self.records = records
    }

    /// The map of an operation's invocation event.
    public func invocationFields(_ operation: Operation) -> HistoryValue {
        operation.invokedAt < eventFields.count ? eventFields[operation.invokedAt] : .null
    }

    /// The map of an operation's completion event, when it completed.
    public func completionFields(_ operation: Operation) -> HistoryValue? {
        guard let completedAt = operation.completedAt, completedAt < eventFields.count else { return nil }
        return eventFields[completedAt]
    }

    /// The field `name` of the completion, else of the invocation; nil when
    /// neither has it (or it is `null`).
    public func field(_ name: String, of operation: Operation) -> HistoryValue? {
        if let value = completionFields(operation)?.field(name), !value.isNull { return value }
        if let value = invocationFields(operation).field(name), !value.isNull { return value }
        return nil
    }

    /// Reads EDN maps or JSON objects, one per line (the detected format when
    /// `format` is nil). Lines whose `type` is `invoke`, `ok`, `fail` or
    /// `info` are events; Jepsen's nemesis events are skipped; any other
    /// `type` makes a record. Jepsen's log-line format carries no extra
    /// fields, so it is refused here.
    public static func read(from bytes: [UInt8], format: HistoryFormat? = nil) throws(HistoryError) -> HistoryDocument {
        let chosen = format ?? HistoryFormat.detect(bytes)
        guard let chosen, chosen != .jepsenLog else {
            throw HistoryError(
                .malformed("expected one EDN map or JSON object per line"), line: LineIterator.firstNonBlankLine(bytes))
        }
        var events: [HistoryEvent] = []
        var eventFields: [HistoryValue] = []
        var records: [HistoryRecord] = []
        var lines = LineIterator(bytes: bytes)
        while let line = lines.next() {
            guard line.end - line.start <= CheckLimits.lineLengthMaximum else {
                throw HistoryError(.malformed("longer than \(CheckLimits.lineLengthMaximum) bytes"), line: line.number)
            }
            var blank = ValueParser(bytes: bytes, start: line.start, end: line.end)
            blank.skipWhitespace(edn: false)
            if blank.isAtEnd { continue }
            let value: HistoryValue
            do {
                value = chosen == .edn ? try HistoryFormat.ednMap(bytes, line) : try HistoryFormat.jsonObject(bytes, line)
            } catch {
                throw HistoryError(.malformed("column \(error.column): \(error.message)"), line: line.number)
            }
            guard let typeName = value.field("type")?.identifierValue else {
                throw HistoryError(.malformed("missing type"), line: line.number)
            }
            if EventType(rawValue: typeName) != nil {
                let format = chosen == .edn ? "an EDN map" : "a JSON object"
                guard let event = try HistoryFormat.event(from: value, line: line.number, format: format) else { continue }
                events.append(event)
                eventFields.append(value)
            } else {
                records.append(HistoryRecord(type: typeName, fields: value, line: line.number, instant: events.count))
            }
            guard events.count + records.count <= 2 * CheckLimits.operationCountMaximum else {
                throw HistoryError(.tooManyOperations(limit: CheckLimits.operationCountMaximum), line: line.number)
            }
        }
        return HistoryDocument(history: try History(events: events), eventFields: eventFields, records: records)
    }
}
