import ChorusEventStore
import ChorusProjections
import Foundation
import Testing

@testable import ChorusReadModels

/// The SQLite edge: one transaction per batch with its checkpoint, exact
/// resumption, rebuild swaps, SQL checked at load, read-only typed queries.
@Suite struct ProjectionDatabaseTests {
    typealias F = ReadModelFixtures

    @Test func aBatchThatFailsMidwayLeavesTablesAndCheckpointAtThePreviousBatch() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let definition = F.definition()
        let database = try ProjectionDatabase(directory: directory, definition: definition)
        let first = F.write([F.event(0, "Opened", stream: "account-a"), F.event(1, "Moved", stream: "account-a", cents: 50)], definition: definition)
        #expect(await database.write(first, to: database.active) == .committed)
        // Event 4 would make the balance negative: the CHECK fails there, after two good events.
        let second = F.write(
            [F.event(2, "Opened", stream: "account-b"), F.event(3, "Moved", stream: "account-a", cents: 10),
             F.event(4, "Moved", stream: "account-b", cents: -5)],
            definition: definition, from: .after(1))
        #expect(await database.write(second, to: database.active) == .failed(eventIndex: 2, message: "CHECK constraint failed: cents >= 0"))
        #expect(try await database.table("balance").rows == [[.text("account-a"), .integer(50), .integer(1)]])
        database.close()
        let reopened = try ProjectionDatabase(directory: directory, definition: definition)
        #expect(reopened.active.checkpointAtOpen == .after(1) && reopened.active.number == 1 && reopened.building == nil)
        #expect(try await reopened.table("balance").rows == [[.text("account-a"), .integer(50), .integer(1)]])
        reopened.close()
    }

    @Test func aReopenedDatabaseResumesExactlyThroughTheWorker() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let definition = F.definition()
        var events: [RecordedEvent] = []
        for index in 0..<20 as Range<UInt64> {
            events.append(index % 4 == 0 ? F.event(index, "Opened", stream: "account-\(index / 4)") : F.event(index, "Moved", stream: "account-\(index / 4)", cents: Int(index)))
        }
        // First run: only the first 10 events exist.
        let firstDatabase = try ProjectionDatabase(directory: directory, definition: definition)
        let firstWorker = ProjectionWorker(database: firstDatabase)
        let firstRun = Task { await firstWorker.run(read: ListFeed(Array(events.prefix(10))).reader) }
        #expect(await firstWorker.wait(forPosition: 9, timeoutMilliseconds: 60_000) == .reached(passedThrough: .after(9)))
        firstRun.cancel()
        await firstRun.value
        firstDatabase.close()
        // Second run resumes from the stored checkpoint and folds each later event exactly once.
        let database = try ProjectionDatabase(directory: directory, definition: definition)
        #expect(database.active.checkpointAtOpen == .after(9))
        let worker = ProjectionWorker(database: database)
        let run = Task { await worker.run(read: ListFeed(events).reader) }
        #expect(await worker.wait(forPosition: 19, timeoutMilliseconds: 60_000) == .reached(passedThrough: .after(19)))
        run.cancel()
        await run.value
        let expected: [[ProjectionValue]] = (0..<5).map { account in
            let base = account * 4
            return [.text("account-\(account)"), .integer(Int64((base + 1) + (base + 2) + (base + 3))), .integer(Int64(base + 3))]
        }
        #expect(try await database.table("balance").rows == expected)
        #expect(worker.status.eventsFolded == 10, "the second run folded only the ten new events")
        database.close()
    }

    @Test func aRebuildBuildsAFreshGenerationWhileTheOldServesThenSwaps() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let definition = F.definition()
        let database = try ProjectionDatabase(directory: directory, definition: definition)
        _ = await database.write(F.write([F.event(0, "Opened", stream: "account-a"), F.event(1, "Moved", stream: "account-a", cents: 7)], definition: definition), to: database.active)
        let old = database.active
        let fresh = try database.beginRebuild()
        #expect(fresh.number == 2 && fresh.checkpointAtOpen == .start)
        #expect(try await database.table("balance", in: fresh).rows == [])
        _ = await database.write(F.write([F.event(0, "Opened", stream: "account-a")], definition: definition), to: fresh)
        // Queries still read the old generation, whole.
        #expect(try await database.query("all", arguments: []).rows == [[.text("account-a"), .integer(7)]])
        try database.swapIn()
        #expect(try await database.query("all", arguments: []).rows == [[.text("account-a"), .integer(0)]])
        #expect(database.active.number == 2 && database.building == nil)
        #expect(!FileManager.default.fileExists(atPath: old.path), "the old generation is dropped")
        database.close()
        let reopened = try ProjectionDatabase(directory: directory, definition: definition)
        #expect(reopened.active.number == 2 && reopened.active.checkpointAtOpen == .after(0))
        reopened.close()
    }

    @Test func aVersionBumpRebuildsAndTheWorkerSwapsOnceCaughtUp() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = [F.event(0, "Opened", stream: "account-a"), F.event(1, "Moved", stream: "account-a", cents: 3)]
        let first = try ProjectionDatabase(directory: directory, definition: F.definition(version: 1))
        _ = await first.write(F.write([events[0]], definition: F.definition(version: 1)), to: first.active)
        first.close()
        let database = try ProjectionDatabase(directory: directory, definition: F.definition(version: 2))
        #expect(database.active.version == 1 && database.active.checkpointAtOpen == .after(0))
        #expect(database.building?.version == 2 && database.building?.number == 2)
        let worker = ProjectionWorker(database: database)
        #expect(worker.status.phase == .rebuilding)
        let run = Task { await worker.run(read: ListFeed(events).reader) }
        #expect(await worker.wait(forPosition: 1, timeoutMilliseconds: 60_000) == .reached(passedThrough: .after(1)))
        #expect(worker.status.phase == .running && worker.status.generation == 2 && worker.status.swaps == 1)
        #expect(try await database.query("all", arguments: []).rows == [[.text("account-a"), .integer(3)]])
        run.cancel()
        await run.value
        database.close()
    }

    @Test func sqlThatSQLiteRefusesIsAnErrorAtLoadNamingTheStatement() throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func definition(handler: String = "INSERT INTO t VALUES (:position)", query: String = "SELECT a FROM t") throws -> ProjectionDefinition {
            try ProjectionDefinition(
                name: "p", version: 1, source: .stream("s"), schema: ["CREATE TABLE t (a INTEGER)"],
                handlers: [try ProjectionHandler(eventType: "E", statements: [handler])],
                queries: [try ProjectionQuery(name: "q", sql: query, parameters: [])])
        }
        let cases: [(ProjectionDefinition, String)] = [
            (try definition(handler: "INSERT INTO missing VALUES (:position)"), "projection 'p', handler 'E' statement 1: no such table: missing"),
            (try definition(handler: "INSRT INTO t VALUES (:position)"), "projection 'p', handler 'E' statement 1: near \"INSRT\": syntax error"),
            (try definition(query: "DELETE FROM t"), "projection 'p', query 'q': a query must be read-only (this one writes)"),
            (try definition(query: "SELECT b FROM t"), "projection 'p', query 'q': no such column: b"),
        ]
        for (definition, message) in cases {
            do {
                _ = try ProjectionDatabase(directory: directory, definition: definition)
                Issue.record("accepted \(definition.handlers)")
            } catch {
                #expect(error.description == message)
            }
        }
        #expect(throws: ProjectionDefinitionError(location: "handler 'E' statement 1", "a handler may not run COMMIT: each batch runs in one transaction with its checkpoint")) {
            try ProjectionHandler(eventType: "E", statements: ["COMMIT"])
        }
    }

    @Test func queriesCheckTheirParametersAndRowLimit() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let definition = F.definition()
        var limits = ProjectionLimits()
        limits.maximumQueryRows = 1
        let database = try ProjectionDatabase(directory: directory, definition: definition, limits: limits)
        _ = await database.write(F.write([F.event(0, "Opened", stream: "account-a"), F.event(1, "Opened", stream: "account-b")], definition: definition), to: database.active)
        #expect(try await database.query("one", arguments: [("account", "account-b")]) == QueryResult(columns: ["account", "cents"], rows: [[.text("account-b"), .integer(0)]]))
        await #expect(throws: ReadModelError.queryNotFound(projection: "balances", query: "two", known: ["one", "all"])) {
            try await database.query("two", arguments: [])
        }
        await #expect(throws: ReadModelError.invalidParameter(QueryParameterError(parameter: "account", "the query 'one' needs the text parameter 'account'"))) {
            try await database.query("one", arguments: [])
        }
        await #expect(throws: ReadModelError.tooManyRows(limit: 1)) { try await database.query("all", arguments: []) }
        database.close()
    }
}
