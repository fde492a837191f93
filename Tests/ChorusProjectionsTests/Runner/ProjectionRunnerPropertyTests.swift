import ChorusCore
import ChorusEventStore
import Testing

@testable import ChorusProjections

/// The runner against a dumb reference, on seeded random histories: events
/// arrive in random batches (some filtered out, some not handled), writes
/// fail at random events (some of them forever, which parks the projection
/// until an operator skips them). Whatever happens, the committed writes fold
/// every handled event exactly once, in position order, except the skipped
/// ones; no write is lost or repeated; the position never goes back, never
/// passes an event not yet folded (so no wait is answered early), and ends at
/// the head.
@Suite struct ProjectionRunnerPropertyTests {
    @Test func everyHandledEventIsFoldedExactlyOnceInOrderExceptSkippedOnes() {
        for seed in UInt64(1)...300 {
            var random = SeededGenerator(seed: seed)
            let head = UInt64.random(in: 1...60, using: &random)
            // Positions in the source (a filter skips the rest) and their types.
            var source: [RecordedEvent] = []
            for position in 0..<head where random.chance(0.7) {
                source.append(RunnerFixtures.event(position, random.chance(0.8) ? "Added" : "Other"))
            }
            let poisoned = Set(source.filter { _ in random.chance(0.05) }.map(\.position))
            var runner = ProjectionRunner(
                definition: RunnerFixtures.definition, checkpoint: .start,
                retryPolicy: ProjectionRetryPolicy(maximumAttempts: 3, initialBackoffMilliseconds: 1, maximumBackoffMilliseconds: 4))
            var folded: [GlobalPosition] = []
            var skipped: [GlobalPosition] = []
            var now: Int64 = 0
            var steps = 0
            var previous = runner.passedThrough
            var wentBack = false
            var passedTooFar = false
            while steps < 10_000 {
                steps += 1
                now += 1
                switch runner.nextAction(nowMilliseconds: now) {
                case .read(let cursor):
                    let next = Self.next(cursor)
                    if next >= head { break }
                    let remaining = source.filter { $0.position.rawValue >= next }
                    let count = Int.random(in: 1...8, using: &random)
                    let taken = Array(remaining.prefix(count))
                    let caughtUp = taken.count == remaining.count
                    // A filtered cursor may run ahead of the last event it returns.
                    var cursorAfter = cursor
                    if let last = taken.last {
                        let limit = (caughtUp ? head : remaining[taken.count].position.rawValue) - 1
                        cursorAfter = .after(GlobalPosition(UInt64.random(in: last.position.rawValue...limit, using: &random)))
                    }
                    runner.receive(SubscriptionBatch(events: taken, cursor: cursorAfter, isCaughtUp: caughtUp, headPosition: GlobalPosition(head)))
                case .write(let write):
                    let events = write.statements.map(\.eventIndex)
                    if let failing = write.statements.first(where: { poisoned.contains(GlobalPosition(UInt64(Self.position(of: $0)))) }),
                        write.skipped == nil, random.chance(0.9)
                    {
                        runner.failed(eventIndex: failing.eventIndex, error: "poisoned", nowMilliseconds: now)
                    } else if write.skipped == nil, let any = events.randomElement(using: &random), random.chance(0.05) {
                        runner.failed(eventIndex: any, error: "transient", nowMilliseconds: now)
                    } else {
                        if let skip = write.skipped { skipped.append(skip.position) }
                        folded += Self.positions(write)
                        runner.committed()
                    }
                case .sleep(let until):
                    now = until
                case .awaitOperator(let parked):
                    #expect(poisoned.contains(parked.position), "seed \(seed): parked on a healthy event \(parked)")
                    try! runner.skip()
                }
                if runner.passedThrough < previous { wentBack = true }
                if runner.passedThrough != previous {
                    // A wait answered now must be true: every handled event up to the position is folded.
                    let passed = Self.next(runner.passedThrough)
                    let done = Set(folded + skipped)
                    if source.contains(where: { $0.type == "Added" && $0.position.rawValue < passed && !done.contains($0.position) }) {
                        passedTooFar = true
                    }
                }
                previous = runner.passedThrough
                if runner.isCaughtUp && runner.passedThrough == .after(GlobalPosition(head - 1)) { break }
            }
            #expect(!wentBack, "seed \(seed): the position went back")
            #expect(!passedTooFar, "seed \(seed): the position passed an event that was not folded")
            let expected = source.filter { $0.type == "Added" && !skipped.contains($0.position) }.map(\.position)
            #expect(folded == expected, "seed \(seed): folded \(folded), expected \(expected)")
            #expect(Set(skipped).isSubset(of: poisoned), "seed \(seed)")
            #expect(runner.passedThrough == .after(GlobalPosition(head - 1)), "seed \(seed): ended at \(runner.passedThrough), head \(head)")
            if folded != expected || passedTooFar || wentBack { print("failing seed: \(seed)"); return }
        }
    }

    static func next(_ cursor: SubscriptionCursor) -> UInt64 {
        if case .after(let position) = cursor { position.rawValue + 1 } else { 0 }
    }

    /// The event position an `Added` statement binds (`INSERT … VALUES (:data.id, :data.n)`: n is the position).
    static func position(of statement: BoundStatement) -> Int64 {
        if case .integer(let value) = statement.values[1] { value } else { -1 }
    }

    static func positions(_ write: ProjectionWrite) -> [GlobalPosition] {
        write.statements.map { GlobalPosition(UInt64(position(of: $0))) }
    }
}
