/// One checked file, as the CLI reports it in text, JSON and HTML.
public struct FileReport: Sendable {
    public enum Outcome: Sendable {
        /// The history was read and checked.
        case checked(History, CheckResult)
        /// The file could not be read, parsed or translated; the message says why.
        case failed(String)
    }

    public var name: String
    public var outcome: Outcome

    public init(name: String, outcome: Outcome) {
        self.name = name
        self.outcome = outcome
    }
}

/// Machine-readable reports (`chorus check --json`).
public enum CheckReport {
    /// One JSON document for a run: the condition, the model, and per file
    /// the verdict, timing and, for a violation, the counterexample with each
    /// operation spelled out.
    public static func json(condition: ConsistencyCondition, model: String, files: [FileReport]) -> String {
        var output = "{\"condition\": \"\(condition.rawValue)\", \"model\": "
        JSONText.writeString(model, to: &output)
        output += ", \"files\": ["
        for (index, file) in files.enumerated() {
            output += index == 0 ? "\n  " : ",\n  "
            write(file, to: &output)
        }
        output += "\n]}"
        return output
    }

    private static func write(_ file: FileReport, to output: inout String) {
        output += "{\"file\": "
        JSONText.writeString(file.name, to: &output)
        switch file.outcome {
        case .failed(let message):
            output += ", \"verdict\": \"error\", \"error\": "
            JSONText.writeString(message, to: &output)
        case .checked(let history, let result):
            output += ", \"verdict\": \"\(result.verdict.rawValue)\", \"summary\": "
            JSONText.writeString(result.phrase, to: &output)
            let seconds = Double(result.duration.components.seconds)
                + Double(result.duration.components.attoseconds) * 1e-18
            output += ", \"seconds\": \(seconds), \"operations\": \(history.operations.count)"
            output += ", \"partitions\": \(result.partitions.count)"
            output += ", \"searchSteps\": \(result.partitions.reduce(0) { $0 + $1.searchSteps })"
            if let reason = result.unknownReason {
                output += ", \"unknownReason\": "
                JSONText.writeString(reason.description, to: &output)
            }
            if let counterexample = result.counterexample {
                output += ", \"counterexample\": "
                write(counterexample, history: history, to: &output)
            }
        }
        output += "}"
    }

    private static func write(_ counterexample: Counterexample, history: History, to output: inout String) {
        output += "{\"key\": "
        if let key = counterexample.key { JSONText.write(key, to: &output) } else { output += "null" }
        output += ", \"prefix\": ["
        for (index, step) in counterexample.prefix.enumerated() {
            if index > 0 { output += ", " }
            output += "{\"operation\": "
            write(history.operations[step.operationID], to: &output)
            output += ", \"stateAfter\": "
            JSONText.writeString(step.stateAfter, to: &output)
            output += "}"
        }
        output += "], \"stateAtEnd\": "
        JSONText.writeString(counterexample.stateAtEnd, to: &output)
        output += ", \"blocking\": "
        if let blocking = counterexample.blockingOperationID {
            write(history.operations[blocking], to: &output)
        } else {
            output += "null"
        }
        for (name, ids) in [("candidates", counterexample.candidates), ("unplaceable", counterexample.unplaceable)] {
            output += ", \"\(name)\": ["
            for (index, id) in ids.enumerated() {
                if index > 0 { output += ", " }
                write(history.operations[id], to: &output)
            }
            output += "]"
        }
        output += "}"
    }

    private static func write(_ operation: Operation, to output: inout String) {
        output += "{\"id\": \(operation.id), \"process\": \(operation.process.rawValue), \"summary\": "
        JSONText.writeString(operation.summary, to: &output)
        if let line = operation.invokeLine { output += ", \"line\": \(line)" }
        output += "}"
    }
}
