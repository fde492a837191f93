/// A stream as a register of its last revision (-1: no stream), for the
/// linearizability search: an append with an expected state is a
/// compare-and-set on it.
///
/// Each append knows, when anything placed its events, the revision its
/// first event sits at, so the model needs no set of applied ids to be
/// exact about idempotency: a batch is in the stream exactly when the last
/// revision has reached its last event.
///
/// - In a state where the batch is already in, a success is an idempotent
///   retry (it must report the original first revision) and changes nothing;
///   a `wrong_expected_version` must name the state.
/// - In the state just before the batch's place, an append whose expected
///   state holds writes it there; one whose expected state fails is refused
///   with the state as the actual revision.
/// - Anywhere else the batch cannot be written, so a success there is
///   impossible, and a refusal must name the state with a failing expectation.
/// - An append nothing placed (no answer, never seen) writes `count` events
///   after the state when its expectation holds, or is refused.
///
/// The inputs live in a table by operation id, built by the checker, so the
/// search never touches a `HistoryValue`.
struct StreamRevisionModel: Model {
    struct Input: Hashable, Sendable {
        var expected: ExpectedState
        var count: Int64
        /// Where the batch's first event sits, when known.
        var firstRevision: Int64?
    }

    enum Output: Hashable, Sendable {
        /// Succeeded, its first event at this revision.
        case appended(first: Int64)
        /// Refused: the stream's last revision was this.
        case conflict(actual: Int64)
    }

    typealias State = Int64

    /// Input and output of each operation of the search's history, by id.
    let table: [(input: Input, output: Output?)]

    var name: String { "stream-revision" }
    var initialState: Int64 { -1 }

    func translate(_ operation: Operation, values: inout ValueTable) throws(ModelError) -> (input: Input, output: Output?) {
        guard operation.id < table.count else { throw ModelError("no append \(operation.id) in the table", operation: operation) }
        return table[operation.id]
    }

    func step(_ state: Int64, _ input: Input, _ output: Output?) -> Int64? {
        let holds = input.expected.isSatisfied(byRevision: state)
        guard let first = input.firstRevision else {
            switch output {
            case .appended(let reported): return holds && reported == state + 1 ? state + input.count : nil
            case .conflict(let actual): return !holds && actual == state ? state : nil
            case nil: return holds ? state + input.count : state
            }
        }
        let last = first + input.count - 1
        if state >= last {
            switch output {
            case .appended(let reported): return reported == first ? state : nil
            case .conflict(let actual): return actual == state ? state : nil
            case nil: return state
            }
        }
        if state == first - 1 {
            switch output {
            case .appended(let reported): return holds && reported == first ? last : nil
            case .conflict(let actual): return !holds && actual == state ? state : nil
            case nil: return holds ? last : state
            }
        }
        switch output {
        case .appended: return nil
        case .conflict(let actual): return !holds && actual == state ? state : nil
        // Linearized here it could not have written its known place: as if it never took effect.
        case nil: return state
        }
    }

    func isReadOnly(_ input: Input) -> Bool { false }

    func describe(_ state: Int64, values: ValueTable) -> String {
        state < 0 ? "no stream" : "last revision \(state)"
    }
}

extension EventStoreRun {
    /// Each stream's appends, linearizable against `StreamRevisionModel`.
    /// Streams are searched one by one, so every violating stream is reported.
    mutating func checkExpectedVersions() {
        var appendsOfStream: [String: [Int]] = [:]
        for operation in history.operations {
            if case .append = operation.kind { appendsOfStream[operation.stream, default: []].append(operation.id) }
        }
        let index = EventStoreProperty.allCases.firstIndex(of: .expectedVersions)!
        for stream in appendsOfStream.keys.sorted() {
            let ids = appendsOfStream[stream]!
            var operations: [Operation] = []
            var table: [(input: StreamRevisionModel.Input, output: StreamRevisionModel.Output?)] = []
            for id in ids {
                let append = history.operations[id]
                guard case .append(let expected, let events, let result) = append.kind else { continue }
                let first = firstRevision[id]
                var output: StreamRevisionModel.Output?
                switch result {
                case .appended(let revisions, _): output = .appended(first: first ?? revisions.first ?? 0)
                case .wrongExpectedVersion(let actual): output = .conflict(actual: actual)
                case .refused, .indeterminate: output = nil
                }
                table.append((StreamRevisionModel.Input(expected: expected, count: Int64(events.count), firstRevision: first), output))
                operations.append(Operation(
                    id: operations.count, process: append.process, function: "append", key: .string(stream), input: .null,
                    output: output == nil ? nil : .null, outcome: append.outcome, invokedAt: append.invokedAt,
                    completedAt: append.completedAt, invokeLine: append.invokeLine, completeLine: append.completeLine))
            }
            let result: CheckResult
            do {
                result = try Checker.check(History(operations: operations), model: StreamRevisionModel(table: table),
                                           condition: .linearizable, options: options.search)
            } catch {
                tallies[index].unknown = true
                tallies[index].note = "\(stream): \(error)"
                continue
            }
            switch result.verdict {
            case .satisfied: continue
            case .unknown:
                tallies[index].unknown = true
                tallies[index].note = "\(stream): \(result.unknownReason?.description ?? "no verdict")"
            case .violated:
                guard let counterexample = result.counterexample else { continue }
                recordLinearizability(counterexample, stream: stream, ids: ids)
            }
        }
    }

    private mutating func recordLinearizability(_ counterexample: Counterexample, stream: String, ids: [Int]) {
        let prefix = counterexample.prefix.map { ids[$0.operationID] }
        let unplaceable = counterexample.unplaceable.map { ids[$0] }
        var shown = prefix
        if let blocking = counterexample.blockingOperationID.map({ ids[$0] }), !shown.contains(blocking) { shown.append(blocking) }
        for id in unplaceable where !shown.contains(id) { shown.append(id) }
        var explanation = "no order of the appends to \(stream) fits both real time and their expected states: "
        explanation += prefix.isEmpty ? "from the start (no stream), "
            : "after \(prefix.map { describe($0) }.joined(separator: "; ")) (then \(counterexample.stateAtEnd)), "
        if let blocking = counterexample.blockingOperationID.map({ ids[$0] }) {
            explanation += "\(describe(blocking)) had to take effect before it completed, "
        }
        explanation += unplaceable.isEmpty ? "and every continuation fails later"
            : "but \(unplaceable.map { describe($0) }.joined(separator: "; ")) cannot go next"
        report(.expectedVersions, shown, explanation)
    }
}
