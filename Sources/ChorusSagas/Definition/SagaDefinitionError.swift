import ChorusCore

/// Why a definition was refused: where (a path into the definition, such as
/// `steps.charge.compensation` or `steps[1].retry.backoffCoefficient`) and
/// what is wrong there. Every refusal of a user-written definition, from a
/// JSON syntax error to a pivot with a compensation, is one of these.
public struct SagaDefinitionError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case invalidJSON(JSONParseError)
        case definitionTooLarge(byteCount: Int, limit: Int)
        case missingField
        case unknownField
        case wrongType(expected: String, found: String)
        case invalidValue(String)
        case invalidName
        case invalidVersion(Int)
        case noSteps
        case tooManySteps(count: Int, limit: Int)
        case emptyParallelGroup
        case parallelGroupTooLarge(count: Int, limit: Int)
        case invalidStepID(String)
        case duplicateStepID(StepID)
        case pivotInParallelGroup(StepID)
        case mixedKindsInParallelGroup([SagaStepKind])
        case multiplePivots(first: StepID, second: StepID)
        case compensationOnPivot(StepID)
        case compensationOnRetriable(StepID)
        /// A retriable step before the pivot (or in a saga without one): a
        /// failure of a later compensatable step or of the pivot would have to
        /// undo it, and retriable steps have no compensation.
        case retriableBeforePivot(step: StepID, pivot: StepID?)
        /// A compensatable step after the pivot: it could never be compensated.
        case compensatableAfterPivot(step: StepID, pivot: StepID)
        case invalidTemplate(SagaTemplateError)
        case unknownStepReference(StepID)
        /// A reference to a step that does not complete before this template
        /// is rendered (itself, a member of the same parallel group, or a later
        /// step): a dependency cycle.
        case referenceToStepNotBefore(StepID)
        case invalidRetryPolicy(String)
        case invalidDuration(UInt64, limit: UInt64)
    }

    public var location: String
    public var reason: Reason

    public init(_ reason: Reason, at location: String) {
        self.reason = reason
        self.location = location
    }

    public var description: String {
        let what: String
        switch reason {
        case .invalidJSON(let error): what = error.description
        case .definitionTooLarge(let count, let limit): what = "definition of \(count) bytes exceeds the limit of \(limit)"
        case .missingField: what = "required field is missing"
        case .unknownField: what = "unknown field"
        case .wrongType(let expected, let found): what = "expected \(expected), found \(found)"
        case .invalidValue(let message): what = message
        case .invalidName:
            what = "a definition name is 1…\(SagaLimits.maximumNameBytes) ASCII letters, digits, '_' and '.'"
        case .invalidVersion(let version): what = "version \(version) must be at least 1"
        case .noSteps: what = "a saga needs at least one step"
        case .tooManySteps(let count, let limit): what = "\(count) steps exceed the limit of \(limit)"
        case .emptyParallelGroup: what = "a parallel group needs at least one step"
        case .parallelGroupTooLarge(let count, let limit): what = "a parallel group of \(count) exceeds the limit of \(limit)"
        case .invalidStepID(let id):
            what = "step id \(JSONString.quoted(id)) must start with a letter and hold only letters, digits, '_' and '-'"
        case .duplicateStepID(let id): what = "step id '\(id)' is used twice"
        case .pivotInParallelGroup(let id): what = "the pivot '\(id)' cannot be in a parallel group"
        case .mixedKindsInParallelGroup(let kinds):
            what = "a parallel group mixes kinds \(kinds.map(\.rawValue).joined(separator: ", ")); its members must share one"
        case .multiplePivots(let first, let second): what = "two pivots, '\(first)' and '\(second)'; a saga has at most one"
        case .compensationOnPivot(let id): what = "the pivot '\(id)' cannot have a compensation: it is the point of no return"
        case .compensationOnRetriable(let id):
            what = "retriable step '\(id)' cannot have a compensation: it runs after the pivot and is never undone"
        case .retriableBeforePivot(let step, let pivot):
            what =
                pivot.map { "retriable step '\(step)' comes before the pivot '\($0)'; retriable steps follow the pivot" }
                ?? "retriable step '\(step)' needs a pivot before it; retriable steps follow the pivot"
        case .compensatableAfterPivot(let step, let pivot):
            what = "compensatable step '\(step)' comes after the pivot '\(pivot)' and could never be compensated"
        case .invalidTemplate(let error): what = error.description
        case .unknownStepReference(let id): what = "refers to step '\(id)', which the definition does not have"
        case .referenceToStepNotBefore(let id):
            what = "refers to step '\(id)', which does not complete before this step runs (a reference cycle)"
        case .invalidRetryPolicy(let message): what = "invalid retry policy: \(message)"
        case .invalidDuration(let value, let limit): what = "duration \(value) ms must be 1…\(limit) ms"
        }
        return location.isEmpty ? what : "\(location): \(what)"
    }
}
