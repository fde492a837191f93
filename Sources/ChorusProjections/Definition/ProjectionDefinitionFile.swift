import ChorusCore

/// The definitions file (`chorus node --projections FILE`): JSON, documented
/// with a worked example in this target's README.
///
///     {"projections": [{"name": "order_summary", "version": 1, "source": "order-*",
///       "schema": ["CREATE TABLE …"],
///       "handlers": {"OrderPlaced": "INSERT …", "OrderShipped": ["UPDATE …", "…"]},
///       "queries": {"by_id": {"sql": "SELECT … WHERE id = :id", "parameters": {"id": "text"}}}}]}
///
/// Strict: unknown members are refused (a misspelt `"handler"` would
/// otherwise silently project nothing), and so are duplicate names.
public enum ProjectionDefinitionFile {
    public static func decode(_ bytes: [UInt8], limits: ProjectionLimits = .default) throws(ProjectionDefinitionError)
        -> [ProjectionDefinition]
    {
        guard bytes.count <= limits.maximumDefinitionFileBytes else {
            throw ProjectionDefinitionError("the definitions file is \(bytes.count) bytes; at most \(limits.maximumDefinitionFileBytes) are allowed")
        }
        let root: JSONValue
        do {
            root = try JSONValue(parsing: bytes, limits: JSONLimits(maximumByteCount: limits.maximumDefinitionFileBytes, maximumDepth: 16, maximumNumberLiteralBytes: 32))
        } catch {
            throw ProjectionDefinitionError("the definitions file is not valid JSON: \(error)")
        }
        guard let object = root.objectValue else { throw ProjectionDefinitionError("the definitions file must be a JSON object with \"projections\"") }
        try onlyKnown(object, ["projections"], what: "the definitions file")
        guard let list = object["projections"]?.arrayValue else {
            throw ProjectionDefinitionError("\"projections\" must be an array of projection definitions")
        }
        guard list.count <= limits.maximumProjections else {
            throw ProjectionDefinitionError("at most \(limits.maximumProjections) projections are allowed (the file has \(list.count))")
        }
        var definitions: [ProjectionDefinition] = []
        for (offset, entry) in list.enumerated() {
            let definition = try decodeProjection(entry, offset: offset, limits: limits)
            guard !definitions.contains(where: { $0.name == definition.name }) else {
                throw ProjectionDefinitionError(projection: definition.name, "two projections have this name")
            }
            definitions.append(definition)
        }
        return definitions
    }

    static func decodeProjection(_ value: JSONValue, offset: Int, limits: ProjectionLimits) throws(ProjectionDefinitionError)
        -> ProjectionDefinition
    {
        guard let object = value.objectValue else { throw ProjectionDefinitionError("projection \(offset + 1) is not a JSON object") }
        guard let name = object["name"]?.stringValue else {
            throw ProjectionDefinitionError("projection \(offset + 1) has no \"name\" string")
        }
        do throws(ProjectionDefinitionError) {
            try onlyKnown(object, ["name", "version", "source", "eventTypePrefixes", "schema", "handlers", "queries"], what: "the projection")
            guard let version = object["version"]?.numberValue?.intValue else {
                throw ProjectionDefinitionError("\"version\" must be an integer (1 or more)")
            }
            guard let sourceText = object["source"]?.stringValue else {
                throw ProjectionDefinitionError("\"source\" must be a string: a stream, 'kind-*' or '$all'")
            }
            let prefixes = try strings(object["eventTypePrefixes"] ?? .array([]), what: "\"eventTypePrefixes\"")
            let source = try ProjectionSource(text: sourceText, eventTypePrefixes: prefixes, limits: limits)
            guard let schemaValue = object["schema"] else { throw ProjectionDefinitionError("\"schema\" is missing: list the CREATE TABLE statements") }
            let schema = try strings(schemaValue, what: "\"schema\"")
            guard let handlerObject = object["handlers"]?.objectValue else {
                throw ProjectionDefinitionError("\"handlers\" must be an object from event type to a statement or a list of statements")
            }
            var handlers: [ProjectionHandler] = []
            for member in handlerObject {
                let statements: [String]
                if let single = member.value.stringValue { statements = [single] } else {
                    statements = try strings(member.value, what: "the handler '\(member.key)'")
                }
                handlers.append(try ProjectionHandler(eventType: member.key, statements: statements, limits: limits))
            }
            var queries: [ProjectionQuery] = []
            if let queryValue = object["queries"] {
                guard let queryObject = queryValue.objectValue else {
                    throw ProjectionDefinitionError("\"queries\" must be an object from query name to {\"sql\", \"parameters\"}")
                }
                for member in queryObject { queries.append(try decodeQuery(name: member.key, member.value, limits: limits)) }
            }
            return try ProjectionDefinition(
                name: name, version: version, source: source, schema: schema, handlers: handlers, queries: queries, limits: limits)
        } catch {
            throw error.at(projection: name)
        }
    }

    static func decodeQuery(name: String, _ value: JSONValue, limits: ProjectionLimits) throws(ProjectionDefinitionError)
        -> ProjectionQuery
    {
        let location = "query '\(name)'"
        guard let object = value.objectValue else {
            throw ProjectionDefinitionError(location: location, "a query must be an object with \"sql\" and optional \"parameters\"")
        }
        do throws(ProjectionDefinitionError) {
            try onlyKnown(object, ["sql", "parameters"], what: "the query")
        } catch {
            throw error.at(location: location)
        }
        guard let sql = object["sql"]?.stringValue else { throw ProjectionDefinitionError(location: location, "\"sql\" must be a string") }
        var parameters: [ProjectionQuery.Parameter] = []
        if let declared = object["parameters"] {
            guard let declaredObject = declared.objectValue else {
                throw ProjectionDefinitionError(location: location, "\"parameters\" must be an object from name to type (text, integer, real, boolean)")
            }
            for member in declaredObject {
                guard let typeName = member.value.stringValue, let type = ProjectionQuery.ParameterType(rawValue: typeName) else {
                    throw ProjectionDefinitionError(
                        location: location, "the parameter '\(member.key)' has type \(member.value), not one of text, integer, real, boolean")
                }
                parameters.append(ProjectionQuery.Parameter(name: member.key, type: type))
            }
        }
        return try ProjectionQuery(name: name, sql: sql, parameters: parameters, limits: limits)
    }

    static func onlyKnown(_ object: JSONObject, _ known: [String], what: String) throws(ProjectionDefinitionError) {
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw ProjectionDefinitionError("\(what) has an unknown member \"\(unknown)\" (known: \(known.joined(separator: ", ")))")
        }
    }

    static func strings(_ value: JSONValue, what: String) throws(ProjectionDefinitionError) -> [String] {
        guard let array = value.arrayValue else { throw ProjectionDefinitionError("\(what) must be a list of strings") }
        var result: [String] = []
        for element in array {
            guard let text = element.stringValue else { throw ProjectionDefinitionError("\(what) must be a list of strings (found \(element))") }
            result.append(text)
        }
        return result
    }
}
