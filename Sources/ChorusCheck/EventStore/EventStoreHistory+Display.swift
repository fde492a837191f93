extension EventStoreHistory {
    /// The history as the generic timeline draws it: operations on their
    /// processes' lanes, each subscriber's records on a lane of its own
    /// (numbered after the largest process), as instants.
    public var displayHistory: History {
        var display: [Operation] = []
        display.reserveCapacity(operations.count + records.count)
        for operation in operations {
            var input = HistoryValue.null
            var output: HistoryValue?
            var function = "append"
            switch operation.kind {
            case .append(let expected, let ids, let result):
                input = .list([.symbol(expected.description)] + ids.map { .string($0) })
                switch result {
                case .appended(let revisions, let positions):
                    output = .symbol(zip(revisions, positions).map { "r\($0)@\($1)" }.joined(separator: " "))
                case .wrongExpectedVersion(let actual): output = .symbol("wrong_expected_version (actual \(actual))")
                case .refused(let error): output = .symbol(error)
                case .indeterminate: output = nil
                }
            case .read(let direction, let from, _, _, let events):
                function = "read"
                input = .symbol(direction.rawValue + (from.map { " from \($0)" } ?? ""))
                output = events.map { .symbol($0.map { "\($0.id) r\($0.revision.map(String.init) ?? "?")@\($0.position)" }.joined(separator: ", ")) }
            }
            display.append(
                Operation(
                    id: operation.id, process: operation.process, function: function, key: .string(operation.stream),
                    input: input, output: output, outcome: operation.outcome, invokedAt: operation.invokedAt,
                    completedAt: operation.completedAt, invokeTime: operation.invokeTime,
                    completeTime: operation.completeTime, invokeLine: operation.invokeLine,
                    completeLine: operation.completeLine))
        }
        let firstLane = (operations.map(\.process.rawValue).max() ?? -1) + 1
        var lanes: [String: Int64] = [:]
        for record in records {
            let lane = lanes[record.subscriber] ?? firstLane + Int64(lanes.count)
            lanes[record.subscriber] = lane
            let (function, input): (String, HistoryValue)
            switch record.event {
            case .subscribe(let stream, let group, let from):
                function = "subscribe"
                input = .symbol("\(stream) from \(from)" + (group.map { " group \($0)" } ?? ""))
            case .deliver(let event):
                function = "deliver"
                input = .symbol("\(event.id) r\(event.revision.map(String.init) ?? "?")@\(event.position)")
            case .acknowledge(let id):
                function = "ack"
                input = .string(id)
            case .negativeAcknowledge(let id, let action):
                function = "nack"
                input = .symbol("\(id) \(action)")
            case .caughtUp:
                function = "caught-up"
                input = .null
            }
            display.append(
                Operation(
                    id: record.id, process: ProcessID(lane), function: function, key: .string(record.subscriber),
                    input: input, output: .null, outcome: .ok, invokedAt: record.instant, completedAt: record.instant,
                    invokeLine: record.line, completeLine: record.line))
        }
        do {
            return try History(operations: display)
        } catch {
            preconditionFailure("a valid event-store history always makes a valid display history: \(error)")
        }
    }

    /// The display lane of each subscriber, for report lane names.
    public var subscriberLanes: [(ProcessID, String)] {
        let firstLane = (operations.map(\.process.rawValue).max() ?? -1) + 1
        var seen: [String] = []
        for record in records where !seen.contains(record.subscriber) { seen.append(record.subscriber) }
        return seen.enumerated().map { (ProcessID(firstLane + Int64($0.offset)), $0.element) }
    }
}
