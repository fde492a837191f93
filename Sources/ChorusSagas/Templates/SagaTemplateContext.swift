import ChorusCore

/// What a template can read while a saga runs: its identity, its input and
/// the results of the steps that have succeeded. Rendering is a pure function
/// of this context, so a request rendered twice is the same request.
public struct SagaTemplateContext: Sendable, Hashable {
    public var sagaID: SagaID
    public var stream: String
    public var definitionName: String
    public var input: JSONValue
    /// Results of succeeded steps (or steps an operator resolved), by step.
    public var results: [StepID: JSONValue]

    public init(sagaID: SagaID, stream: String, definitionName: String, input: JSONValue, results: [StepID: JSONValue]) {
        self.sagaID = sagaID
        self.stream = stream
        self.definitionName = definitionName
        self.input = input
        self.results = results
    }

    /// How text is inserted into a template.
    public enum Encoding: Sendable, Hashable {
        /// As is (lock names, strings in a body).
        case plain
        /// Percent-encoded except RFC 3986 unreserved characters, so a value
        /// cannot add path segments or a query to a URL path.
        case pathComponent
    }

    /// The value `reference` names.
    public func value(of reference: SagaReference) throws(SagaTemplateError) -> JSONValue {
        var current: JSONValue
        switch reference.root {
        case .input: current = input
        case .stepResult(let step):
            guard let result = results[step] else { throw .missingValue(reference: reference.text) }
            current = result
        case .stepIdempotencyKey(let step):
            current = .string(SagaNames.idempotencyKey(stream: stream, step: step, phase: .action))
        case .sagaID: current = .string(sagaID.rawValue)
        case .sagaStream: current = .string(stream)
        case .definitionName: current = .string(definitionName)
        }
        for segment in reference.path {
            switch current {
            case .object(let object):
                guard let member = object[segment] else { throw .missingValue(reference: reference.text) }
                current = member
            case .array(let elements):
                guard let index = Int(segment), elements.indices.contains(index) else {
                    throw .missingValue(reference: reference.text)
                }
                current = elements[index]
            default:
                throw .missingValue(reference: reference.text)
            }
        }
        return current
    }

    /// The template as text, each reference replaced by its value's text.
    public func renderText(_ template: SagaTemplate, encoding: Encoding = .plain) throws(SagaTemplateError) -> String {
        var output = ""
        for part in template.parts {
            switch part {
            case .literal(let text): output += text
            case .reference(let reference):
                let text: String
                switch try value(of: reference) {
                case .string(let string): text = string
                case .number(let number): text = number.literal
                case .bool(let flag): text = flag ? "true" : "false"
                case let other: throw .cannotInterpolate(reference: reference.text, type: other.typeName)
                }
                output += encoding == .pathComponent ? Self.percentEncoded(text) : text
            }
            guard output.utf8.count <= SagaLimits.maximumRequestBodyBytes else {
                throw .renderedTooLarge(byteCount: output.utf8.count, limit: SagaLimits.maximumRequestBodyBytes)
            }
        }
        return output
    }

    /// A body template rendered: every string is a template; a string that is
    /// exactly one reference becomes the referenced value (any JSON type),
    /// other strings become text. Object keys are literal.
    public func renderBody(_ body: JSONValue) throws(SagaTemplateError) -> JSONValue {
        let rendered = try renderValue(body)
        let size = rendered.text.utf8.count
        guard size <= SagaLimits.maximumRequestBodyBytes else {
            throw .renderedTooLarge(byteCount: size, limit: SagaLimits.maximumRequestBodyBytes)
        }
        return rendered
    }

    private func renderValue(_ value: JSONValue) throws(SagaTemplateError) -> JSONValue {
        switch value {
        case .string(let text):
            let template = try SagaTemplate(parsing: text)
            if let reference = template.soleReference { return try self.value(of: reference) }
            return .string(try renderText(template))
        case .array(let elements):
            var rendered: [JSONValue] = []
            rendered.reserveCapacity(elements.count)
            for element in elements { rendered.append(try renderValue(element)) }
            return .array(rendered)
        case .object(let object):
            var rendered = JSONObject()
            for member in object { rendered[member.key] = try renderValue(member.value) }
            return .object(rendered)
        case .null, .bool, .number:
            return value
        }
    }

    static func percentEncoded(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            if SagaNames.isLetterOrDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Every template inside a body: one per string, in document order.
extension JSONValue {
    func templateStrings() -> [String] {
        switch self {
        case .string(let text): [text]
        case .array(let elements): elements.flatMap { $0.templateStrings() }
        case .object(let object): object.members.flatMap { $0.value.templateStrings() }
        case .null, .bool, .number: []
        }
    }
}
