import ChorusProjections

/// Why a read-model operation failed, as the service layer renders it.
public enum ReadModelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// SQLite refused a definition's SQL when it was loaded (a syntax error,
    /// an unknown table, a query that writes).
    case invalidDefinition(ProjectionDefinitionError)
    case queryNotFound(projection: String, query: String, known: [String])
    case invalidParameter(QueryParameterError)
    /// A query that ran and failed (SQLite's message).
    case queryFailed(String)
    /// A query answered more rows than `maximumQueryRows`; nothing is truncated silently.
    case tooManyRows(limit: Int)
    /// Opening, creating or swapping the database files failed.
    case storage(String)

    public var description: String {
        switch self {
        case .invalidDefinition(let error): error.description
        case .queryNotFound(let projection, let query, let known):
            "the projection '\(projection)' has no query '\(query)' (its queries: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .invalidParameter(let error): error.description
        case .queryFailed(let message): "the query failed: \(message)"
        case .tooManyRows(let limit): "the query answers more than \(limit) rows; narrow it (add a LIMIT or a parameter)"
        case .storage(let message): message
        }
    }
}

/// A query's answer: the column names and the rows, in SQLite's order.
public struct QueryResult: Sendable, Hashable {
    public var columns: [String]
    public var rows: [[ProjectionValue]]

    public init(columns: [String], rows: [[ProjectionValue]]) {
        self.columns = columns
        self.rows = rows
    }
}

/// How a write ended: committed (rows and checkpoint durable together), or
/// rolled back with the failing event and SQLite's message.
public enum WriteOutcome: Sendable, Hashable {
    case committed
    case failed(eventIndex: Int, message: String)
}
