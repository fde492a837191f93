import ChorusEventStore
import ChorusProjections
import Foundation
import GRDB
import Synchronization

/// One projection's read model on disk: generations of SQLite files, one of
/// them active (serving queries), at most one being built (a rebuild), and a
/// catalog that says which is which.
///
///     <directory>/catalog.sqlite          active and building generation numbers and versions
///     <directory>/generation-<N>.sqlite   the tables, plus _chorus_checkpoint (one row)
///
/// **Atomicity.** Each `write` runs a batch's statements and stores its
/// checkpoint in one SQLite transaction of the generation's file, so after any
/// crash the tables and the checkpoint agree exactly, and a reopened
/// generation resumes from the checkpoint: no event skipped, none applied twice.
///
/// **Rebuild.** A fresh generation is created with the schema and a start
/// checkpoint and filled from position 0 while the active one keeps serving;
/// `swapIn` flips the catalog in one transaction (the commit point: a crash
/// before it keeps the old generation active and resumes the build; after it
/// the new one is active), then closes and deletes the old file. Queries read
/// whichever generation is active when they start, so they see the old model
/// or the new one, never a half-built one. Files are per generation, not
/// tables renamed inside one file, so a definition's SQL names its tables as
/// they are and SQLite's schema rules need no rewriting.
///
/// Blocking SQLite work runs on GRDB's own dispatch queues (its async
/// `read`/`write`), never on a NIO event loop.
public final class ProjectionDatabase: Sendable {
    public let definition: ProjectionDefinition
    public let directory: String
    let limits: ProjectionLimits
    private let catalog: DatabaseQueue
    private let state: Mutex<State>

    struct State {
        var active: Generation
        var building: Generation?
    }

    /// One generation's file and connection pool.
    public struct Generation: Sendable {
        public let number: Int
        public let version: Int
        public let path: String
        let pool: DatabasePool
        /// The checkpoint stored in the file when it was opened.
        public let checkpointAtOpen: SubscriptionCursor
    }

