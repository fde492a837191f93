/// One SQL statement whose named parameters (`:name`, `:data.order.id`) are
/// rewritten to numbered ones (`?1`, `?2`, …), with the names in number order.
///
/// Why rewrite: SQLite's own `:name` parameters stop at the first character
/// that is not part of an identifier, so `:data.orderId` would not parse; and
/// binding by number lets the core decide every value while the edge only
/// passes an array. The scan follows SQLite's tokenizer
/// (https://sqlite.org/lang_expr.html#varparam, tokenize.c): it skips string
/// literals (`'…'` with `''`), quoted identifiers (`"…"`, `` `…` ``, `[…]`),
/// and comments (`-- …` to the end of the line, `/* … */`), so a colon inside
/// them is text, not a parameter. Positional (`?`), `@name` and `$name`
/// parameters are refused, so every parameter is one the definition names.
/// A statement is exactly one statement: a `;` may only end it.
public struct ParameterizedSQL: Sendable, Hashable {
    /// The text as SQLite receives it (`?N` in place of each `:name`).
    public let text: String
    /// The distinct parameter names, in the order of their numbers (`?1` first).
    public let parameterNames: [String]

    public init(_ source: String, limits: ProjectionLimits = .default) throws(ProjectionDefinitionError) {
        let bytes = Array(source.utf8)
        guard !bytes.isEmpty, bytes.contains(where: { !Self.isSpace($0) }) else {
            throw ProjectionDefinitionError("the statement is empty")
        }
        guard bytes.count <= limits.maximumStatementBytes else {
            throw ProjectionDefinitionError("the statement is \(bytes.count) bytes; at most \(limits.maximumStatementBytes) are allowed")
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var names: [String] = []
        var index = 0
        func copyQuoted(closing: UInt8, doubled: Bool) throws(ProjectionDefinitionError) {
            output.append(bytes[index])
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                output.append(byte)
                index += 1
                if byte == closing {
                    if doubled, index < bytes.count, bytes[index] == closing {
                        output.append(closing)
                        index += 1
                        continue
                    }
                    return
                }
            }
            throw ProjectionDefinitionError("an unterminated quote (\(String(decoding: [closing], as: UTF8.self))) in the statement")
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"): try copyQuoted(closing: byte, doubled: true)
            case UInt8(ascii: "\""), UInt8(ascii: "`"): try copyQuoted(closing: byte, doubled: true)
            case UInt8(ascii: "["): try copyQuoted(closing: UInt8(ascii: "]"), doubled: false)
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
                    output.append(bytes[index])
                    index += 1
                }
            case UInt8(ascii: "/") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                var closed = false
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "*"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                        output.append(contentsOf: [UInt8(ascii: "*"), UInt8(ascii: "/")])
                        index += 2
                        closed = true
                        break
                    }
                    output.append(bytes[index])
                    index += 1
                }
                if !closed { throw ProjectionDefinitionError("an unterminated /* comment in the statement") }
            case UInt8(ascii: ":") where index + 1 < bytes.count && Self.isIdentifierStart(bytes[index + 1]):
                index += 1
                var name: [UInt8] = []
                var segments = 1
                while index < bytes.count {
                    let next = bytes[index]
                    if Self.isIdentifierContinue(next) {
                        name.append(next)
                        index += 1
                    } else if next == UInt8(ascii: "."), index + 1 < bytes.count, Self.isIdentifierContinue(bytes[index + 1]) {
                        segments += 1
                        name.append(next)
                        index += 1
                    } else {
                        break
                    }
                }
                let text = String(decoding: name, as: UTF8.self)
                guard segments <= limits.maximumPathSegments + 1 else {
                    throw ProjectionDefinitionError("the parameter ':\(text)' has more than \(limits.maximumPathSegments) path segments")
                }
                let number: Int
                if let existing = names.firstIndex(of: text) {
                    number = existing + 1
                } else {
                    names.append(text)
                    guard names.count <= limits.maximumParametersPerStatement else {
                        throw ProjectionDefinitionError("the statement names more than \(limits.maximumParametersPerStatement) distinct parameters")
                    }
                    number = names.count
                }
                output.append(UInt8(ascii: "?"))
                output.append(contentsOf: String(number).utf8)
            case UInt8(ascii: "?"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                throw ProjectionDefinitionError(
                    "'\(String(decoding: [byte], as: UTF8.self))' parameters are not supported; name every parameter as :name")
            case UInt8(ascii: ":"):
                throw ProjectionDefinitionError("a ':' that does not start a parameter name (write :name)")
            case UInt8(ascii: ";"):
                index += 1
                guard bytes[index...].allSatisfy(Self.isSpace) else {
                    throw ProjectionDefinitionError("one statement per entry: text follows the ';' (list the statements separately)")
                }
                index = bytes.count
            default:
                output.append(byte)
                index += 1
            }
        }
        self.text = String(decoding: output, as: UTF8.self)
        self.parameterNames = names
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") || byte == UInt8(ascii: "_")
    }

    static func isIdentifierContinue(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
