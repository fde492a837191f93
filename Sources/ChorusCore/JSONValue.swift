/// A JSON value (RFC 8259), with a strict bounded parser and a deterministic
/// serializer.
///
/// Chorus reads JSON that users write (saga definitions, projection
/// definitions) and JSON that arrives over the network (participant replies,
/// API bodies), and writes JSON that is replayed and compared (saga events,
/// reports). Three properties follow from that:
///
/// - **Strict and bounded parsing.** Only RFC 8259 JSON is accepted: no
///   comments, no trailing commas, no leading zeros, no lone surrogates, no
///   raw control characters in strings, no duplicate object keys (§4 leaves
///   them undefined; Chorus refuses them so that two readers can never see
///   two different values), and nothing after the value but whitespace. The
///   input size, nesting depth and number length are bounded by `JSONLimits`
///   before anything is allocated for them, and every error names the byte
///   offset where it was found.
/// - **Numbers keep their text.** A number is stored as its validated literal
///   (`JSONNumber`), so a 64-bit identifier or a decimal amount survives a
///   round trip exactly; `int64Value` and `doubleValue` convert on demand.
/// - **Deterministic output.** Objects keep their members in insertion order
///   (as parsed, or as built), so serializing a parsed document reproduces
///   its member order; `canonicalText` sorts keys by their UTF-8 bytes at
///   every level, for hashing and order-independent comparison. Equality
///   (`==`) is structural and order-sensitive, like the text.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

// MARK: - Numbers

/// A JSON number, held as its RFC 8259 §6 literal text
/// (`-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`).
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal, exactly as parsed or built; always valid JSON number text.
    public let literal: String

    /// A number from its literal text, or nil if the text is not an RFC 8259 number.
    public init?(literal: String) {
        guard JSONNumber.isValidLiteral(Array(literal.utf8)) else { return nil }
        self.literal = literal
    }

    public init(_ value: Int64) { literal = String(value) }
    public init(_ value: Int) { literal = String(value) }
    public init(_ value: UInt64) { literal = String(value) }

    /// The shortest literal that reads back as `value`; nil for infinities and
    /// NaN, which JSON cannot represent.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        if value == value.rounded(.towardZero), abs(value) < 1e15 {
            literal = String(Int64(value))
        } else {
            // Swift's description is the shortest round-tripping form, and it
            // is valid JSON for finite values ("1e-05", "0.1", "1.5e+20").
            literal = value.description
        }
    }

    /// Trusted construction from text the parser has already validated.
    fileprivate init(validatedLiteral: String) { literal = validatedLiteral }

    /// True if the literal has no fraction and no exponent.
    public var isIntegerLiteral: Bool { !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") } }

    /// The value as an `Int64`, if the literal is an integer literal in range.
    public var int64Value: Int64? { isIntegerLiteral ? Int64(literal) : nil }

    /// The value as an `Int`, if the literal is an integer literal in range.
    public var intValue: Int? { isIntegerLiteral ? Int(literal) : nil }

    /// The nearest `Double` (infinite if the literal's magnitude is beyond `Double`).
    public var doubleValue: Double { Double(literal) ?? .nan }

    public var description: String { literal }

    fileprivate static func isValidLiteral(_ bytes: [UInt8]) -> Bool {
        var index = 0
        return scanLiteral(bytes, &index) && index == bytes.count
    }

    /// Advances `index` over one number literal; false if the bytes there are not one.
    fileprivate static func scanLiteral(_ bytes: [UInt8], _ index: inout Int) -> Bool {
        func digit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= 0x30 && bytes[at] <= 0x39 }
        if index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digit(index) else { return false }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while digit(index) { index += 1 }
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digit(index) else { return false }
            while digit(index) { index += 1 }
        }
        if index < bytes.count && (bytes[index] | 0x20) == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard digit(index) else { return false }
            while digit(index) { index += 1 }
        }
        return true
    }
}

// MARK: - Objects

