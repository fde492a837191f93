/// A syntax error inside one line, with the 1-based column where it was found.
struct ValueSyntaxError: Error {
    var message: String
    var column: Int
}

/// Parses EDN and JSON values from the bytes of one line.
///
/// Written against the bytes rather than `String` so that reading a history
/// costs one pass and no Foundation. Recursion depth is bounded by
/// `CheckLimits.valueNestingDepthMaximum`, so hostile input cannot overflow
/// the stack; every other failure is a `ValueSyntaxError`, never a trap.
struct ValueParser {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    private var depth = 0

    init(bytes: [UInt8], start: Int, end: Int) {
        precondition(start >= 0 && start <= end && end <= bytes.count, "line bounds outside the buffer")
        self.bytes = bytes
        self.position = start
        self.end = end
        self.lineStart = start
    }

    private let lineStart: Int

    var isAtEnd: Bool { position >= end }

    func error(_ message: String) -> ValueSyntaxError {
        ValueSyntaxError(message: message, column: position - lineStart + 1)
    }

    // MARK: - Shared helpers

    private var current: UInt8? { position < end ? bytes[position] : nil }

    /// Skips JSON whitespace, or EDN whitespace (which includes commas) and comments.
    mutating func skipWhitespace(edn: Bool) {
        while position < end {
            let byte = bytes[position]
            if byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A || (edn && byte == 0x2C) {
                position += 1
            } else if edn && byte == 0x3B {  // ';' comment to end of line
                position = end
            } else {
                return
            }
        }
    }

    private mutating func enterNesting() throws(ValueSyntaxError) {
        depth += 1
        if depth > CheckLimits.valueNestingDepthMaximum {
            throw error("values nest deeper than \(CheckLimits.valueNestingDepthMaximum)")
        }
    }

    private mutating func leaveNesting() { depth -= 1 }

