import ChorusEventStore
import ChorusProjections
import Foundation
import Testing

@testable import ChorusReadModels

/// The worker against a real SQLite file: a failing handler is retried then
/// parks (the process goes on), waits stall on it, skip passes it.
@Suite struct ProjectionWorkerTests {
    typealias F = ReadModelFixtures

    @Test func aFailingHandlerParksStallsWaitsAndASkipPassesIt() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let definition = F.definition()
        let database = try ProjectionDatabase(directory: directory, definition: definition)
        let worker = ProjectionWorker(
            database: database, retryPolicy: ProjectionRetryPolicy(maximumAttempts: 3, initialBackoffMilliseconds: 5, maximumBackoffMilliseconds: 10))
        let events = [
            F.event(0, "Opened", stream: "account-a"), F.event(1, "Moved", stream: "account-a", cents: -1),
            F.event(2, "Moved", stream: "account-a", cents: 4),
        ]
        let run = Task { await worker.run(read: ListFeed(events).reader) }
        let outcome = await worker.wait(forPosition: 2, timeoutMilliseconds: 60_000)
        let parked = ParkedEvent(stream: "account-a", revision: 1, position: 1, type: "Moved", error: "CHECK constraint failed: cents >= 0", attempts: 3)
        #expect(outcome == .stalled(parked))
        #expect(worker.status.phase == .parked && worker.status.parked == parked && worker.status.passedThrough == .after(0))
        #expect(await worker.wait(forPosition: 0, timeoutMilliseconds: 0) == .reached(passedThrough: .after(0)))
        #expect(await worker.wait(forPosition: 2, timeoutMilliseconds: 60_000) == .stalled(parked), "registered while parked: stalled at once")
        try worker.skip()
        #expect(await worker.wait(forPosition: 2, timeoutMilliseconds: 60_000) == .reached(passedThrough: .after(2)))
        #expect(try await database.table("balance").rows == [[.text("account-a"), .integer(4), .integer(2)]])
        #expect(throws: ProjectionWorker.CommandError.notParked) { try worker.retry() }
        // A rebuild from 0 meets the same failing event: it parks in the new
        // generation while the old one keeps serving, and a skip lets it swap in.
        try worker.rebuild()
        #expect(throws: ProjectionWorker.CommandError.alreadyRebuilding(generation: 2)) { try worker.rebuild() }
        let deadline = ContinuousClock.now + .seconds(60)
        while worker.status.phase != .parked && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(worker.status.phase == .parked && worker.status.buildingGeneration == 2 && worker.status.generation == 1)
        #expect(try await database.query("all", arguments: []).rows == [[.text("account-a"), .integer(4)]])
        try worker.skip()
        while worker.status.swaps == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(worker.status.generation == 2 && worker.status.phase == .running && worker.status.passedThrough == .after(2))
        #expect(try await database.table("balance").rows == [[.text("account-a"), .integer(4), .integer(2)]])
        run.cancel()
        await run.value
        database.close()
    }

    @Test func aWaitTimesOutWhenNothingArrives() async throws {
        let directory = F.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try ProjectionDatabase(directory: directory, definition: F.definition())
        let worker = ProjectionWorker(database: database)
        let run = Task { await worker.run(read: ListFeed([F.event(0, "Opened", stream: "account-a")]).reader) }
        #expect(await worker.wait(forPosition: 0, timeoutMilliseconds: 60_000) == .reached(passedThrough: .after(0)))
        let started = ContinuousClock.now
        #expect(await worker.wait(forPosition: 5, timeoutMilliseconds: 50) == .timedOut(passedThrough: .after(0)))
        #expect(ContinuousClock.now - started >= .milliseconds(50), "not before its deadline")
        run.cancel()
        await run.value
        database.close()
    }
}
