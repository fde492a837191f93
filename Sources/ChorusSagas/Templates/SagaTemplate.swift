/// A string with `{{ reference }}` holes, as written in a step's path, lock
/// name or body (README "Templates").
///
///     template   = *( literal / "\{{" / "{{" *space reference *space "}}" )
///     reference  = "input" *( "." segment )
///                / "steps." step-id ".result" *( "." segment )
///                / "steps." step-id ".idempotencyKey"
///                / "saga.id" / "saga.stream" / "saga.definition"
///     segment    = 1*( ALPHA / DIGIT / "_" / "-" )
///
/// `\{{` writes a literal `{{`; any other backslash is literal. A segment of
/// digits indexes an array (or names an object member spelled with digits).
/// Templates only read values that are fixed once recorded (the input and
/// results of earlier steps), which is what makes every attempt of a step
/// send the same request.
public struct SagaTemplate: Sendable, Hashable, CustomStringConvertible {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case reference(SagaReference)
    }

    public let parts: [Part]
    /// The template as written.
    public let source: String

    public init(parsing source: String) throws(SagaTemplateError) {
        guard source.utf8.count <= SagaLimits.maximumTemplateBytes else {
            throw .tooLong(byteCount: source.utf8.count, limit: SagaLimits.maximumTemplateBytes)
        }
        self.source = source
        let bytes = Array(source.utf8)
        var parts: [Part] = []
        var literal: [UInt8] = []
        var offset = 0
        func flush() {
            if !literal.isEmpty { parts.append(.literal(String(decoding: literal, as: UTF8.self))) }
            literal.removeAll()
        }
        func at(_ index: Int, _ byte: Character) -> Bool { index < bytes.count && bytes[index] == byte.asciiValue! }
        while offset < bytes.count {
            if at(offset, "\\") && at(offset + 1, "{") && at(offset + 2, "{") {
                literal.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "{")])
                offset += 3
            } else if at(offset, "{") && at(offset + 1, "{") {
                let open = offset
                var close = offset + 2
                while close < bytes.count && !(at(close, "}") && at(close + 1, "}")) {
                    if at(close, "{") && at(close + 1, "{") { throw .syntax("'{{' inside a reference", offset: close) }
                    close += 1
                }
                guard close < bytes.count else { throw .syntax("'{{' without a closing '}}'", offset: open) }
                let inner = String(decoding: bytes[(open + 2)..<close], as: UTF8.self)
                flush()
                parts.append(.reference(try SagaReference(parsing: inner, offset: open + 2)))
                offset = close + 2
            } else {
                literal.append(bytes[offset])
                offset += 1
            }
        }
        flush()
        self.parts = parts
    }

    /// The template is exactly one reference, with nothing around it: in a
    /// JSON body it is replaced by the referenced value, whatever its type.
    public var soleReference: SagaReference? {
        if parts.count == 1, case .reference(let reference) = parts[0] { reference } else { nil }
    }

    public var references: [SagaReference] {
        parts.compactMap { if case .reference(let reference) = $0 { reference } else { nil } }
    }

    public var description: String { source }
}

/// One `{{ … }}` reference: where it reads from, and the path below that.
public struct SagaReference: Sendable, Hashable, CustomStringConvertible {
    public enum Root: Sendable, Hashable {
        /// The saga's input.
        case input
        /// The recorded result of a step (present once the step succeeded).
        case stepResult(StepID)
        /// The idempotency key of a step's action: always known, so a
        /// compensation can name what it undoes even when the action timed out
        /// and no result was recorded.
        case stepIdempotencyKey(StepID)
        case sagaID
        case sagaStream
        case definitionName
    }

    public var root: Root
    /// Members below the root, outermost first.
    public var path: [String]
    /// The reference as written, trimmed (`input.orderId`).
    public var text: String

    init(parsing raw: String, offset: Int) throws(SagaTemplateError) {
        var trimmed = Substring(raw)
        while trimmed.first == " " { trimmed.removeFirst() }
        while trimmed.last == " " { trimmed.removeLast() }
        text = String(trimmed)
        guard !trimmed.isEmpty else { throw .syntax("empty reference '{{}}'", offset: offset) }
        let segments = trimmed.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for segment in segments {
            guard !segment.isEmpty,
                segment.utf8.allSatisfy({
                    SagaNames.isLetterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                })
            else {
                throw .syntax(
                    "reference '\(text)' has a segment that is empty or not made of letters, digits, '_' and '-'",
                    offset: offset)
            }
        }
        switch segments[0] {
        case "input":
            root = .input
            path = Array(segments.dropFirst())
        case "steps":
            guard segments.count >= 3 else {
                throw .syntax("reference '\(text)' must be steps.<step>.result… or steps.<step>.idempotencyKey", offset: offset)
            }
            let step = StepID(segments[1])
            switch segments[2] {
            case "result":
                root = .stepResult(step)
                path = Array(segments.dropFirst(3))
            case "idempotencyKey" where segments.count == 3:
                root = .stepIdempotencyKey(step)
                path = []
            default:
                throw .syntax("reference '\(text)' must be steps.<step>.result… or steps.<step>.idempotencyKey", offset: offset)
            }
        case "saga":
            path = []
            switch segments.count == 2 ? segments[1] : "" {
            case "id": root = .sagaID
            case "stream": root = .sagaStream
            case "definition": root = .definitionName
            default: throw .syntax("reference '\(text)' must be saga.id, saga.stream or saga.definition", offset: offset)
            }
        default:
            throw .unknownRoot(segments[0])
        }
    }

    /// The step this reference reads from, if any.
    public var step: StepID? {
        switch root {
        case .stepResult(let step), .stepIdempotencyKey(let step): step
        case .input, .sagaID, .sagaStream, .definitionName: nil
        }
    }

    public var description: String { text }
}

/// Why a template cannot be parsed or rendered.
public enum SagaTemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    case syntax(String, offset: Int)
    case unknownRoot(String)
    case tooLong(byteCount: Int, limit: Int)
    /// The reference names a value the context does not have (a missing
    /// member, a step without a result).
    case missingValue(reference: String)
    /// A reference inside text must be a string, number or boolean.
    case cannotInterpolate(reference: String, type: String)
    /// A rendered value is larger than its limit.
    case renderedTooLarge(byteCount: Int, limit: Int)

    public var description: String {
        switch self {
        case .syntax(let message, let offset): "template syntax error at byte \(offset): \(message)"
        case .unknownRoot(let root):
            "unknown reference root '\(root)' (use input, steps.<step>.result, steps.<step>.idempotencyKey or saga.*)"
        case .tooLong(let count, let limit): "template of \(count) bytes exceeds the limit of \(limit)"
        case .missingValue(let reference): "'\(reference)' has no value"
        case .cannotInterpolate(let reference, let type):
            "'\(reference)' is \(type == "array" || type == "object" ? "an" : "a") \(type) and cannot be placed inside text"
        case .renderedTooLarge(let count, let limit): "rendered value of \(count) bytes exceeds the limit of \(limit)"
        }
    }
}