    private static func isEDNDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0D, 0x0A, 0x2C, 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D, 0x22, 0x3B: return true
        default: return false
        }
    }

    /// Decodes bytes as UTF-8, rejecting invalid sequences.
    private func text(_ start: Int, _ stop: Int) throws(ValueSyntaxError) -> String {
        let slice = bytes[start..<stop]
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw ValueSyntaxError(message: "invalid UTF-8", column: start - lineStart + 1)
        }
        return string
    }

    // MARK: - EDN

    /// Parses one EDN value (https://github.com/edn-format/edn): nil, booleans,
    /// integers, floats, strings, characters, keywords, symbols, vectors,
    /// lists, maps, sets, `#_` discards and tagged literals (kept as a two-element
    /// list of the tag symbol and the value).
    mutating func parseEDN() throws(ValueSyntaxError) -> HistoryValue {
        skipWhitespace(edn: true)
        guard let byte = current else { throw error("expected a value, found the end of the line") }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(try parseQuotedString(json: false))
        case UInt8(ascii: ":"):
            position += 1
            let name = try ednToken()
            guard !name.isEmpty else { throw error("empty keyword") }
            return .keyword(name)
        case UInt8(ascii: "["):
            position += 1
            return .list(try parseEDNSequence(closing: UInt8(ascii: "]")))
        case UInt8(ascii: "("):
            position += 1
            return .list(try parseEDNSequence(closing: UInt8(ascii: ")")))
        case UInt8(ascii: "{"):
            position += 1
            let elements = try parseEDNSequence(closing: UInt8(ascii: "}"))
            guard elements.count % 2 == 0 else { throw error("a map needs an even number of forms") }
            var entries: [HistoryValue.MapEntry] = []
            entries.reserveCapacity(elements.count / 2)
            var index = 0
            while index < elements.count {
                entries.append(HistoryValue.MapEntry(key: elements[index], value: elements[index + 1]))
                index += 2
            }
            return .map(entries)
        case UInt8(ascii: "#"):
            position += 1
            guard let next = current else { throw error("'#' at the end of the line") }
            if next == UInt8(ascii: "{") {
                position += 1
                return .set(try parseEDNSequence(closing: UInt8(ascii: "}")))
            }
            if next == UInt8(ascii: "_") {
                position += 1
                try enterNesting()
                _ = try parseEDN()
                let value = try parseEDN()
                leaveNesting()
                return value
            }
            let tag = try ednToken()
            guard !tag.isEmpty else { throw error("'#' must start a set, a discard or a tag") }
            try enterNesting()
            let value = try parseEDN()
            leaveNesting()
            return .list([.symbol("#" + tag), value])
        case UInt8(ascii: "\\"):
            position += 1
            let name = try ednToken()
            switch name {
            case "newline": return .string("\n")
            case "space": return .string(" ")
            case "tab": return .string("\t")
            case "return": return .string("\r")
            default:
                guard name.unicodeScalars.count == 1 else { throw error("unknown character literal \\\(name)") }
                return .string(name)
            }
        case UInt8(ascii: "]"), UInt8(ascii: ")"), UInt8(ascii: "}"):
            throw error("unexpected '\(Character(Unicode.Scalar(byte)))'")
        default:
            let token = try ednToken()
            return try ednAtom(token)
        }
    }

    private mutating func parseEDNSequence(closing: UInt8) throws(ValueSyntaxError) -> [HistoryValue] {
        try enterNesting()
        var elements: [HistoryValue] = []
        while true {
            skipWhitespace(edn: true)
            guard let byte = current else {
                throw error("missing '\(Character(Unicode.Scalar(closing)))' before the end of the line")
            }
            if byte == closing {
                position += 1
                leaveNesting()
                return elements
            }
            elements.append(try parseEDN())
        }
    }

    private mutating func ednToken() throws(ValueSyntaxError) -> String {
        let start = position
        while position < end && !ValueParser.isEDNDelimiter(bytes[position]) { position += 1 }
        return try text(start, position)
    }

    private func ednAtom(_ token: String) throws(ValueSyntaxError) -> HistoryValue {
        switch token {
        case "": throw error("expected a value")
        case "nil": return .null
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        default: break
        }
        let scalars = Array(token.utf8)
        let first = scalars[0]
        let startsNumber = (first >= 0x30 && first <= 0x39)
            || ((first == UInt8(ascii: "-") || first == UInt8(ascii: "+")) && scalars.count > 1
                && scalars[1] >= 0x30 && scalars[1] <= 0x39)
        guard startsNumber else { return .symbol(token) }
        var digits = Substring(token)
        if digits.hasSuffix("N") || digits.hasSuffix("M") { digits = digits.dropLast() }
        if let integer = Int64(digits) { return .integer(integer) }
        if digits.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }) {
            throw error("integer \(token) out of range")
        }
        if let float = Double(digits) { return .float(float) }
        throw error("malformed number \(token)")
    }

    // MARK: - JSON

    /// Parses one JSON value (RFC 8259). Integers without a fraction or
    /// exponent become `.integer`; other numbers `.float`.
    mutating func parseJSON() throws(ValueSyntaxError) -> HistoryValue {
        skipWhitespace(edn: false)
        guard let byte = current else { throw error("expected a value, found the end of the line") }
        switch byte {
        case UInt8(ascii: "\""):
            return .string(try parseQuotedString(json: true))
        case UInt8(ascii: "{"):
            position += 1
            try enterNesting()
            var entries: [HistoryValue.MapEntry] = []
            skipWhitespace(edn: false)
            if current == UInt8(ascii: "}") {
                position += 1
                leaveNesting()
                return .map(entries)
            }
            while true {
                skipWhitespace(edn: false)
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseQuotedString(json: true)
                skipWhitespace(edn: false)
                guard current == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
                position += 1
                let value = try parseJSON()
                entries.append(HistoryValue.MapEntry(key: .string(key), value: value))
                skipWhitespace(edn: false)
                if current == UInt8(ascii: ",") {
                    position += 1
                } else if current == UInt8(ascii: "}") {
                    position += 1
                    leaveNesting()
                    return .map(entries)
                } else {
                    throw error("expected ',' or '}' in an object")
                }
            }
        case UInt8(ascii: "["):
            position += 1
            try enterNesting()
            var elements: [HistoryValue] = []
            skipWhitespace(edn: false)
            if current == UInt8(ascii: "]") {
                position += 1
                leaveNesting()
                return .list(elements)
            }
            while true {
                elements.append(try parseJSON())
                skipWhitespace(edn: false)
                if current == UInt8(ascii: ",") {
                    position += 1
                } else if current == UInt8(ascii: "]") {
                    position += 1
                    leaveNesting()
                    return .list(elements)
                } else {
                    throw error("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "t"): try expectLiteral("true"); return .boolean(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .boolean(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        default:
            return try parseJSONNumber()
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(ValueSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard end - position >= count else { throw error("unexpected end of the line") }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw error("unexpected token") }
        position += count
    }

    private mutating func parseJSONNumber() throws(ValueSyntaxError) -> HistoryValue {
        let start = position
        var isInteger = true
        if current == UInt8(ascii: "-") { position += 1 }
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        guard isDigit(current) else { throw error("unexpected character") }
        while isDigit(current) { position += 1 }
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard isDigit(current) else { throw error("a fraction needs digits") }
            while isDigit(current) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard isDigit(current) else { throw error("an exponent needs digits") }
            while isDigit(current) { position += 1 }
        }
        let token = try text(start, position)
        if isInteger {
            guard let integer = Int64(token) else {
                throw ValueSyntaxError(message: "integer \(token) out of range", column: start - lineStart + 1)
            }
            return .integer(integer)
        }
        guard let float = Double(token) else {
            throw ValueSyntaxError(message: "malformed number \(token)", column: start - lineStart + 1)
        }
        return .float(float)
    }

    // MARK: - Strings

    /// A double-quoted string; JSON and EDN share the escapes that matter.
    private mutating func parseQuotedString(json: Bool) throws(ValueSyntaxError) -> String {
        precondition(current == UInt8(ascii: "\""), "caller checked the opening quote")
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        while true {
            guard let byte = current else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") {
                scalars.append(contentsOf: try text(runStart, position).unicodeScalars)
                position += 1
                return String(scalars)
            }
            if json && byte < 0x20 { throw error("control character in a string") }
            if byte != UInt8(ascii: "\\") {
                position += 1
                continue
            }
            scalars.append(contentsOf: try text(runStart, position).unicodeScalars)
            position += 1
            guard let escape = current else { throw error("unterminated escape") }
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "u"):
                var code = try parseHexQuad()
                if code >= 0xD800 && code < 0xDC00 {
                    // A UTF-16 surrogate pair, as JSON writes characters beyond the BMP.
                    guard end - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw error("unpaired surrogate") }
                    position += 2
                    let low = try parseHexQuad()
                    guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("invalid code point") }
                scalars.append(scalar)
            default:
                throw error("unknown escape \\\(Character(Unicode.Scalar(escape)))")
            }
            runStart = position
        }
    }

    private mutating func parseHexQuad() throws(ValueSyntaxError) -> UInt32 {
        guard end - position >= 4 else { throw error("\\u needs four hex digits") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("\\u needs four hex digits")
            }
            code = code << 4 | digit
            position += 1
        }
        return code
    }
}
