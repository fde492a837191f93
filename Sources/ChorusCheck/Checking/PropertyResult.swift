/// One violation of a property, as the few operations that show it.
///
/// The operations are a minimal counterexample: remove any and what is left
/// no longer shows the violation. The explanation names each one by its
/// source line, so a person can check the claim by hand.
public struct PropertyViolation: Hashable, Sendable {
    /// Ids of the operations (in the checker's display history), in the
    /// order the explanation walks through them.
    public var operationIDs: [Int]
    /// One or two sentences: what the operations did and which rule that breaks.
    public var explanation: String

    public init(operationIDs: [Int], explanation: String) {
        self.operationIDs = operationIDs
        self.explanation = explanation
    }
}

/// The verdict on one property: one session guarantee, one bad pattern of
/// causal consistency, one event-store invariant.
public struct PropertyResult: Sendable {
    /// The machine name, such as `read-your-writes` or `cyclic-co`.
    public var name: String
    public var verdict: Verdict
    /// How many violations the checker found; it keeps only the first
    /// `CheckLimits.violationExamplesMaximum` of them in `violations`.
    public var violationCount: Int
    public var violations: [PropertyViolation]
    /// Why the verdict is unknown, or what the check did not cover.
    public var note: String?

    public init(name: String, verdict: Verdict, violationCount: Int = 0, violations: [PropertyViolation] = [], note: String? = nil) {
        self.name = name
        self.verdict = verdict
        self.violationCount = violationCount
        self.violations = violations
        self.note = note
    }
}

/// Collects the violations of one property as a checker finds them: counts
/// all, keeps the first few (a limit on everything, STYLE habit 5).
struct PropertyTally: Sendable {
    let name: String
    private(set) var count = 0
    private(set) var examples: [PropertyViolation] = []
    var note: String?
    /// Set when the property could not be decided.
    var unknown = false

    init(_ name: String) { self.name = name }

    /// True when another example would still be kept, so a checker can skip
    /// building explanations it would throw away.
    var wantsExample: Bool { examples.count < CheckLimits.violationExamplesMaximum }

    mutating func record(_ violation: PropertyViolation) {
        count += 1
        if wantsExample { examples.append(violation) }
    }

    /// Counts a violation without an example (past the example limit).
    mutating func count(_ extra: Int = 1) { count += extra }

    var result: PropertyResult {
        let verdict: Verdict = count > 0 ? .violated : (unknown ? .unknown : .satisfied)
        return PropertyResult(name: name, verdict: verdict, violationCount: count, violations: examples, note: note)
    }
}

/// What one of the property checkers (session guarantees, bounded
/// staleness, consistent prefix, causal consistency, event store) found in
/// one history.
public struct PropertyCheckResult: Sendable {
    /// The checker: `session`, `staleness`, `prefix`, `causal` or `events`.
    public var checker: String
    /// One result per property, in a fixed order per checker.
    public var properties: [PropertyResult]
    /// Figures beyond the verdicts, as a map (for staleness: the
    /// distribution), written into the JSON report as they are.
    public var statistics: HistoryValue
    /// Wall time of the check.
    public var duration: Duration

    public init(checker: String, properties: [PropertyResult], statistics: HistoryValue = .map([]), duration: Duration) {
        self.checker = checker
        self.properties = properties
        self.statistics = statistics
        self.duration = duration
    }

    /// Violated when any property is; otherwise unknown when any is; otherwise satisfied.
    public var verdict: Verdict {
        if properties.contains(where: { $0.verdict == .violated }) { return .violated }
        if properties.contains(where: { $0.verdict == .unknown }) { return .unknown }
        return .satisfied
    }

    /// The result of the property named `name`.
    public func property(_ name: String) -> PropertyResult? {
        properties.first { $0.name == name }
    }

    /// `ok`, `violates read-your-writes, monotonic-reads`, `unknown (…)`.
    public var phrase: String {
        switch verdict {
        case .satisfied: return "ok"
        case .violated:
            return "violates " + properties.filter { $0.verdict == .violated }.map(\.name).joined(separator: ", ")
        case .unknown:
            return "unknown: " + properties.filter { $0.verdict == .unknown }.map(\.name).joined(separator: ", ")
        }
    }
}
