import ChorusEventStore

/// A projection (DESIGN.md §5, issue 11): a named, versioned fold of a
/// filtered event feed into SQL tables. Its handlers are parameterised SQL
/// statements per event type, its queries are named read-only SQL with typed
/// parameters, and its schema creates the tables.
///
/// Built only through `init`, which validates everything the core can check
/// (names, sizes, parameters; the SQL itself is checked by the edge against
/// SQLite when it loads the definition). Bumping `version` makes the node
/// rebuild the projection from position 0 into fresh tables.
public struct ProjectionDefinition: Sendable, Hashable {
    public let name: String
    public let version: Int
    public let source: ProjectionSource
    /// `CREATE TABLE …`, `CREATE INDEX …`, in order, run once per fresh generation.
    public let schema: [String]
    /// Per event type, in the order declared (at most one handler per type).
    public let handlers: [ProjectionHandler]
    public let queries: [ProjectionQuery]

    public init(
        name: String, version: Int, source: ProjectionSource, schema: [String], handlers: [ProjectionHandler],
        queries: [ProjectionQuery], limits: ProjectionLimits = .default
    ) throws(ProjectionDefinitionError) {
        do throws(ProjectionDefinitionError) {
            try Self.validate(name: name, what: "projection", limits: limits)
        } catch {
            throw error.at(projection: name)
        }
        guard version >= 1 else { throw ProjectionDefinitionError(projection: name, "the version must be at least 1 (is \(version))") }
        guard !schema.isEmpty else {
            throw ProjectionDefinitionError(projection: name, "the schema is empty: declare the tables the handlers write")
        }
        guard schema.count <= limits.maximumSchemaStatements else {
            throw ProjectionDefinitionError(projection: name, "at most \(limits.maximumSchemaStatements) schema statements are allowed")
        }
        for (offset, statement) in schema.enumerated() {
            do throws(ProjectionDefinitionError) {
                let parsed = try ParameterizedSQL(statement, limits: limits)
                if let first = parsed.parameterNames.first {
                    throw ProjectionDefinitionError("a schema statement takes no parameters (found ':\(first)')")
                }
            } catch {
                throw error.at(location: "schema statement \(offset + 1)").at(projection: name)
            }
        }
        guard !handlers.isEmpty else {
            throw ProjectionDefinitionError(projection: name, "no handlers: a projection needs at least one event type to fold")
        }
        guard handlers.count <= limits.maximumHandlers else {
            throw ProjectionDefinitionError(projection: name, "at most \(limits.maximumHandlers) handlers are allowed")
        }
        var types = Set<String>()
        for handler in handlers where !types.insert(handler.eventType).inserted {
            throw ProjectionDefinitionError(projection: name, "two handlers for the event type '\(handler.eventType)'")
        }
        let prefixes = source.eventTypePrefixes
        if !prefixes.isEmpty, let unreachable = handlers.first(where: { handler in !prefixes.contains { handler.eventType.hasPrefix($0) } }) {
            throw ProjectionDefinitionError(
                projection: name,
                "the handler for '\(unreachable.eventType)' can never run: the source only takes types starting with \(prefixes.map { "'\($0)'" }.joined(separator: ", "))")
        }
        guard queries.count <= limits.maximumQueries else {
            throw ProjectionDefinitionError(projection: name, "at most \(limits.maximumQueries) queries are allowed")
        }
        var queryNames = Set<String>()
        for query in queries where !queryNames.insert(query.name).inserted {
            throw ProjectionDefinitionError(projection: name, "two queries named '\(query.name)'")
        }
        self.name = name
        self.version = version
        self.source = source
        self.schema = schema
        self.handlers = handlers
        self.queries = queries
    }

    /// The handler for an event type, if the projection folds that type.
    public func handler(for eventType: String) -> ProjectionHandler? {
        handlers.first { $0.eventType == eventType }
    }

    public func query(named name: String) -> ProjectionQuery? {
        queries.first { $0.name == name }
    }

    /// Projection and query names: `[a-z][a-z0-9_]*`, bounded, so they are
    /// safe as file names, URL segments and metric labels as they are.
    static func validate(name: String, what: String, limits: ProjectionLimits) throws(ProjectionDefinitionError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw ProjectionDefinitionError("the \(what) name is empty") }
        guard bytes.count <= limits.maximumNameBytes else {
            throw ProjectionDefinitionError("the \(what) name '\(name)' is longer than \(limits.maximumNameBytes) bytes")
        }
        let first = bytes[0]
        let valid = first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")
            && bytes.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
        guard valid else {
            throw ProjectionDefinitionError("the \(what) name '\(name)' must be lowercase letters, digits and '_', starting with a letter")
        }
    }
}

/// The statements one event type runs, in order, inside the batch's transaction.
public struct ProjectionHandler: Sendable, Hashable {
    public let eventType: String
    public let statements: [HandlerStatement]

    public init(eventType: String, statements: [String], limits: ProjectionLimits = .default) throws(ProjectionDefinitionError) {
        let location = "handler '\(eventType)'"
        guard !eventType.isEmpty else { throw ProjectionDefinitionError("a handler's event type is empty") }
        guard eventType.utf8.count <= EventStoreLimits.default.maximumEventTypeBytes else {
            throw ProjectionDefinitionError(location: location, "the event type is longer than any event type the store accepts")
        }
        guard !statements.isEmpty else { throw ProjectionDefinitionError(location: location, "the handler has no statements") }
        guard statements.count <= limits.maximumStatementsPerHandler else {
            throw ProjectionDefinitionError(location: location, "at most \(limits.maximumStatementsPerHandler) statements are allowed")
        }
        var compiled: [HandlerStatement] = []
        for (offset, text) in statements.enumerated() {
            do throws(ProjectionDefinitionError) {
                compiled.append(try HandlerStatement(text, limits: limits))
            } catch {
                throw error.at(location: "\(location) statement \(offset + 1)")
            }
        }
        self.eventType = eventType
        self.statements = compiled
    }
}

/// A handler statement with its parameters resolved to event fields.
public struct HandlerStatement: Sendable, Hashable {
    public let sql: ParameterizedSQL
    /// `parameters[i]` binds `?(i+1)`.
    public let parameters: [EventParameter]

    public init(_ text: String, limits: ProjectionLimits = .default) throws(ProjectionDefinitionError) {
        sql = try ParameterizedSQL(text, limits: limits)
        try Self.checkTransactionSafe(sql.text)
        var parameters: [EventParameter] = []
        for name in sql.parameterNames { parameters.append(try EventParameter(name: name)) }
        self.parameters = parameters
    }

    /// Statements that would break the one-transaction-per-batch rule (or
    /// write the checkpoint themselves) are refused: a handler's `COMMIT`
    /// would make rows durable without their checkpoint.
    static func checkTransactionSafe(_ text: String) throws(ProjectionDefinitionError) {
        let words = text.split(whereSeparator: { !($0.isLetter || $0 == "_") })
        let first = words.first.map { $0.uppercased() } ?? ""
        let refused = ["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "ATTACH", "DETACH", "VACUUM", "PRAGMA"]
        if refused.contains(first) {
            throw ProjectionDefinitionError("a handler may not run \(first): each batch runs in one transaction with its checkpoint")
        }
        if text.lowercased().contains("_chorus_") {
            throw ProjectionDefinitionError("names starting with '_chorus_' are the runner's own (its checkpoint table); use another name")
        }
    }
}
