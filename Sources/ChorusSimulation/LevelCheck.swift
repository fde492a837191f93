import ChorusCheck
import ChorusCore

/// Judges a key-value seed's history at its read level with that level's
/// checker, and runs the next stronger level's checker on it too, to show the
/// levels are distinct (its verdict is a statistic, not a violation).
///
/// | level | checker |
/// |---|---|
/// | linearizable | linearizability (`HistoryCheck`) |
/// | sequential | sequential consistency (`HistoryCheck`) |
/// | session | RYW, MR, MW, WFR (`SessionChecker`) |
/// | bounded-staleness | K versions and T ms (`StalenessChecker`) |
/// | consistent-prefix | range reads are prefixes (`ConsistentPrefixChecker`) |
/// | eventual | convergence, checked by the liveness phase |
enum LevelCheck {
    struct LevelVerdict: Sendable {
        var verdict: HistoryCheck.Verdict
        /// Whether the stronger checker found the history in violation (nil: none run).
        var strongerViolated: Bool?
    }

    static func check(_ history: [ClientOperation], parameters: SimulationParameters) -> LevelVerdict {
        switch parameters.readLevel {
        case .linearizable:
            return LevelVerdict(verdict: HistoryCheck.check(history), strongerViolated: nil)
        case .sequential:
            let stronger = HistoryCheck.check(history, condition: .linearizable)
            return LevelVerdict(
                verdict: HistoryCheck.check(history, condition: .sequential), strongerViolated: isViolated(stronger))
        case .session:
            let stronger = staleness(
                history, StalenessOptions(maximumVersions: 1, maximumLagMilliseconds: nil, timeUnitsPerMillisecond: 1_000))
            return LevelVerdict(verdict: session(history), strongerViolated: isViolated(stronger))
        case .boundedStaleness:
            let bound = parameters.stalenessBound
            let options = StalenessOptions(
                maximumVersions: bound.maximumVersions.map { Int($0) },
                maximumLagMilliseconds: bound.maximumLagMilliseconds.map { Double($0) }, timeUnitsPerMillisecond: 1_000)
            return LevelVerdict(verdict: staleness(history, options), strongerViolated: nil)
        case .consistentPrefix:
            return LevelVerdict(verdict: prefix(history), strongerViolated: nil)
        case .eventual:
            return LevelVerdict(verdict: .linearizable, strongerViolated: isViolated(session(history)))
        }
    }

    static func isViolated(_ verdict: HistoryCheck.Verdict) -> Bool {
        if case .violated = verdict { true } else { false }
    }

    static func session(_ history: [ClientOperation]) -> HistoryCheck.Verdict {
        run(history) { history throws(HistoryError) in try SessionChecker.check(history) }
    }

    static func staleness(_ history: [ClientOperation], _ options: StalenessOptions) -> HistoryCheck.Verdict {
        run(history) { history throws(HistoryError) in try StalenessChecker.check(history, options: options) }
    }

    static func prefix(_ history: [ClientOperation]) -> HistoryCheck.Verdict {
        run(history) { history throws(HistoryError) in try ConsistentPrefixChecker.check(history) }
    }

    private static func run(
        _ history: [ClientOperation], _ checker: (KeyValueHistory) throws(HistoryError) -> PropertyCheckResult
    ) -> HistoryCheck.Verdict {
        guard !history.isEmpty else { return .linearizable }
        do {
            let result = try checker(try keyValueHistory(history))
            if let violated = result.properties.first(where: { $0.verdict == .violated }) {
                return .violated("\(violated.name): \(violated.violations.first?.explanation ?? "")")
            }
            if let unknown = result.properties.first(where: { $0.verdict == .unknown }) {
                return .unknown("\(unknown.name): \(unknown.note ?? "undecided")")
            }
            return .linearizable
        } catch {
            return .violated("the history could not be checked: \(error)")
        }
    }

    /// The history in the checkers' terms: each client is a session, a write's
    /// version is its log index, a read's the version it returned (0: absent),
    /// times in virtual microseconds and instants from the sequence counter.
    static func keyValueHistory(_ history: [ClientOperation]) throws(HistoryError) -> KeyValueHistory {
        var operations: [ChorusCheck.KeyValueOperation] = []
        operations.reserveCapacity(history.count)
        for operation in history {
            let process = ProcessID(Int64(operation.client))
            let key = HistoryValue.string(operation.kind.key)
            let completed = operation.completedSequence
            var function: KeyValueFunction
            var value = HistoryValue.null
            var version: Int64?
            var range: RangeReadResult?
            var outcome: ChorusCheck.Outcome = completed == nil ? .pending : .ok
            switch (operation.kind, operation.outcome) {
            case (.get, .read(let read, let readVersion)):
                function = .read
                value = read.map { .string($0) } ?? .null
                // An absent key is read "as of" the replica's applied index:
                // the latest write at or before it must be a delete, or none.
                version = Int64((read == nil ? operation.readAppliedIndex ?? readVersion : readVersion).rawValue)
            case (.get, _):
                function = .read
                outcome = completed == nil ? .pending : .info
            case (.range, .range(let entries)):
                function = .rangeRead
                range = RangeReadResult(entries: entries.map { RangeEntry(key: $0.key, version: Int64($0.version.rawValue)) })
            case (.range, _):
                function = .rangeRead
                outcome = completed == nil ? .pending : .info
            case (.put(_, let written), _), (.compareAndSet(_, _, _, let written), _):
                function = .write
                value = .string(written)
                version = operation.writeIndex.map { Int64($0.rawValue) }
                if case .compareAndSetFailed = operation.outcome { outcome = .fail }
                if case .indeterminate = operation.outcome, completed != nil { outcome = .info }
            case (.delete, _):
                function = .delete
                version = operation.writeIndex.map { Int64($0.rawValue) }
                if case .indeterminate = operation.outcome, completed != nil { outcome = .info }

            }
            operations.append(ChorusCheck.KeyValueOperation(
                process: process, function: function, key: key, value: value, version: version, range: range,
                outcome: outcome, invokedAt: operation.invokedSequence, completedAt: completed,
                invokeTime: Int64(operation.invokedAt), completeTime: operation.completedAt.map { Int64($0) }))
        }
        return try KeyValueHistory(operations: operations)
    }
}