/// The members of a JSON object, in insertion order, with unique keys.
///
/// Lookups are linear scans: objects in Chorus are small (definitions,
/// bodies, results), and keeping one array is what keeps the order.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var members: [Member]

    public init() { members = [] }

    /// An object from key/value pairs in order. Traps on a repeated key: the
    /// caller built it, so a duplicate is a bug, not bad input.
    public init(_ pairs: [(String, JSONValue)]) {
        members = []
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            precondition(index(of: key) == nil, "JSONObject built with the key \"\(key)\" twice")
            members.append(Member(key: key, value: value))
        }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// Members already known to have unique keys (the parser checked).
    fileprivate init(uniqueMembers: [Member]) { members = uniqueMembers }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    private func index(of key: String) -> Int? { members.firstIndex { $0.key == key } }

    /// The value for `key`. Setting a new key appends it; setting an existing
    /// key replaces its value in place; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { members[$0].value } }
        set {
            if let position = index(of: key) {
                if let newValue { members[position].value = newValue } else { members.remove(at: position) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }

    /// The same members ordered by the UTF-8 bytes of their keys (this level only).
    public func sortedByKey() -> JSONObject {
        JSONObject(uniqueMembers: members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
    }
}

// MARK: - Literals and accessors

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) {
        guard let number = JSONNumber(value) else { preconditionFailure("JSON has no literal for \(value)") }
        self = .number(number)
    }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}

extension JSONValue {
    public static func integer(_ value: Int64) -> JSONValue { .number(JSONNumber(value)) }

    public var isNull: Bool { self == .null }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var numberValue: JSONNumber? { if case .number(let value) = self { value } else { nil } }
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    public var objectValue: JSONObject? { if case .object(let value) = self { value } else { nil } }
    public var int64Value: Int64? { numberValue?.int64Value }

    /// The member `key` of an object; nil for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// The element at `index` of an array; nil out of range or for a non-array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

// MARK: - Serializing

extension JSONValue: CustomStringConvertible {
    /// How `serialized` lays out a value.
    public struct Formatting: Sendable, Hashable {
        /// Sort object keys by their UTF-8 bytes at every level.
        public var sortsKeys: Bool
        /// Spaces per nesting level, with one member or element per line; nil
        /// for the compact form (no whitespace at all).
        public var indentation: Int?

        public init(sortsKeys: Bool = false, indentation: Int? = nil) {
            precondition(indentation.map { $0 >= 0 && $0 <= 16 } ?? true, "indentation must be 0...16 spaces")
            self.sortsKeys = sortsKeys
            self.indentation = indentation
        }

        public static let compact = Formatting()
        public static let canonical = Formatting(sortsKeys: true)
        public static let pretty = Formatting(indentation: 2)
    }

    /// The compact text, members in insertion order: `{"a":1,"b":[true,null]}`.
    public var text: String { serialized(.compact) }

    /// The canonical text: compact, keys sorted by UTF-8 bytes at every level,
    /// numbers as their literals. Two values that differ only in member order
    /// have the same canonical text.
    public var canonicalText: String { serialized(.canonical) }

    /// The compact text as UTF-8 bytes.
    public var utf8Bytes: [UInt8] { Array(text.utf8) }

    public var description: String { text }

    public func serialized(_ formatting: Formatting) -> String {
        var output = ""
        write(to: &output, formatting: formatting, level: 0)
        return output
    }

    private func write(to output: inout String, formatting: Formatting, level: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .number(let number): output += number.literal
        case .string(let string): JSONString.write(string, to: &output)
        case .array(let elements):
            guard !elements.isEmpty else {
                output += "[]"
                return
            }
            output += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { output += "," }
                Self.newline(&output, formatting, level + 1)
                element.write(to: &output, formatting: formatting, level: level + 1)
            }
            Self.newline(&output, formatting, level)
            output += "]"
        case .object(let object):
            guard !object.isEmpty else {
                output += "{}"
                return
            }
            let ordered = formatting.sortsKeys ? object.sortedByKey() : object
            output += "{"
            for (position, member) in ordered.members.enumerated() {
                if position > 0 { output += "," }
                Self.newline(&output, formatting, level + 1)
                JSONString.write(member.key, to: &output)
                output += formatting.indentation == nil ? ":" : ": "
                member.value.write(to: &output, formatting: formatting, level: level + 1)
            }
            Self.newline(&output, formatting, level)
            output += "}"
        }
    }

    private static func newline(_ output: inout String, _ formatting: Formatting, _ level: Int) {
        guard let indentation = formatting.indentation else { return }
        output += "\n"
        output += String(repeating: " ", count: indentation * level)
    }
}

// MARK: - Parsing

/// The bounds a parse enforces before it allocates.
public struct JSONLimits: Sendable, Hashable {
    /// The largest input accepted, in bytes.
    public var maximumByteCount: Int
    /// The deepest nesting of arrays and objects; a scalar at top level is depth 0.
    public var maximumDepth: Int
    /// The longest number literal, in bytes.
    public var maximumNumberLiteralBytes: Int

