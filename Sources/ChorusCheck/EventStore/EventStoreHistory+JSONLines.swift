extension EventStoreHistory {
    /// The history in the JSON-lines format `EventStoreHistory(document:)`
    /// reads: events in real-time order, each subscriber record before the
    /// events at or after its instant. Reading it back gives the same
    /// operations and records, with instants renumbered to line order.
    public func jsonLines() -> String {
        var lines: [(instant: Int, rank: Int, order: Int, text: String)] = []
        for operation in operations {
            lines.append((operation.invokedAt, 1, lines.count, invocation(operation)))
            if let completedAt = operation.completedAt, let text = completion(operation) {
                lines.append((completedAt, 1, lines.count, text))
            }
        }
        for record in records { lines.append((record.instant, 0, lines.count, line(record))) }
        lines.sort { ($0.instant, $0.rank, $0.order) < ($1.instant, $1.rank, $1.order) }
        return lines.map { $0.text + "\n" }.joined()
    }

    private func start(_ operation: EventStoreOperation, _ type: String, _ function: String) -> String {
        var output = "{\"process\": \(operation.process.rawValue), \"type\": \"\(type)\", \"f\": \"\(function)\", \"key\": "
        JSONText.writeString(operation.stream, to: &output)
        return output
    }

    private func invocation(_ operation: EventStoreOperation) -> String {
        switch operation.kind {
        case .append(let expected, let ids, _):
            var output = start(operation, "invoke", "append") + ", \"value\": {\"expected\": "
            switch expected {
            case .any: output += "\"any\""
            case .noStream: output += "\"no_stream\""
            case .streamExists: output += "\"stream_exists\""
            case .exact(let revision): output += String(revision)
            }
            output += ", \"events\": "
            JSONText.write(.list(ids.map { .string($0) }), to: &output)
            return output + "}}"
        case .read(let direction, let from, let limit, let linearizable, _):
            var output = start(operation, "invoke", "read") + ", \"value\": {\"direction\": \"\(direction.rawValue)\""
            if let from { output += ", \"from\": \(from)" }
            if let limit { output += ", \"limit\": \(limit)" }
            output += ", \"level\": \"\(linearizable ? "linearizable" : "sequential")\"}}"
            return output
        }
    }

    private func completion(_ operation: EventStoreOperation) -> String? {
        switch operation.kind {
        case .append(_, _, let result):
            switch result {
            case .appended(let revisions, let positions):
                var output = start(operation, "ok", "append") + ", \"value\": {\"revisions\": "
                JSONText.write(.list(revisions.map { .integer($0) }), to: &output)
                output += ", \"positions\": "
                JSONText.write(.list(positions.map { .integer($0) }), to: &output)
                return output + "}}"
            case .wrongExpectedVersion(let actual):
                return start(operation, "fail", "append") + ", \"value\": {\"error\": \"wrong_expected_version\", \"actual\": \(actual)}}"
            case .refused(let error):
                var output = start(operation, "fail", "append") + ", \"value\": {\"error\": "
                JSONText.writeString(error, to: &output)
                return output + "}}"
            case .indeterminate:
                return start(operation, "info", "append") + ", \"value\": null}"
            }
        case .read(_, _, _, _, let events):
            guard let events else { return start(operation, "info", "read") + ", \"value\": null}" }
            var output = start(operation, "ok", "read") + ", \"value\": ["
            for (index, event) in events.enumerated() {
                if index > 0 { output += ", " }
                output += object(event)
            }
            return output + "]}"
        }
    }

    private func object(_ event: ObservedEvent, subscriber: String? = nil) -> String {
        var output = "{"
        if let subscriber {
            output += "\"type\": \"deliver\", \"subscriber\": "
            JSONText.writeString(subscriber, to: &output)
            output += ", \"event\": "
        } else {
            output += "\"id\": "
        }
        JSONText.writeString(event.id, to: &output)
        if let stream = event.stream {
            output += ", \"stream\": "
            JSONText.writeString(stream, to: &output)
        }
        if let revision = event.revision { output += ", \"revision\": \(revision)" }
        return output + ", \"position\": \(event.position)}"
    }

    private func line(_ record: SubscriptionRecord) -> String {
        func head(_ type: String) -> String {
            var output = "{\"type\": \"\(type)\", \"subscriber\": "
            JSONText.writeString(record.subscriber, to: &output)
            return output
        }
        switch record.event {
        case .subscribe(let stream, let group, let from):
            var output = head("subscribe") + ", \"stream\": "
            JSONText.writeString(stream, to: &output)
            if let group {
                output += ", \"group\": "
                JSONText.writeString(group, to: &output)
            }
            return output + ", \"from\": \(from)}"
        case .deliver(let event): return object(event, subscriber: record.subscriber)
        case .acknowledge(let id):
            var output = head("ack") + ", \"event\": "
            JSONText.writeString(id, to: &output)
            return output + "}"
        case .negativeAcknowledge(let id, let action):
            var output = head("nack") + ", \"event\": "
            JSONText.writeString(id, to: &output)
            return output + ", \"action\": \"\(action)\"}"
        case .caughtUp: return head("caught-up") + "}"
        }
    }
}
