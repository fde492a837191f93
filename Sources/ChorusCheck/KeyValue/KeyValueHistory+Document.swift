extension KeyValueHistory {
    /// Reads a key-value history from a document (see the README in this
    /// folder's parent for the format):
    ///
    ///     {"process": 0, "session": "a", "type": "invoke", "f": "write", "key": "x", "value": 1}
    ///     {"process": 0, "session": "a", "type": "ok", "f": "write", "key": "x", "value": 1, "version": 3}
    ///     {"process": 1, "type": "invoke", "f": "read", "key": "x"}
    ///     {"process": 1, "type": "ok", "f": "read", "key": "x", "value": 1, "version": 3}
    ///     {"process": 2, "type": "invoke", "f": "range", "key": "user/", "value": {"after": "user/a", "limit": 2}}
    ///     {"process": 2, "type": "ok", "f": "range", "key": "user/", "value": [["user/b", 3], ["user/c", 5]]}
    ///     {"type": "write-order", "key": "y", "value": [4, 2, 9]}
    ///
    /// `get` and `put` are read as `read` and `write`. Every line that does
    /// not fit is an error naming it.
    public init(document: HistoryDocument) throws(HistoryError) {
        var operations: [KeyValueOperation] = []
        operations.reserveCapacity(document.history.operations.count)
        for operation in document.history.operations {
            operations.append(try KeyValueHistory.decode(operation, document: document))
        }
        var writeOrders: [WriteOrder] = []
        for record in document.records {
            guard record.type == "write-order" else {
                throw HistoryError(
                    .malformed("a key-value history has no \(record.type) lines (only operations and write-order)"),
                    line: record.line)
            }
            guard let key = record.field("key") else {
                throw HistoryError(.malformed("write-order needs the key"), line: record.line)
            }
            guard case .list(let values) = record.fields.field("value") ?? .null else {
                throw HistoryError(.malformed("write-order needs value: the list of written values in order"), line: record.line)
            }
            writeOrders.append(WriteOrder(key: key, values: values, line: record.line))
        }
        try self.init(operations: operations, writeOrders: writeOrders)
    }

    private static func decode(_ operation: Operation, document: HistoryDocument) throws(HistoryError) -> KeyValueOperation {
        let line = operation.invokeLine
        let function: KeyValueFunction
        switch operation.function {
        case "read", "get": function = .read
        case "write", "put": function = .write
        case "delete": function = .delete
        case "range": function = .rangeRead
        default:
            throw HistoryError(
                .malformed("function \(operation.function) is not a key-value read, write, delete or range"), line: line)
        }
        guard let key = operation.key else {
            throw HistoryError(.malformed("a key-value operation needs its key"), line: line)
        }
        let session = document.field("session", of: operation) ?? KeyValueOperation.defaultSession(operation.process)
        var version: Int64?
        if operation.outcome == .ok || function != .read, let value = document.completionFields(operation)?.field("version"), !value.isNull {
            // A read of an absent key may say version 0, as Chorus's store does: no version.
            let absent = function == .read && (operation.output ?? .null).isNull
            guard let number = value.integerValue, number > 0 || (absent && number == 0), number <= CheckLimits.versionMaximum else {
                throw HistoryError(
                    .malformed("version must be a positive integer up to 2^62 (0 is the initial state), not \(value)"),
                    line: operation.completeLine)
            }
            version = number == 0 ? nil : number
        }
        var result = KeyValueOperation(
            id: operation.id, process: operation.process, session: session, function: function, key: key,
            version: version, outcome: operation.outcome, invokedAt: operation.invokedAt,
            completedAt: operation.completedAt, invokeTime: operation.invokeTime, completeTime: operation.completeTime,
            invokeLine: operation.invokeLine, completeLine: operation.completeLine)
        switch function {
        case .write: result.value = operation.input
        case .delete: result.value = .null
        case .read: result.value = operation.outcome == .ok ? (operation.output ?? .null) : .null
        case .rangeRead:
            guard key.stringValue != nil else {
                throw HistoryError(.malformed("a range read's key is its prefix, a string, not \(key)"), line: line)
            }
            var limit: Int64?
            if case .map = operation.input {
                if let after = operation.input.field("after"), !after.isNull {
                    guard let text = after.stringValue else {
                        throw HistoryError(.malformed("after must be a key (a string), not \(after)"), line: line)
                    }
                    result.rangeStartAfter = text
                }
                if let value = operation.input.field("limit"), !value.isNull {
                    guard let number = value.integerValue, number > 0 else {
                        throw HistoryError(.malformed("limit must be a positive integer, not \(value)"), line: line)
                    }
                    limit = number
                }
            } else if !operation.input.isNull {
                throw HistoryError(
                    .malformed("a range read's value is null or {\"after\": KEY, \"limit\": N}, not \(operation.input)"),
                    line: line)
            }
            if operation.outcome == .ok {
                result.range = try rangeResult(operation.output ?? .null, limit: limit, line: operation.completeLine)
            }
        }
        return result
    }

    /// `[[key, version], …]`, or `{"entries": [[key, version], …], "more": true}`
    /// for a read cut short; a read that returned as many entries as its
    /// limit is taken as cut short too.
    private static func rangeResult(_ value: HistoryValue, limit: Int64?, line: Int?) throws(HistoryError) -> RangeReadResult {
        var list: [HistoryValue]
        var more = false
        switch value {
        case .list(let elements): list = elements
        case .map:
            guard case .list(let elements) = value.field("entries") ?? .null else {
                throw HistoryError(.malformed("a range result object needs entries: [[key, version], …]"), line: line)
            }
            list = elements
            if let flag = value.field("more"), !flag.isNull {
                guard case .boolean(let truncated) = flag else {
                    throw HistoryError(.malformed("more must be true or false, not \(flag)"), line: line)
                }
                more = truncated
            }
        default:
            throw HistoryError(.malformed("a range result is a list of [key, version] pairs, not \(value)"), line: line)
        }
        var entries: [RangeEntry] = []
        entries.reserveCapacity(list.count)
        for element in list {
            let key: HistoryValue?
            let version: HistoryValue?
            switch element {
            case .list(let pair) where pair.count == 2:
                key = pair[0]
                version = pair[1]
            case .map:
                key = element.field("key")
                version = element.field("version")
            default:
                key = nil
                version = nil
            }
            guard let name = key?.stringValue, let number = version?.integerValue, number > 0, number <= CheckLimits.versionMaximum else {
                throw HistoryError(
                    .malformed("a range entry is [key, version] with a string key and a positive version, not \(element)"),
                    line: line)
            }
            if let previous = entries.last, !(previous.key < name) {
                throw HistoryError(
                    .malformed("range entries must be in increasing key order with no repeats (\(previous.key) then \(name))"),
                    line: line)
            }
            entries.append(RangeEntry(key: name, version: number))
        }
        let truncated = more || (limit.map { Int64(entries.count) >= $0 } ?? false)
        return RangeReadResult(entries: entries, truncated: truncated)
    }
}
