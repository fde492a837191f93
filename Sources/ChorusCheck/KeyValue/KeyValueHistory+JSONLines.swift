extension KeyValueHistory {
    /// The history in the JSON-lines format `KeyValueHistory(document:)`
    /// reads, one event per line in real-time order, so a simulator or a
    /// test can hand a failing history to `chorus check session` (and the
    /// others). Reading it back gives the same operations, with instants
    /// renumbered to line order.
    public func jsonLines() -> String {
        var events: [(instant: Int, order: Int, line: String)] = []
        for operation in operations {
            events.append((operation.invokedAt, events.count, line(operation, completion: false)))
            guard let completedAt = operation.completedAt, operation.outcome != .pending else { continue }
            events.append((completedAt, events.count, line(operation, completion: true)))
        }
        events.sort { ($0.instant, $0.order) < ($1.instant, $1.order) }
        var output = ""
        for event in events { output += event.line + "\n" }
        for order in writeOrders {
            output += "{\"type\": \"write-order\", \"key\": "
            JSONText.write(order.key, to: &output)
            output += ", \"value\": "
            JSONText.write(.list(order.values), to: &output)
            output += "}\n"
        }
        return output
    }

    private func line(_ operation: KeyValueOperation, completion: Bool) -> String {
        var output = "{\"process\": \(operation.process.rawValue)"
        if operation.session != KeyValueOperation.defaultSession(operation.process) {
            output += ", \"session\": "
            JSONText.write(operation.session, to: &output)
        }
        let type: String
        if !completion {
            type = "invoke"
        } else {
            switch operation.outcome {
            case .ok: type = "ok"
            case .fail: type = "fail"
            case .info, .timedOut, .pending: type = "info"
            }
        }
        output += ", \"type\": \"\(type)\", \"f\": \"\(operation.function.rawValue)\", \"key\": "
        JSONText.write(operation.key, to: &output)
        var value = HistoryValue.null
        switch operation.function {
        case .write: value = operation.value
        case .delete: value = .null
        case .read: value = completion ? operation.value : .null
        case .rangeRead:
            if completion, let range = operation.range {
                value = .map([
                    .init(key: "entries", value: .list(range.entries.map { .list([.string($0.key), .integer($0.version)]) })),
                    .init(key: "more", value: .boolean(range.truncated)),
                ])
            } else if !completion, let after = operation.rangeStartAfter {
                value = .map([.init(key: "after", value: .string(after))])
            }
        }
        output += ", \"value\": "
        JSONText.write(value, to: &output)
        if completion, let version = operation.version { output += ", \"version\": \(version)" }
        if let time = completion ? operation.completeTime : operation.invokeTime { output += ", \"time\": \(time)" }
        output += "}"
        return output
    }
}
