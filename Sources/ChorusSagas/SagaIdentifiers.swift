/// Names that must not mix: a step's id, a saga instance's id, a timer's id.
///
/// Each is checked where it enters (a definition, an API request, a decoded
/// event) by `SagaNames`, so the rest of the core can put them into stream
/// names, idempotency keys and template paths without escaping.

/// A step's id inside its definition (`reserve`, `charge`, `ship`): letters,
/// digits, `_` and `-`, starting with a letter, so that it can appear in a
/// template path (`{{steps.charge.result.id}}`) and an idempotency key.
public struct StepID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static func < (lhs: StepID, rhs: StepID) -> Bool { lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8) }
    public var description: String { rawValue }
}

/// The id a client gives a saga instance when it starts it (an order number,
/// a request id). Unique per definition: a second start with the same id
/// returns the existing instance.
public struct SagaID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static func < (lhs: SagaID, rhs: SagaID) -> Bool { lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8) }
    public var description: String { rawValue }
}

/// A durable timer of one saga, numbered from 1 in the order the saga set them.
public struct SagaTimerID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: SagaTimerID, rhs: SagaTimerID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "timer-\(rawValue)" }
}

/// Which request of a step a call, reply or event is about.
public enum SagaPhase: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The step's forward action.
    case action
    /// The step's compensation (its semantic undo).
    case compensation

    public var description: String { rawValue }
}

/// The names a saga's identity is built from, and the rules they follow.
public enum SagaNames {
    /// The stream of one saga instance: `saga-{definition}-{id}`. Definition
    /// names have no `-`, so the first `-` after `saga-` separates the two and
    /// distinct (definition, id) pairs never share a stream.
    public static func stream(definition: String, id: SagaID) -> String { "saga-\(definition)-\(id.rawValue)" }

    /// The key every attempt of one step's action carries, and the participant
    /// de-duplicates on: the saga's stream and the step, never the attempt, so
    /// a retry (or a call re-sent after a leader change) is the same request.
    public static func idempotencyKey(stream: String, step: StepID, phase: SagaPhase) -> String {
        switch phase {
        case .action: "\(stream)/\(step.rawValue)"
        case .compensation: "\(stream)/\(step.rawValue)/compensation"
        }
    }

    /// A definition name: 1…`maximumNameBytes` of ASCII letters, digits, `_` and `.`.
    public static func isValidDefinitionName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= SagaLimits.maximumNameBytes
            && name.utf8.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// A step id: a letter, then letters, digits, `_` and `-`, at most `maximumNameBytes`.
    public static func isValidStepID(_ step: StepID) -> Bool {
        let bytes = Array(step.rawValue.utf8)
        guard let first = bytes.first, bytes.count <= SagaLimits.maximumNameBytes, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// A saga id: 1…`maximumSagaIDBytes` of ASCII letters, digits and `_ - . :`
    /// (no `/`, which separates the parts of an idempotency key).
    public static func isValidSagaID(_ id: SagaID) -> Bool {
        let bytes = id.rawValue.utf8
        return !bytes.isEmpty && bytes.count <= SagaLimits.maximumSagaIDBytes
            && bytes.allSatisfy {
                isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: ":")
            }
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        isLetter(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
