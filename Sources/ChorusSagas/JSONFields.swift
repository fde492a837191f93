import ChorusCore

/// A field of a JSON document that is missing, unexpected, of the wrong type
/// or out of range, at a dotted location (`steps[1].retry.maximumAttempts`).
struct JSONFieldError: Error, Sendable, Hashable {
    enum Reason: Sendable, Hashable {
        case missing
        case unknown
        case wrongType(expected: String, found: String)
        case invalid(String)
    }

    var location: String
    var reason: Reason
}

/// Reads the members of one JSON object by name, with a type per field, and
/// refuses members nobody read (`finish()`): a misspelt field in a
/// user-written definition is an error, never silently ignored.
struct JSONFields {
    let object: JSONObject
    let location: String
    private var read: Set<String> = []

    init(_ value: JSONValue, at location: String) throws(JSONFieldError) {
        guard case .object(let object) = value else {
            throw JSONFieldError(location: location, reason: .wrongType(expected: "object", found: value.typeName))
        }
        self.object = object
        self.location = location
    }

    func path(_ key: String) -> String { location.isEmpty ? key : "\(location).\(key)" }

    mutating func value(_ key: String) throws(JSONFieldError) -> JSONValue {
        guard let value = optionalValue(key) else { throw JSONFieldError(location: path(key), reason: .missing) }
        return value
    }

    mutating func optionalValue(_ key: String) -> JSONValue? {
        read.insert(key)
        return object[key]
    }

    func wrongType(_ key: String, _ expected: String, _ found: JSONValue) -> JSONFieldError {
        JSONFieldError(location: path(key), reason: .wrongType(expected: expected, found: found.typeName))
    }

    func invalid(_ key: String, _ message: String) -> JSONFieldError {
        JSONFieldError(location: path(key), reason: .invalid(message))
    }

    mutating func string(_ key: String, maximumBytes: Int) throws(JSONFieldError) -> String {
        guard let text = try optionalString(key, maximumBytes: maximumBytes) else {
            throw JSONFieldError(location: path(key), reason: .missing)
        }
        return text
    }

    mutating func optionalString(_ key: String, maximumBytes: Int) throws(JSONFieldError) -> String? {
        guard let value = optionalValue(key) else { return nil }
        guard case .string(let text) = value else { throw wrongType(key, "string", value) }
        guard text.utf8.count <= maximumBytes else { throw invalid(key, "longer than \(maximumBytes) bytes") }
        return text
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(JSONFieldError) -> Int64 {
        guard let number = try optionalInteger(key, in: range) else { throw JSONFieldError(location: path(key), reason: .missing) }
        return number
    }

    mutating func optionalInteger(_ key: String, in range: ClosedRange<Int64>) throws(JSONFieldError) -> Int64? {
        guard let value = optionalValue(key) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "integer", value) }
        guard let integer = number.int64Value, range.contains(integer) else {
            throw invalid(key, "must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return integer
    }

    mutating func unsigned(_ key: String) throws(JSONFieldError) -> UInt64 {
        UInt64(try integer(key, in: 0...Int64.max))
    }

    mutating func optionalUnsigned(_ key: String) throws(JSONFieldError) -> UInt64? {
        try optionalInteger(key, in: 0...Int64.max).map { UInt64($0) }
    }

    mutating func count(_ key: String) throws(JSONFieldError) -> Int {
        Int(try integer(key, in: 0...Int64(Int32.max)))
    }

    mutating func optionalDouble(_ key: String) throws(JSONFieldError) -> Double? {
        guard let value = optionalValue(key) else { return nil }
        guard case .number(let number) = value else { throw wrongType(key, "number", value) }
        let double = number.doubleValue
        guard double.isFinite else { throw invalid(key, "must be a finite number") }
        return double
    }

    mutating func bool(_ key: String) throws(JSONFieldError) -> Bool {
        let value = try value(key)
        guard case .bool(let flag) = value else { throw wrongType(key, "boolean", value) }
        return flag
    }

    mutating func array(_ key: String, maximumCount: Int) throws(JSONFieldError) -> [JSONValue] {
        guard let elements = try optionalArray(key, maximumCount: maximumCount) else {
            throw JSONFieldError(location: path(key), reason: .missing)
        }
        return elements
    }

    mutating func optionalArray(_ key: String, maximumCount: Int) throws(JSONFieldError) -> [JSONValue]? {
        guard let value = optionalValue(key) else { return nil }
        guard case .array(let elements) = value else { throw wrongType(key, "array", value) }
        guard elements.count <= maximumCount else { throw invalid(key, "more than \(maximumCount) elements") }
        return elements
    }

    mutating func enumeration<Value: RawRepresentable & CaseIterable>(_ key: String, _ type: Value.Type)
        throws(JSONFieldError) -> Value where Value.RawValue == String
    {
        guard let value = try optionalEnumeration(key, type) else { throw JSONFieldError(location: path(key), reason: .missing) }
        return value
    }

    mutating func optionalEnumeration<Value: RawRepresentable & CaseIterable>(_ key: String, _ type: Value.Type)
        throws(JSONFieldError) -> Value? where Value.RawValue == String
    {
        guard let text = try optionalString(key, maximumBytes: 64) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw invalid(key, "must be one of \(Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return value
    }

    /// Throws for the first member that no accessor asked for.
    func finish() throws(JSONFieldError) {
        for member in object where !read.contains(member.key) {
            throw JSONFieldError(location: path(member.key), reason: .unknown)
        }
    }
}