    public init(maximumByteCount: Int, maximumDepth: Int, maximumNumberLiteralBytes: Int) {
        precondition(maximumByteCount >= 0 && maximumDepth >= 0 && maximumNumberLiteralBytes >= 1, "JSON limits")
        self.maximumByteCount = maximumByteCount
        self.maximumDepth = maximumDepth
        self.maximumNumberLiteralBytes = maximumNumberLiteralBytes
    }

    /// 4 MiB, 64 levels, 128-byte numbers: well above any definition, body or
    /// result Chorus handles, and well below what would exhaust memory or stack.
    public static let `default` = JSONLimits(
        maximumByteCount: 4 << 20, maximumDepth: 64, maximumNumberLiteralBytes: 128)
}

/// Why a text is not acceptable JSON, and the byte offset where that was found.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// The input ended where `expected` was needed.
        case unexpectedEnd(expected: String)
        /// A byte that cannot start or continue what was expected there.
        case unexpectedByte(UInt8, expected: String)
        /// A malformed number (the text so far).
        case invalidNumber
        /// A number literal longer than the limit.
        case numberTooLong(limit: Int)
        /// A backslash followed by a byte that starts no escape.
        case invalidEscape(UInt8)
        /// `\u` not followed by four hexadecimal digits.
        case invalidUnicodeEscape
        /// A UTF-16 surrogate escape without its other half (§8.2).
        case unpairedSurrogate(UInt16)
        /// A raw control character (below U+0020) inside a string (§7).
        case controlCharacterInString(UInt8)
        /// Bytes that are not well-formed UTF-8 (§8.1).
        case invalidUTF8
        /// An object with the same key twice.
        case duplicateKey(String)
        /// Arrays and objects nested deeper than the limit.
        case nestingTooDeep(limit: Int)
        /// The input is larger than the limit.
        case inputTooLarge(byteCount: Int, limit: Int)
        /// Something other than whitespace after the value.
        case trailingData
        /// A UTF-8 byte order mark, which RFC 8259 §8.1 forbids senders to add.
        case byteOrderMark
    }

    public var reason: Reason
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd(let expected): what = "input ended, expected \(expected)"
        case .unexpectedByte(let byte, let expected): what = "unexpected \(Self.show(byte)), expected \(expected)"
        case .invalidNumber: what = "malformed number"
        case .numberTooLong(let limit): what = "number literal longer than \(limit) bytes"
        case .invalidEscape(let byte): what = "invalid escape \\\(Self.show(byte))"
        case .invalidUnicodeEscape: what = "\\u must be followed by four hexadecimal digits"
        case .unpairedSurrogate(let unit):
            what = "unpaired UTF-16 surrogate \\u\(String(unit, radix: 16, uppercase: true))"
        case .controlCharacterInString(let byte): what = "raw control character \(Self.show(byte)) in a string"
        case .invalidUTF8: what = "invalid UTF-8"
        case .duplicateKey(let key): what = "duplicate object key \(JSONString.quoted(key))"
        case .nestingTooDeep(let limit): what = "arrays and objects nested deeper than \(limit)"
        case .inputTooLarge(let count, let limit): what = "input of \(count) bytes exceeds the limit of \(limit)"
        case .trailingData: what = "unexpected data after the JSON value"
        case .byteOrderMark: what = "byte order mark before the JSON value"
        }
        return "invalid JSON at byte \(offset): \(what)"
    }

    private static func show(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count == 1 ? "0" : "") + hex
    }
}

extension JSONValue {
    /// Parses exactly one JSON value from `bytes` (whitespace around it allowed).
    public init(parsing bytes: [UInt8], limits: JSONLimits = .default) throws(JSONParseError) {
        guard bytes.count <= limits.maximumByteCount else {
            throw JSONParseError(.inputTooLarge(byteCount: bytes.count, limit: limits.maximumByteCount), at: 0)
        }
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            throw JSONParseError(.byteOrderMark, at: 0)
        }
        var parser = JSONParser(bytes: bytes, limits: limits)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.isAtEnd else { throw JSONParseError(.trailingData, at: parser.offset) }
        self = value
    }

    /// Parses exactly one JSON value from `text`.
    public init(parsing text: String, limits: JSONLimits = .default) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), limits: limits)
    }
}

/// A recursive-descent parser over bytes; recursion depth is bounded by
/// `JSONLimits.maximumDepth`, so hostile nesting cannot overflow the stack.
private struct JSONParser {
    let bytes: [UInt8]
    let limits: JSONLimits
    var offset = 0

