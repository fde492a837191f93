import ChorusEventStore
import Testing

@testable import ChorusProjections

/// The runner's decisions, step by step, each asserted exactly.
@Suite struct ProjectionRunnerTests {
    typealias F = RunnerFixtures

    @Test func aBatchBecomesOneWriteWithItsCheckpoint() throws {
        var runner = ProjectionRunner(definition: F.definition, checkpoint: .start)
        #expect(runner.nextAction(nowMilliseconds: 0) == .read(after: .start))
        #expect(runner.phase == .catchingUp)
        runner.receive(F.batch([F.event(0), F.event(1, "Ignored"), F.event(2, "Renamed", data: #"{"from":"k0","to":"z"}"#)], caughtUp: false, head: 10))
        let write = try #require(F.write(runner.nextAction(nowMilliseconds: 0)))
        #expect(write.eventCount == 3 && write.checkpoint == .after(2) && write.skipped == nil)
        #expect(write.statements == [
            BoundStatement(sql: "INSERT INTO totals VALUES (?1, ?2)", values: [.text("k0"), .integer(0)], eventIndex: 0),
            BoundStatement(sql: "UPDATE totals SET id = ?1 WHERE id = ?2", values: [.text("z"), .text("k0")], eventIndex: 2),
            BoundStatement(sql: "SELECT ?1", values: [.integer(2)], eventIndex: 2),
        ])
        #expect(runner.passedThrough == .start, "nothing is passed before the write commits")
        runner.committed()
        #expect(runner.passedThrough == .after(2) && runner.durableCheckpoint == .after(2))
        #expect(runner.nextAction(nowMilliseconds: 0) == .read(after: .after(2)))
        #expect(runner.phase == .catchingUp && runner.eventsFolded == 3)
    }

    @Test func ignoredEventsAdvanceThePositionWithoutAWrite() {
        var runner = ProjectionRunner(definition: F.definition, checkpoint: .after(2))
        // A filtered batch whose cursor moved past skipped positions, with no handled event.
        runner.receive(F.batch([F.event(4, "Other")], cursor: .after(7), caughtUp: false, head: 20))
        #expect(runner.nextAction(nowMilliseconds: 0) == .read(after: .after(7)))
        #expect(runner.passedThrough == .after(7) && runner.durableCheckpoint == .after(2), "memory only: no row changed")
        // A caught-up batch of a stream source passes every position below the head.
        runner.receive(F.batch([], cursor: .after(7), caughtUp: true, head: 20))
        #expect(runner.passedThrough == .after(19) && runner.phase == .running && runner.isCaughtUp)
        // An empty store: a caught-up batch at head 0 stays at the start.
        var empty = ProjectionRunner(definition: F.definition, checkpoint: .start)
        empty.receive(F.batch([], caughtUp: true, head: 0))
        #expect(empty.passedThrough == .start && empty.isCaughtUp)
    }

    @Test func aCaughtUpBatchEndsAtTheHeadOnceWritten() throws {
        var runner = ProjectionRunner(definition: F.definition, checkpoint: .start)
        runner.receive(F.batch([F.event(0), F.event(1)], caughtUp: true, head: 5))
        #expect(runner.phase == .running && !runner.isCaughtUp, "running, with the live batch not yet written")
        let write = try #require(F.write(runner.nextAction(nowMilliseconds: 0)))
        #expect(write.checkpoint == .after(4))
        runner.committed()
        #expect(runner.isCaughtUp && runner.passedThrough == .after(4))
    }

    @Test func aFailureMidBatchWritesThePrefixThenRetriesTheEventAloneThenParks() throws {
        var runner = ProjectionRunner(
            definition: F.definition, checkpoint: .start,
            retryPolicy: ProjectionRetryPolicy(maximumAttempts: 3, initialBackoffMilliseconds: 100, maximumBackoffMilliseconds: 150))
        runner.receive(F.batch([F.event(0), F.event(1), F.event(2), F.event(3)], caughtUp: false, head: 10))
        _ = runner.nextAction(nowMilliseconds: 1_000)
        runner.failed(eventIndex: 2, error: "UNIQUE constraint failed", nowMilliseconds: 1_000)
        // The events before the failing one are written again, without it.
        let prefix = try #require(F.write(runner.nextAction(nowMilliseconds: 1_000)))
        #expect(prefix.eventCount == 2 && prefix.checkpoint == .after(1) && prefix.statements.map(\.eventIndex) == [0, 1])
        runner.committed()
        #expect(runner.passedThrough == .after(1))
        // The failing event waits for its backoff, then is tried alone.
        #expect(runner.nextAction(nowMilliseconds: 1_050) == .sleep(untilMilliseconds: 1_100))
        let alone = try #require(F.write(runner.nextAction(nowMilliseconds: 1_100)))
        #expect(alone.eventCount == 1 && alone.checkpoint == .after(2) && alone.statements[0].values == [.text("k2"), .integer(2)])
        runner.failed(eventIndex: 0, error: "UNIQUE constraint failed", nowMilliseconds: 1_100)
        #expect(runner.retrying?.attempts == 2)
        #expect(runner.nextAction(nowMilliseconds: 1_100) == .sleep(untilMilliseconds: 1_250), "the backoff doubled, capped at 150")
        _ = runner.nextAction(nowMilliseconds: 1_250)
        runner.failed(eventIndex: 0, error: "UNIQUE constraint failed", nowMilliseconds: 1_250)
        let parked = ParkedEvent(stream: "s", revision: 2, position: 2, type: "Added", error: "UNIQUE constraint failed", attempts: 3)
        #expect(runner.parked == parked && runner.phase == .parked)
        #expect(runner.nextAction(nowMilliseconds: 9_999) == .awaitOperator(parked))
        #expect(runner.passedThrough == .after(1), "sequenced: nothing after the failed event is folded")
    }

    @Test func anOperatorRetryTriesAgainAndASkipStoresOnlyTheCheckpoint() throws {
        var runner = ProjectionRunner(
            definition: F.definition, checkpoint: .start, retryPolicy: ProjectionRetryPolicy(maximumAttempts: 1))
        #expect(throws: ProjectionCommandError.notParked) { try runner.skip() }
        runner.receive(F.batch([F.event(0), F.event(1)], cursor: .after(3), caughtUp: false, head: 10))
        _ = runner.nextAction(nowMilliseconds: 0)
        runner.failed(eventIndex: 0, error: "no such table: totals", nowMilliseconds: 0)
        #expect(runner.phase == .parked, "one attempt allowed: parked at once")
        try runner.retry(nowMilliseconds: 500)
        let again = try #require(F.write(runner.nextAction(nowMilliseconds: 500)))
        #expect(again.eventCount == 1 && again.checkpoint == .after(0))
        runner.failed(eventIndex: 0, error: "no such table: totals", nowMilliseconds: 500)
        #expect(runner.parked?.attempts == 1)
        try runner.skip()
        let skip = try #require(F.write(runner.nextAction(nowMilliseconds: 600)))
        #expect(skip.statements.isEmpty && skip.eventCount == 1 && skip.checkpoint == .after(0))
        #expect(skip.skipped?.position == 0 && skip.skipped?.error == "no such table: totals")
        runner.committed()
        #expect(runner.durableCheckpoint == .after(0) && runner.parked == nil && runner.retrying == nil)
        let rest = try #require(F.write(runner.nextAction(nowMilliseconds: 600)))
        #expect(rest.eventCount == 1 && rest.checkpoint == .after(3), "the rest of the batch, to the batch's cursor")
    }

    @Test func anEventWhoseDataIsNotJSONFailsLikeAStatement() throws {
        var runner = ProjectionRunner(definition: F.definition, checkpoint: .start, retryPolicy: ProjectionRetryPolicy(maximumAttempts: 2))
        runner.receive(F.batch([F.event(0), F.event(1, data: "not json"), F.event(2)], caughtUp: false, head: 3))
        let prefix = try #require(F.write(runner.nextAction(nowMilliseconds: 0)))
        #expect(prefix.eventCount == 1 && prefix.checkpoint == .after(0))
        runner.committed()
        #expect(runner.nextAction(nowMilliseconds: 0) == .sleep(untilMilliseconds: 100))
        #expect(runner.nextAction(nowMilliseconds: 100) == .awaitOperator(runner.parked!))
        #expect(runner.parked?.error.hasPrefix("the event's data is not valid JSON") == true)
        #expect(runner.parked?.position == 1 && runner.parked?.attempts == 2)
    }

    @Test func aRebuildReportsRebuildingUntilCaughtUp() {
        var runner = ProjectionRunner(definition: F.definition, checkpoint: .start, isRebuild: true)
        runner.receive(F.batch([F.event(0, "Other")], caughtUp: false, head: 9))
        _ = runner.nextAction(nowMilliseconds: 0)
        #expect(runner.phase == .rebuilding)
        runner.receive(F.batch([], cursor: .after(0), caughtUp: true, head: 9))
        #expect(runner.phase == .running && runner.isCaughtUp && runner.passedThrough == .after(8))
    }

    @Test func backoffDoublesAndIsCapped() {
        let policy = ProjectionRetryPolicy(maximumAttempts: 10, initialBackoffMilliseconds: 100, maximumBackoffMilliseconds: 1_000)
        #expect((1...6).map { policy.backoffMilliseconds(afterAttempt: $0) } == [100, 200, 400, 800, 1_000, 1_000])
        #expect(ProjectionRetryPolicy(maximumAttempts: 0).problems == ["maximumAttempts must be in 1...1000 (is 0)"])
        #expect(ProjectionLimits().problems.isEmpty)
    }
}
