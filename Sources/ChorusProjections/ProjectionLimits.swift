/// Every size and count of the projection core, named in one place (STYLE.md
/// habit 5). `problems` says which relations between them are broken.
public struct ProjectionLimits: Sendable, Hashable {
    /// Projections one definitions file may declare.
    public var maximumProjections = 64
    /// A projection or query name (also a file-name and URL segment).
    public var maximumNameBytes = 64
    /// Event types with a handler, per projection.
    public var maximumHandlers = 256
    /// Statements one event type's handler runs, in order.
    public var maximumStatementsPerHandler = 16
    /// Schema statements per projection.
    public var maximumSchemaStatements = 64
    /// Named queries per projection.
    public var maximumQueries = 64
    /// The text of one SQL statement.
    public var maximumStatementBytes = 16 << 10
    /// Distinct named parameters in one statement.
    public var maximumParametersPerStatement = 64
    /// Segments of one JSON path (`:data.a.b.c`).
    public var maximumPathSegments = 16
    /// Event-type prefixes of a `$all` source.
    public var maximumTypePrefixes = 32
    /// The definitions file.
    public var maximumDefinitionFileBytes = 1 << 20
    /// Waits for a position registered at once, per projection.
    public var maximumWaiters = 4_096
    /// Rows one query answers; more is refused, not truncated silently.
    public var maximumQueryRows = 10_000

    public init() {}

    public static let `default` = ProjectionLimits()

    /// What breaks the limits' relations; empty when sound.
    public var problems: [String] {
        var problems: [String] = []
        let named: [(String, Int)] = [
            ("maximumProjections", maximumProjections), ("maximumNameBytes", maximumNameBytes),
            ("maximumHandlers", maximumHandlers), ("maximumStatementsPerHandler", maximumStatementsPerHandler),
            ("maximumSchemaStatements", maximumSchemaStatements), ("maximumQueries", maximumQueries),
            ("maximumStatementBytes", maximumStatementBytes), ("maximumParametersPerStatement", maximumParametersPerStatement),
            ("maximumPathSegments", maximumPathSegments), ("maximumTypePrefixes", maximumTypePrefixes),
            ("maximumDefinitionFileBytes", maximumDefinitionFileBytes), ("maximumWaiters", maximumWaiters),
            ("maximumQueryRows", maximumQueryRows),
        ]
        for (name, value) in named where value <= 0 { problems.append("\(name) must be positive (is \(value))") }
        // SQLite numbers parameters ?1...?999 by default (SQLITE_MAX_VARIABLE_NUMBER).
        if maximumParametersPerStatement > 999 { problems.append("maximumParametersPerStatement must be at most 999 (SQLite's limit)") }
        if maximumStatementBytes > maximumDefinitionFileBytes {
            problems.append("maximumStatementBytes exceeds maximumDefinitionFileBytes: no file could hold such a statement")
        }
        return problems
    }
}