    init(bytes: [UInt8], limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    func fail(_ reason: JSONParseError.Reason, at position: Int? = nil) -> JSONParseError {
        JSONParseError(reason, at: position ?? offset)
    }

    func unexpected(_ expected: String) -> JSONParseError {
        isAtEnd ? fail(.unexpectedEnd(expected: expected)) : fail(.unexpectedByte(bytes[offset], expected: expected))
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard !isAtEnd else { throw fail(.unexpectedEnd(expected: "a value")) }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw unexpected("a value")
        }
    }

    mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let start = offset
        for expected in UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount) {
            guard offset < bytes.count, bytes[offset] == expected else {
                throw unexpected("the literal \(word) (started at byte \(start))")
            }
            offset += 1
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = offset
        var end = offset
        guard JSONNumber.scanLiteral(bytes, &end) else {
            offset = end
            throw unexpected("a digit")
        }
        guard end - start <= limits.maximumNumberLiteralBytes else {
            throw fail(.numberTooLong(limit: limits.maximumNumberLiteralBytes), at: start)
        }
        offset = end
        return JSONNumber(validatedLiteral: String(decoding: bytes[start..<end], as: UTF8.self))
    }

    mutating func enter(_ depth: Int) throws(JSONParseError) {
        guard depth <= limits.maximumDepth else { throw fail(.nestingTooDeep(limit: limits.maximumDepth)) }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> [JSONValue] {
        try enter(depth)
        offset += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard offset < bytes.count else { throw fail(.unexpectedEnd(expected: "',' or ']'")) }
            switch bytes[offset] {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return elements
            default: throw unexpected("',' or ']'")
            }
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONObject {
        try enter(depth)
        offset += 1  // {
        var members: [JSONObject.Member] = []
        var seen = Set<String>()
        skipWhitespace()
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return JSONObject(uniqueMembers: members)
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                throw unexpected("a string key")
            }
            let keyOffset = offset
            let key = try parseString()
            guard seen.insert(key).inserted else { throw fail(.duplicateKey(key), at: keyOffset) }
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw unexpected("':'") }
            offset += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard offset < bytes.count else { throw fail(.unexpectedEnd(expected: "',' or '}'")) }
            switch bytes[offset] {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return JSONObject(uniqueMembers: members)
            default: throw unexpected("',' or '}'")
            }
        }
    }

    /// A string literal (§7), validating UTF-8 as it goes so an error can
    /// name the offending byte.
    mutating func parseString() throws(JSONParseError) -> String {
        offset += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard offset < bytes.count else { throw fail(.unexpectedEnd(expected: "'\"' closing the string")) }
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw fail(.controlCharacterInString(byte))
            case 0x20..<0x80:
                utf8.append(byte)
                offset += 1
            default:
                let length = try validateUTF8Sequence()
                utf8.append(contentsOf: bytes[offset..<(offset + length)])
                offset += length
            }
        }
    }

    /// The length of the well-formed UTF-8 sequence at `offset` (Unicode
    /// Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
    func validateUTF8Sequence() throws(JSONParseError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw fail(.invalidUTF8)
        }
        guard offset + length <= bytes.count else { throw fail(.invalidUTF8) }
        guard secondRange.contains(bytes[offset + 1]) else { throw fail(.invalidUTF8, at: offset + 1) }
        for position in (offset + 2)..<(offset + length) where !(0x80...0xBF).contains(bytes[position]) {
            throw fail(.invalidUTF8, at: position)
        }
        return length
    }

    mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONParseError) {
        let start = offset
        offset += 1  // backslash
        guard offset < bytes.count else { throw fail(.unexpectedEnd(expected: "an escape")) }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try parseHexQuad()
            let scalarValue: UInt32
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed by `\u` and a low one (§7).
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                else { throw fail(.unpairedSurrogate(unit), at: start) }
                offset += 2
                let low = try parseHexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail(.unpairedSurrogate(unit), at: start) }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            case 0xDC00...0xDFFF:
                throw fail(.unpairedSurrogate(unit), at: start)
            default:
                scalarValue = UInt32(unit)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw fail(.invalidUnicodeEscape, at: start) }
            utf8.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw fail(.invalidEscape(byte), at: start)
        }
    }

    mutating func parseHexQuad() throws(JSONParseError) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw fail(.invalidUnicodeEscape) }
        var value: UInt16 = 0
        for position in offset..<(offset + 4) {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail(.invalidUnicodeEscape, at: position)
            }
            value = value << 4 | UInt16(digit)
        }
        offset += 4
        return value
    }
}
