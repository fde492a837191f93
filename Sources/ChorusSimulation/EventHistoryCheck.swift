import ChorusCheck
import ChorusCore

/// Judges a seed's event-store history with `ChorusCheck.EventStoreChecker`.
enum EventHistoryCheck {
    enum Verdict: Sendable, Hashable {
        case satisfied
        case violated(String)
        /// A property's search ran out of budget (not a violation, not a pass).
        case unknown(String)
    }

    static func check(_ workload: EventWorkload) -> Verdict {
        guard !workload.operations.isEmpty || !workload.records.isEmpty else { return .satisfied }
        let result: PropertyCheckResult
        do {
            let history = try EventStoreHistory(operations: workload.operations, records: workload.records)
            result = try EventStoreChecker.check(history)
        } catch {
            return .violated("the recorded history is malformed: \(error)")
        }
        if let violated = result.properties.first(where: { $0.verdict == .violated }) {
            let example = violated.violations.first?.explanation ?? ""
            return .violated("\(violated.name): \(violated.violationCount) violation(s); \(example)")
        }
        if let unknown = result.properties.first(where: { $0.verdict == .unknown }) {
            return .unknown("\(unknown.name): \(unknown.note ?? "undecided")")
        }
        return .satisfied
    }
}
