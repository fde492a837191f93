import ChorusProjections
import GRDB

/// Checks a definition's SQL against SQLite itself, before any event is
/// projected: the schema runs in a scratch in-memory database, every handler
/// statement and query must compile against it, and every query must be
/// read-only (`sqlite3_stmt_readonly`). So a typo in a table name is an error
/// at load naming the statement, not a parked projection an hour later.
enum DefinitionCheck {
    static func check(_ definition: ProjectionDefinition) throws(ReadModelError) {
        let scratch: DatabaseQueue
        do { scratch = try DatabaseQueue() } catch { throw .storage("cannot open a scratch SQLite database: \(error)") }
        func refuse(_ location: String, _ error: any Error) -> ReadModelError {
            .invalidDefinition(ProjectionDefinitionError(projection: definition.name, location: location, sqliteMessage(error)))
        }
        do {
            try scratch.inDatabase { db in
                for (offset, statement) in definition.schema.enumerated() {
                    do { try db.execute(sql: statement) } catch { throw refuse("schema statement \(offset + 1)", error) }
                }
                for handler in definition.handlers {
                    for (offset, statement) in handler.statements.enumerated() {
                        do { _ = try db.makeStatement(sql: statement.sql.text) } catch {
                            throw refuse("handler '\(handler.eventType)' statement \(offset + 1)", error)
                        }
                    }
                }
                for query in definition.queries {
                    let statement: Statement
                    do { statement = try db.makeStatement(sql: query.sql.text) } catch { throw refuse("query '\(query.name)'", error) }
                    guard statement.isReadonly else {
                        throw ReadModelError.invalidDefinition(ProjectionDefinitionError(
                            projection: definition.name, location: "query '\(query.name)'", "a query must be read-only (this one writes)"))
                    }
                }
            }
        } catch let error as ReadModelError {
            throw error
        } catch {
            throw .storage("checking the definition failed: \(error)")
        }
    }
}

/// SQLite's own message for an error, without GRDB's decoration of the SQL.
func sqliteMessage(_ error: any Error) -> String {
    if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
    return "\(error)"
}