    /// Opens (or creates) the projection's files in `directory`: checks the
    /// definition against SQLite, and starts a rebuild into a fresh
    /// generation when the active one was built by another version.
    public init(directory: String, definition: ProjectionDefinition, limits: ProjectionLimits = .default) throws(ReadModelError) {
        try DefinitionCheck.check(definition)
        self.definition = definition
        self.directory = directory
        self.limits = limits
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .storage("cannot create the read-model directory \(directory): \(error.localizedDescription)")
        }
        let catalog: DatabaseQueue
        do {
            catalog = try DatabaseQueue(path: directory + "/catalog.sqlite")
            try catalog.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS generation (
                        role TEXT PRIMARY KEY CHECK (role IN ('active', 'building')),
                        number INTEGER NOT NULL, version INTEGER NOT NULL)
                    """)
            }
        } catch {
            throw .storage("cannot open the catalog in \(directory): \(sqliteMessage(error))")
        }
        self.catalog = catalog
        let recorded = try Self.readCatalog(catalog)
        var active: Generation
        var building: Generation?
        if let entry = recorded.active {
            active = try Self.openGeneration(directory: directory, number: entry.number, version: entry.version, definition: definition, create: false)
        } else {
            active = try Self.openGeneration(directory: directory, number: 1, version: definition.version, definition: definition, create: true)
            try Self.record(catalog, role: "active", number: 1, version: definition.version)
        }
        if let entry = recorded.building, entry.version == definition.version {
            building = try Self.openGeneration(directory: directory, number: entry.number, version: entry.version, definition: definition, create: false)
        } else if active.version != definition.version {
            let number = max(active.number, recorded.building?.number ?? 0) + 1
            building = try Self.openGeneration(directory: directory, number: number, version: definition.version, definition: definition, create: true)
            try Self.record(catalog, role: "building", number: number, version: definition.version)
        }
        self.state = Mutex(State(active: active, building: building))
        removeStrayFiles()
    }

    public var active: Generation { state.withLock { $0.active } }
    public var building: Generation? { state.withLock { $0.building } }

    // MARK: Writing

    /// Runs the write's statements and stores its checkpoint, in one
    /// transaction of `generation`'s file; a failing statement rolls all of it back.
    public func write(_ write: ProjectionWrite, to generation: Generation) async -> WriteOutcome {
        let failure = Mutex<(Int, String)?>(nil)
        do {
            try await generation.pool.write { db in
                // Consecutive statements of one handler share their text: reuse
                // the compiled statement without looking it up again.
                var previous: (sql: String, statement: Statement)?
                for statement in write.statements {
                    do {
                        let compiled: Statement
                        if let previous, previous.sql == statement.sql {
                            compiled = previous.statement
                        } else {
                            compiled = try db.cachedStatement(sql: statement.sql)
                            previous = (statement.sql, compiled)
                        }
                        // The core bound exactly one value per ?N (ParameterizedSQL), so GRDB's check is redundant.
                        compiled.setUncheckedArguments(StatementArguments(statement.values.map(\.databaseValue)))
                        try compiled.execute()
                    } catch {
                        failure.withLock { $0 = (statement.eventIndex, sqliteMessage(error)) }
                        throw error
                    }
                }
                try db.execute(sql: "UPDATE _chorus_checkpoint SET passed_through = ? WHERE id = 1", arguments: [write.checkpoint.storedValue])
            }
            return .committed
        } catch {
            // A failure outside the statements (the checkpoint, the commit itself) is the first event's.
            let (index, message) = failure.withLock { $0 } ?? (0, sqliteMessage(error))
            return .failed(eventIndex: index, message: message)
        }
    }

    // MARK: Rebuild

    /// Starts building a fresh generation of the current version (an
    /// operator's rebuild); an unfinished one is replaced.
    @discardableResult
    public func beginRebuild() throws(ReadModelError) -> Generation {
        let (active, previous) = state.withLock { ($0.active, $0.building) }
        let number = max(active.number, previous?.number ?? 0) + 1
        let fresh = try Self.openGeneration(directory: directory, number: number, version: definition.version, definition: definition, create: true)
        try Self.record(catalog, role: "building", number: number, version: definition.version)
        state.withLock { $0.building = fresh }
        if let previous { Self.remove(previous) }
        return fresh
    }

    /// Makes the building generation the active one (one catalog
    /// transaction), then closes and deletes the previous one.
    public func swapIn() throws(ReadModelError) {
        guard let fresh = state.withLock({ $0.building }) else { preconditionFailure("swapIn without a building generation") }
        do {
            try catalog.write { db in
                try db.execute(sql: "DELETE FROM generation WHERE role = 'building'")
                try db.execute(
                    sql: "INSERT INTO generation (role, number, version) VALUES ('active', ?, ?) ON CONFLICT (role) DO UPDATE SET number = excluded.number, version = excluded.version",
                    arguments: [fresh.number, fresh.version])
            }
        } catch {
            throw .storage("swapping in generation \(fresh.number) failed: \(sqliteMessage(error))")
        }
        let old = state.withLock { state in
            let old = state.active
            state.active = fresh
            state.building = nil
            return old
        }
        Self.remove(old)
    }

    // MARK: Queries

    /// Runs a named query on the active generation, read-only.
    public func query(_ name: String, arguments: [(name: String, value: String)]) async throws(ReadModelError) -> QueryResult {
        guard let query = definition.query(named: name) else {
            throw .queryNotFound(projection: definition.name, query: name, known: definition.queries.map(\.name))
        }
        let values: [ProjectionValue]
        do { values = try query.bind(arguments) } catch { throw .invalidParameter(error) }
        let pool = active.pool
        let maximumRows = limits.maximumQueryRows
        do {
            return try await pool.read { db in
                let statement = try db.cachedStatement(sql: query.sql.text)
                statement.arguments = StatementArguments(values.map(\.databaseValue))
                let columns = statement.columnNames
                var rows: [[ProjectionValue]] = []
                let cursor = try Row.fetchCursor(statement)
                while let row = try cursor.next() {
                    guard rows.count < maximumRows else { throw ReadModelError.tooManyRows(limit: maximumRows) }
                    rows.append((0..<columns.count).map { ProjectionValue(row[$0] as DatabaseValue) })
                }
                return QueryResult(columns: columns, rows: rows)
            }
        } catch let error as ReadModelError {
            throw error
        } catch {
            throw .queryFailed(sqliteMessage(error))
        }
    }

    /// Every row of a table of the active generation, ordered by its first
    /// column (for tests and the crash check, which compare whole tables).
    public func table(_ name: String, in generation: Generation? = nil) async throws(ReadModelError) -> QueryResult {
        let pool = (generation ?? active).pool
        do {
            return try await pool.read { db in
                let statement = try db.makeStatement(sql: "SELECT * FROM \"\(name.replacingOccurrences(of: "\"", with: "\"\""))\" ORDER BY 1")
                let columns = statement.columnNames
                let rows = try Row.fetchAll(statement).map { row in (0..<columns.count).map { ProjectionValue(row[$0] as DatabaseValue) } }
                return QueryResult(columns: columns, rows: rows)
            }
        } catch {
            throw .queryFailed(sqliteMessage(error))
        }
    }

    /// Closes every connection (the files stay).
    public func close() {
        let (active, building) = state.withLock { ($0.active, $0.building) }
        try? active.pool.close()
        try? building?.pool.close()
        try? catalog.close()
    }

    // MARK: Files

    static func path(directory: String, number: Int) -> String { "\(directory)/generation-\(number).sqlite" }

    static func openGeneration(directory: String, number: Int, version: Int, definition: ProjectionDefinition, create: Bool)
        throws(ReadModelError) -> Generation
    {
        let path = path(directory: directory, number: number)
        if create { removeFiles(path) } else if !FileManager.default.fileExists(atPath: path) {
            throw .storage("the catalog names generation \(number), but \(path) is missing")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL with synchronous=NORMAL: a power loss may drop the latest
            // transactions, rows and checkpoint together, never one without the other.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            let checkpoint: SubscriptionCursor = try pool.write { db in
                if create {
                    for statement in definition.schema { try db.execute(sql: statement) }
                    try db.execute(sql: "CREATE TABLE _chorus_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), projection TEXT NOT NULL, version INTEGER NOT NULL, passed_through INTEGER)")
                    try db.execute(sql: "INSERT INTO _chorus_checkpoint VALUES (1, ?, ?, NULL)", arguments: [definition.name, version])
                    return .start
                }
                guard let row = try Row.fetchOne(db, sql: "SELECT projection, version, passed_through FROM _chorus_checkpoint WHERE id = 1") else {
                    throw ReadModelError.storage("\(path) has no checkpoint row")
                }
                let name: String = row[0]
                let storedVersion: Int = row[1]
                guard name == definition.name, storedVersion == version else {
                    throw ReadModelError.storage("\(path) holds projection '\(name)' version \(storedVersion), not '\(definition.name)' version \(version)")
                }
                let passed: Int64? = row[2]
                return passed.map { .after(GlobalPosition(UInt64($0))) } ?? .start
            }
            return Generation(number: number, version: version, path: path, pool: pool, checkpointAtOpen: checkpoint)
        } catch let error as ReadModelError {
            throw error
        } catch {
            throw .storage("cannot open \(path): \(sqliteMessage(error))")
        }
    }

    struct CatalogEntry { var number: Int; var version: Int }

    static func readCatalog(_ catalog: DatabaseQueue) throws(ReadModelError) -> (active: CatalogEntry?, building: CatalogEntry?) {
        do {
            return try catalog.read { db in
                var active: CatalogEntry?
                var building: CatalogEntry?
                for row in try Row.fetchAll(db, sql: "SELECT role, number, version FROM generation ORDER BY role") {
                    let entry = CatalogEntry(number: row[1], version: row[2])
                    if (row[0] as String) == "active" { active = entry } else { building = entry }
                }
                return (active, building)
            }
        } catch {
            throw .storage("cannot read the catalog: \(sqliteMessage(error))")
        }
    }

    static func record(_ catalog: DatabaseQueue, role: String, number: Int, version: Int) throws(ReadModelError) {
        do {
            try catalog.write { db in
                try db.execute(
                    sql: "INSERT INTO generation (role, number, version) VALUES (?, ?, ?) ON CONFLICT (role) DO UPDATE SET number = excluded.number, version = excluded.version",
                    arguments: [role, number, version])
            }
        } catch {
            throw .storage("cannot record the \(role) generation: \(sqliteMessage(error))")
        }
    }

    static func remove(_ generation: Generation) {
        try? generation.pool.close()
        removeFiles(generation.path)
    }

    static func removeFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Generation files the catalog no longer names (a crash between a swap's
    /// commit and the old file's deletion).
    private func removeStrayFiles() {
        let (active, building) = state.withLock { ($0.active.number, $0.building?.number) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix("generation-") && name.hasSuffix(".sqlite") {
            let number = Int(name.dropFirst("generation-".count).dropLast(".sqlite".count))
            if let number, number != active, number != building { Self.removeFiles(directory + "/" + name) }
        }
    }
}

extension SubscriptionCursor {
    /// NULL for the start, else the position passed through.
    var storedValue: Int64? {
        switch self {
        case .start: nil
        case .after(let position): Int64(position.rawValue)
        }
    }
}

extension ProjectionValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let value): value.databaseValue
        case .real(let value): value.databaseValue
        case .text(let value): value.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let real): self = .real(real)
        case .string(let text): self = .text(text)
        case .blob(let data): self = .blob([UInt8](data))
        }
    }
}
