import ChorusAPI
import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication

/// CRDT-typed leaderless values and operations as JSON (`/v1/crdt/…`).
///
/// Values, by type:
///
///     counter   5
///     set       ["apple","pear"]                (sorted)
///     register  "blue"                          (last writer wins by hybrid timestamp; null when cleared)
///     flag      true
///     map       {"visits":{"counter":3},"owner":{"register":"ann"},"tags":{"set":["a"]},
///                "address":{"map":{…}},"vip":{"flag":false}}
///
/// A map holds fields by name and type (as in Riak, `visits` the counter and
/// `visits` the set are two fields), so each name maps to an object keyed by
/// type. Bytes that are not UTF-8 (a set element written over the Redis
/// protocol) read as `{"base64url":"…"}`.
///
/// Operations, one per request body:
///
///     counter   {"increment":N}  {"reset":true}
///     set       {"add":["x",…]}  {"remove":["x",…]}  {"clear":true}
///     register  {"assign":"x"}   {"clear":true}
///     flag      {"enable":true}  {"disable":true}
///     map       {"update":{"visits":{"counter":{"increment":1}},"owner":{"register":{"assign":"ann"}},
///                          "tags":{"set":{"add":["a"]}},"vip":{"flag":{"enable":true}},
///                          "address":{"map":{"update":{…}}}},
///                "remove":[{"name":"old","type":"counter"}]}
///               {"clear":true}
///
/// A remove (of set elements, map fields, or everything) removes what the
/// coordinating replica has observed: a concurrent add elsewhere survives
/// (add-wins).
enum CRDTJSON {
    /// The path's type segment: `counter`, `set`, `register`, `flag` or `map`.
    static func kind(_ text: String) throws -> ValueKind {
        switch text {
        case "counter": return .counter
        case "set": return .set
        case "register": return .register
        case "flag": return .flag
        case "map": return .map
        default:
            throw APIError(.invalidParameter, "the type is counter, set, register, flag or map (versioned values live under /v1/kv)")
        }
    }

    static func name(_ kind: ValueKind) -> String {
        switch kind {
        case .versioned: "versioned"
        case .counter: "counter"
        case .set: "set"
        case .register: "register"
        case .flag: "flag"
        case .map: "map"
        }
    }

    // MARK: Values

    /// The JSON of `value` (read as `kind`): an absent key reads as the type's empty value.
    static func value(_ value: ReplicatedValue?, kind: ValueKind) -> JSONValue {
        switch value ?? ReplicatedValue.empty(kind) {
        case .counter(let counter): return .number(JSONNumber(counter.value))
        case .set(let set): return .array(set.elements.sorted { $0.lexicographicallyPrecedes($1) }.map(bytes))
        case .register(let register): return register.lastWriterWinsValue.map(bytes) ?? .null
        case .flag(let flag): return .bool(flag.isEnabled)
        case .map(let map): return self.map(map)
        case .versioned: return .null
        }
    }

    static func map(_ map: RiakMap) -> JSONValue {
        var byName: [String: [(String, JSONValue)]] = [:]
        for field in map.keys.sorted() {
            guard let value = map[field] else { continue }
            let json: JSONValue
            switch field.kind {
            case .counter: json = .number(JSONNumber(value.counter.value))
            // Concurrent assignments of one field: the greatest, so every replica reads the same.
            case .register: json = value.register.values.max().map(JSONValue.string) ?? .null
            case .flag: json = .bool(value.flag.isEnabled)
            case .set: json = .array(value.set.elements.sorted().map(JSONValue.string))
            case .map: json = self.map(value.map)
            }
            byName[field.name, default: []].append((typeName(field.kind), json))
        }
        return .object(JSONObject(byName.keys.sorted().map { ($0, .object(JSONObject(byName[$0]!))) }))
    }

    static func bytes(_ bytes: [UInt8]) -> JSONValue {
        if let text = String(validating: bytes, as: UTF8.self) { return .string(text) }
        return .object(["base64url": .string(Base64URL.encode(bytes))])
    }

    static func typeName(_ kind: FieldKind) -> String {
        switch kind {
        case .counter: "counter"
        case .register: "register"
        case .flag: "flag"
        case .set: "set"
        case .map: "map"
        }
    }

    static func fieldKind(_ text: String) throws -> FieldKind {
        guard let kind = FieldKind.allCases.first(where: { typeName($0) == text }) else {
            throw invalid("a map field's type is counter, register, flag, set or map, not '\(text)'")
        }
        return kind
    }

    // MARK: Operations

