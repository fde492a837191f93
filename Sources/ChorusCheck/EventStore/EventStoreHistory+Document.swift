extension EventStoreHistory {
    /// Reads an event-store history from a document (the README beside these
    /// sources has the whole format):
    ///
    ///     {"process": 0, "type": "invoke", "f": "append", "key": "orders", "value": {"expected": "no_stream", "events": ["e1", "e2"]}}
    ///     {"process": 0, "type": "ok", "f": "append", "key": "orders", "value": {"revisions": [0, 1], "positions": [7, 8]}}
    ///     {"process": 1, "type": "fail", "f": "append", "key": "orders", "value": {"error": "wrong_expected_version", "actual": 1}}
    ///     {"process": 2, "type": "invoke", "f": "read", "key": "$all", "value": {"from": 0, "limit": 10}}
    ///     {"process": 2, "type": "ok", "f": "read", "key": "$all", "value": [{"id": "e1", "stream": "orders", "revision": 0, "position": 7}]}
    ///     {"type": "subscribe", "subscriber": "s1", "stream": "orders", "from": 0}
    ///     {"type": "deliver", "subscriber": "s1", "event": "e1", "revision": 0, "position": 7}
    ///     {"type": "caught-up", "subscriber": "s1"}
    ///     {"type": "subscribe", "subscriber": "c1", "group": "g", "stream": "orders"}
    ///     {"type": "ack", "subscriber": "c1", "event": "e1"}
    ///     {"type": "nack", "subscriber": "c1", "event": "e2", "action": "retry"}
    public init(document: HistoryDocument) throws(HistoryError) {
        var operations: [EventStoreOperation] = []
        for operation in document.history.operations {
            operations.append(try Self.decode(operation, document: document))
        }
        var records: [SubscriptionRecord] = []
        for record in document.records {
            records.append(try Self.decode(record))
        }
        try self.init(operations: operations, records: records)
    }

    private static func malformed(_ message: String, _ line: Int?) -> HistoryError {
        HistoryError(.malformed(message), line: line)
    }

    private static func integer(_ value: HistoryValue?, _ name: String, minimum: Int64, line: Int?) throws(HistoryError) -> Int64? {
        guard let value, !value.isNull else { return nil }
        guard let number = value.integerValue, number >= minimum, number <= CheckLimits.versionMaximum else {
            throw malformed("\(name) must be an integer from \(minimum) to 2^62, not \(value)", line)
        }
        return number
    }

    private static func string(_ value: HistoryValue?, _ name: String, line: Int?) throws(HistoryError) -> String {
        guard let text = value?.stringValue ?? value?.identifierValue, !text.isEmpty else {
            throw malformed("\(name) must be a non-empty string, not \(value.map { "\($0)" } ?? "missing")", line)
        }
        return text
    }

    private static func decode(_ operation: Operation, document: HistoryDocument) throws(HistoryError) -> EventStoreOperation {
        let line = operation.invokeLine
        guard let stream = operation.key?.stringValue, !stream.isEmpty else {
            throw malformed("an event-store operation's key is its stream name (or $all)", line)
        }
        let kind: EventStoreOperation.Kind
        switch operation.function {
        case "append":
            guard stream != allStreamName else { throw malformed("nothing can be appended to $all", line) }
            guard case .map = operation.input else {
                throw malformed("an append's value is {\"expected\": …, \"events\": [ids]}", line)
            }
            let expected = try expectedState(operation.input.field("expected"), line: line)
            guard case .list(let idValues) = operation.input.field("events") ?? .null, !idValues.isEmpty else {
                throw malformed("an append needs events: a non-empty list of event ids", line)
            }
            var ids: [String] = []
            for value in idValues { ids.append(try string(value, "an event id", line: line)) }
            kind = .append(expected: expected, eventIDs: ids, result: try appendResult(operation, count: ids.count))
        case "read":
            var direction = ReadDirection.forwards
            var from: Int64?
            var limit: Int?
            var linearizable = true
            if case .map = operation.input {
                if let value = operation.input.field("direction"), !value.isNull {
                    guard let name = value.identifierValue, let parsed = ReadDirection(rawValue: name) else {
                        throw malformed("direction must be forwards or backwards, not \(value)", line)
                    }
                    direction = parsed
                }
                from = try integer(operation.input.field("from"), "from", minimum: 0, line: line)
                limit = try integer(operation.input.field("limit"), "limit", minimum: 1, line: line).map { Int($0) }
                if let level = operation.input.field("level"), !level.isNull {
                    linearizable = level.identifierValue == "linearizable"
                }
            } else if !operation.input.isNull {
                throw malformed("a read's value is null or {\"direction\", \"from\", \"limit\", \"level\"}", line)
            }
            var events: [ObservedEvent]?
            if operation.outcome == .ok {
                events = try observedEvents(operation.output ?? .null, stream: stream, line: operation.completeLine)
            }
            kind = .read(direction: direction, from: from, limit: limit, linearizable: linearizable, events: events)
        default:
            throw malformed("function \(operation.function) is not an event-store append or read", line)
        }
        return EventStoreOperation(
            id: operation.id, process: operation.process, stream: stream, kind: kind, invokedAt: operation.invokedAt,
            completedAt: operation.completedAt, invokeTime: operation.invokeTime, completeTime: operation.completeTime,
            invokeLine: operation.invokeLine, completeLine: operation.completeLine)
    }

    private static func expectedState(_ value: HistoryValue?, line: Int?) throws(HistoryError) -> ExpectedState {
        guard let value, !value.isNull else { return .any }
        if let revision = value.integerValue {
            guard revision >= 0, revision <= CheckLimits.versionMaximum else { throw malformed("an expected revision is at least 0 (no_stream is its own state)", line) }
            return .exact(revision)
        }
        switch value.identifierValue {
        case "any": return .any
        case "no_stream", "no-stream": return .noStream
        case "stream_exists", "stream-exists": return .streamExists
        default: throw malformed("expected must be any, no_stream, stream_exists or a revision, not \(value)", line)
        }
    }

    private static func appendResult(_ operation: Operation, count: Int) throws(HistoryError) -> AppendResult {
        let line = operation.completeLine
        let value = operation.output ?? .null
        switch operation.outcome {
        case .ok:
            guard case .list(let revisionValues) = value.field("revisions") ?? .null,
                case .list(let positionValues) = value.field("positions") ?? .null
            else { throw malformed("an acknowledged append's value is {\"revisions\": […], \"positions\": […]}", line) }
            var revisions: [Int64] = []
            var positions: [Int64] = []
            for revision in revisionValues { revisions.append(try integer(revision, "a revision", minimum: 0, line: line) ?? -1) }
            for position in positionValues { positions.append(try integer(position, "a position", minimum: 0, line: line) ?? -1) }
            guard revisions.count == positions.count, !revisions.contains(-1), !positions.contains(-1) else {
                throw malformed("revisions and positions must be lists of equal length without nulls", line)
            }
            return .appended(revisions: revisions, positions: positions)
        case .fail:
            let error = value.field("error")?.identifierValue ?? value.identifierValue ?? "failed"
            guard error == "wrong_expected_version" || error == "wrong-expected-version" else { return .refused(error) }
            let actual = value.field("actual")
            if actual == nil || actual!.isNull { return .wrongExpectedVersion(actual: -1) }
            guard let revision = actual!.integerValue, revision >= -1, revision <= CheckLimits.versionMaximum else {
                throw malformed("actual must be the stream's revision (or null or -1 for no stream), not \(actual!)", line)
            }
            return .wrongExpectedVersion(actual: revision)
        case .info, .timedOut, .pending:
            return .indeterminate
        }
    }

    private static func observedEvents(_ value: HistoryValue, stream: String, line: Int?) throws(HistoryError) -> [ObservedEvent] {
        guard case .list(let entries) = value else {
            throw malformed("a read returns a list of {\"id\", \"revision\", \"position\"} objects, not \(value)", line)
        }
        var events: [ObservedEvent] = []
        events.reserveCapacity(entries.count)
        for entry in entries {
            let event = try observedEvent(entry, stream: stream == allStreamName ? nil : stream, line: line)
            guard stream == allStreamName || event.revision != nil else {
                throw malformed("every event a stream read returns needs its revision", line)
            }
            events.append(event)
        }
        return events
    }

    private static func observedEvent(_ entry: HistoryValue, stream: String?, line: Int?) throws(HistoryError) -> ObservedEvent {
        guard case .map = entry else { throw malformed("an event is {\"id\", \"revision\", \"position\"}, not \(entry)", line) }
        let id = try string(entry.field("id") ?? entry.field("event"), "an event's id", line: line)
        guard let position = try integer(entry.field("position"), "position", minimum: 0, line: line) else {
            throw malformed("every event read or delivered needs its position", line)
        }
        let revision = try integer(entry.field("revision"), "revision", minimum: 0, line: line)
        var named = stream
        if let value = entry.field("stream"), !value.isNull { named = try string(value, "stream", line: line) }
        return ObservedEvent(id: id, stream: named, revision: revision, position: position)
    }

    private static func decode(_ record: HistoryRecord) throws(HistoryError) -> SubscriptionRecord {
        let line = record.line
        let subscriber = try string(record.field("subscriber"), "subscriber", line: line)
        let event: SubscriptionEvent
        switch record.type {
        case "subscribe":
            let stream = try string(record.field("stream"), "stream", line: line)
            let group = try record.field("group").map { (value) throws(HistoryError) in try string(value, "group", line: line) }
            let from = try integer(record.field("from"), "from", minimum: 0, line: line) ?? 0
            event = .subscribe(stream: stream, group: group, from: from)
        case "deliver":
            event = .deliver(try observedEvent(record.fields, stream: nil, line: line))
        case "ack":
            event = .acknowledge(eventID: try string(record.field("event"), "event", line: line))
        case "nack":
            let action = record.field("action")?.identifierValue ?? "retry"
            guard ["retry", "park", "skip"].contains(action) else {
                throw malformed("a nack's action is retry, park or skip, not \(action)", line)
            }
            event = .negativeAcknowledge(eventID: try string(record.field("event"), "event", line: line), action: action)
        case "caught-up", "caught_up":
            event = .caughtUp
        default:
            throw malformed("an event-store history has no \(record.type) lines (subscribe, deliver, ack, nack, caught-up)", line)
        }
        return SubscriptionRecord(subscriber: subscriber, event: event, instant: record.instant, line: line)
    }
}
