import ChorusCore

/// A value as it appears in a recorded history: the `:value` of a Jepsen
/// operation, a key, or a field of one of our JSON-lines events.
///
/// The cases are the union of what Jepsen's EDN and JSON can express that a
/// history actually uses. Keywords keep their name without the leading colon,
/// so `:timed-out` is `.keyword("timed-out")`. Models translate these generic
/// values into their own small typed inputs once, before the search starts, so
/// the search never touches a `HistoryValue`.
public enum HistoryValue: Hashable, Sendable {
    case null
    case boolean(Bool)
    case integer(Int64)
    case float(Double)
    case string(String)
    case keyword(String)
    case symbol(String)
    /// An EDN vector or list, or a JSON array.
    case list([HistoryValue])
    /// An EDN set, in the order it was written.
    case set([HistoryValue])
    /// An EDN map or JSON object, in the order it was written.
    case map([MapEntry])

    /// One key/value pair of a `.map`.
    public struct MapEntry: Hashable, Sendable {
        public var key: HistoryValue
        public var value: HistoryValue
        public init(key: HistoryValue, value: HistoryValue) {
            self.key = key
            self.value = value
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The integer, when this is one.
    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The name of a keyword, symbol or string: the three spellings a history
    /// uses for an identifier such as an operation's function.
    public var identifierValue: String? {
        switch self {
        case .keyword(let name), .symbol(let name), .string(let name): return name
        default: return nil
        }
    }

    /// The elements, when this is a list.
    public var listValue: [HistoryValue]? {
        if case .list(let elements) = self { return elements }
        return nil
    }

    /// The value of the first entry whose key is the keyword or string `name`.
    public func field(_ name: String) -> HistoryValue? {
        guard case .map(let entries) = self else { return nil }
        for entry in entries {
            switch entry.key {
            case .keyword(let key) where key == name: return entry.value
            case .string(let key) where key == name: return entry.value
            default: continue
            }
        }
        return nil
    }
}

extension HistoryValue: CustomStringConvertible {
    /// The value written as EDN, which is how Jepsen prints histories and how
    /// reports show values to people: `nil`, `3`, `"x"`, `:ok`, `[1 2]`.
    public var description: String {
        var output = ""
        write(to: &output)
        return output
    }

    private func write(to output: inout String) {
        switch self {
        case .null: output += "nil"
        case .boolean(let value): output += value ? "true" : "false"
        case .integer(let value): output += String(value)
        case .float(let value): output += String(value)
        case .string(let value): JSONString.write(value, to: &output)
        case .keyword(let name): output += ":" + name
        case .symbol(let name): output += name
        case .list(let elements): HistoryValue.writeSequence(elements, open: "[", close: "]", to: &output)
        case .set(let elements): HistoryValue.writeSequence(elements, open: "#{", close: "}", to: &output)
        case .map(let entries):
            output += "{"
            for (index, entry) in entries.enumerated() {
                if index > 0 { output += ", " }
                entry.key.write(to: &output)
                output += " "
                entry.value.write(to: &output)
            }
            output += "}"
        }
    }

    private static func writeSequence(
        _ elements: [HistoryValue], open: String, close: String, to output: inout String
    ) {
        output += open
        for (index, element) in elements.enumerated() {
            if index > 0 { output += " " }
            element.write(to: &output)
        }
        output += close
    }

}

extension HistoryValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    /// `3` in code is `.integer(3)`, which keeps hand-built histories short.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// `"x"` in code is `.string("x")`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `[1, 2]` in code is `.list([1, 2])`.
    public init(arrayLiteral elements: HistoryValue...) { self = .list(elements) }
}