    /// The operation of a request body on a key of `kind`; `timestamp` orders a register's assignment.
    static func operation(_ body: [UInt8], kind: ValueKind, timestamp: HybridTimestamp) throws -> CRDTOperation {
        let json: JSONValue
        do { json = try JSONValue(parsing: body) } catch {
            throw APIError(.invalidJSON, "the body is not JSON: \(error)")
        }
        guard let object = json.objectValue else { throw invalid("the body is a JSON object naming one operation") }
        switch kind {
        case .counter:
            if let amount = try single(object, "increment", of: ["increment", "reset"]) {
                guard let value = amount.int64Value else { throw invalid("increment is a whole number (negative decrements)") }
                return .counterIncrement(value)
            }
            try flag(object, "reset")
            return .counterReset
        case .set:
            if let elements = try single(object, "add", of: ["add", "remove", "clear"]) { return .setInsert(try strings(elements, "add").map { Array($0.utf8) }) }
            if let elements = object["remove"] { return .setRemove(try strings(elements, "remove").map { Array($0.utf8) }) }
            try flag(object, "clear")
            return .setClear
        case .register:
            if let value = try single(object, "assign", of: ["assign", "clear"]) {
                guard let text = value.stringValue else { throw invalid("assign is a string") }
                return .registerAssign(TimestampedBytes(bytes: Array(text.utf8), timestamp: timestamp))
            }
            try flag(object, "clear")
            return .registerClear
        case .flag:
            if try single(object, "enable", of: ["enable", "disable"]) != nil {
                try flag(object, "enable")
                return .flagEnable
            }
            try flag(object, "disable")
            return .flagDisable
        case .map:
            let known: Set<String> = ["update", "remove", "clear"]
            if let unknown = object.keys.first(where: { !known.contains($0) }) { throw invalid("unknown map operation '\(unknown)'") }
            if object["clear"] != nil {
                guard object.count == 1 else { throw invalid("clear goes alone") }
                try flag(object, "clear")
                return .mapClear
            }
            let operations = try mapOperations(object, depth: 1)
            guard !operations.isEmpty else { throw invalid("a map operation updates or removes at least one field") }
            return .map(operations)
        case .versioned:
            throw invalid("versioned values are written with PUT /v1/kv")
        }
    }

    /// `update` and `remove` of one map level.
    static func mapOperations(_ object: JSONObject, depth: Int) throws -> [MapOperation] {
        guard depth <= maximumDepth else { throw invalid("maps nest at most \(maximumDepth) deep") }
        var operations: [MapOperation] = []
        if let update = object["update"] {
            guard let fields = update.objectValue else { throw invalid("update is an object of fields") }
            for (name, byType) in fields.map({ ($0.key, $0.value) }) {
                guard let types = byType.objectValue, !types.isEmpty else {
                    throw invalid("field '\(name)' is an object keyed by its type, like {\"counter\":{\"increment\":1}}")
                }
                for (type, operation) in types.map({ ($0.key, $0.value) }) {
                    let field = FieldKey(name, try fieldKind(type))
                    operations += try fieldOperations(field, operation, depth: depth).map { .update(field, $0) }
                }
            }
        }
        if let remove = object["remove"] {
            guard let fields = remove.arrayValue else { throw invalid("remove is an array of {\"name\":…,\"type\":…}") }
            for field in fields {
                guard let name = field["name"]?.stringValue, let type = field["type"]?.stringValue else {
                    throw invalid("a removed field is {\"name\":…,\"type\":…}")
                }
                operations.append(.remove(FieldKey(name, try fieldKind(type))))
            }
        }
        return operations
    }

    static func fieldOperations(_ field: FieldKey, _ json: JSONValue, depth: Int) throws -> [MapFieldOperation] {
        guard let object = json.objectValue else { throw invalid("field \(field)'s operation is an object") }
        switch field.kind {
        case .counter:
            guard let amount = try single(object, "increment", of: ["increment"])?.int64Value else {
                throw invalid("a counter field takes {\"increment\":N}")
            }
            return [.increment(amount)]
        case .register:
            guard let text = try single(object, "assign", of: ["assign"])?.stringValue else {
                throw invalid("a register field takes {\"assign\":\"…\"}")
            }
            return [.assign(text)]
        case .flag:
            if try single(object, "enable", of: ["enable", "disable"]) != nil {
                try flag(object, "enable")
                return [.enable]
            }
            try flag(object, "disable")
            return [.disable]
        case .set:
            if let elements = try single(object, "add", of: ["add", "remove"]) { return try strings(elements, "add").map { .insert($0) } }
            guard let elements = object["remove"] else { throw invalid("a set field takes {\"add\":[…]} or {\"remove\":[…]}") }
            return try strings(elements, "remove").map { .remove($0) }
        case .map:
            let operations = try mapOperations(object, depth: depth + 1)
            guard !operations.isEmpty else { throw invalid("a nested map operation updates or removes at least one field") }
            return [.map(operations)]
        }
    }

    static let maximumDepth = 8
    static let maximumElements = 1_000

    /// The value of `name` when the object holds exactly one of `names` and it is `name`; nil when it holds another.
    static func single(_ object: JSONObject, _ name: String, of names: Set<String>) throws -> JSONValue? {
        guard object.count == 1, let only = object.keys.first, names.contains(only) else {
            throw invalid("the body names exactly one of \(names.sorted().joined(separator: ", "))")
        }
        return object[name]
    }

    /// `{"name":true}`, the form of an operation without arguments.
    static func flag(_ object: JSONObject, _ name: String) throws {
        guard object[name]?.boolValue == true else { throw invalid("\(name) takes true") }
    }

    static func strings(_ json: JSONValue, _ name: String) throws -> [String] {
        let items = json.arrayValue ?? [json]
        guard !items.isEmpty, items.count <= maximumElements else { throw invalid("\(name) takes 1...\(maximumElements) strings") }
        return try items.map { item in
            guard let text = item.stringValue else { throw invalid("\(name) takes strings") }
            return text
        }
    }

    static func invalid(_ message: String) -> APIError { APIError(.invalidOperation, message) }
}
