import ChorusCore
import ChorusEventStore
import ChorusProjections
import Foundation

@testable import ChorusReadModels

/// A temporary directory, a small definition, and events to fold.
enum ReadModelFixtures {
    static func definition(version: Int = 1, extraQueries: [ProjectionQuery] = []) -> ProjectionDefinition {
        try! ProjectionDefinition(
            name: "balances", version: version, source: .category("account"),
            schema: ["CREATE TABLE balance (account TEXT PRIMARY KEY, cents INTEGER NOT NULL CHECK (cents >= 0), last_position INTEGER NOT NULL)"],
            handlers: [
                try! ProjectionHandler(eventType: "Opened", statements: ["INSERT INTO balance VALUES (:stream, 0, :position)"]),
                try! ProjectionHandler(
                    eventType: "Moved",
                    statements: ["UPDATE balance SET cents = cents + :data.cents, last_position = :position WHERE account = :stream"]),
            ],
            queries: [
                try! ProjectionQuery(name: "one", sql: "SELECT account, cents FROM balance WHERE account = :account", parameters: [.init(name: "account", type: .text)]),
                try! ProjectionQuery(name: "all", sql: "SELECT account, cents FROM balance ORDER BY account", parameters: []),
            ] + extraQueries)
    }

    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "chorus-readmodels-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    static func event(_ position: UInt64, _ type: String, stream: String, cents: Int = 0) -> RecordedEvent {
        RecordedEvent(
            stream: StreamName(stream), revision: StreamRevision(position), position: GlobalPosition(position),
            id: EventID(high: 0, low: position), type: type, data: Array(#"{"cents":\#(cents)}"#.utf8), metadata: [],
            contentType: .json, schemaVersion: 1, recordedTime: RecordedTime(microsecondsSinceEpoch: Int64(position)))
    }

    /// A whole write of `events` (through the runner, so statements are bound as in production).
    static func write(_ events: [RecordedEvent], definition: ProjectionDefinition, from checkpoint: SubscriptionCursor = .start) -> ProjectionWrite {
        var runner = ProjectionRunner(definition: definition, checkpoint: checkpoint)
        runner.receive(SubscriptionBatch(events: events, cursor: .after(events.last!.position), isCaughtUp: false, headPosition: 1_000))
        guard case .write(let write) = runner.nextAction(nowMilliseconds: 0) else { preconditionFailure("expected a write") }
        return write
    }
}

/// An in-memory list of events served as catch-up batches, as the node's store would.
final class ListFeed: Sendable {
    let events: [RecordedEvent]
    let batchSize: Int
    init(_ events: [RecordedEvent], batchSize: Int = 3) {
        self.events = events
        self.batchSize = batchSize
    }

    var reader: ProjectionWorker.BatchReader {
        { [events, batchSize] _, cursor, live in
            let next: UInt64 = if case .after(let position) = cursor { position.rawValue + 1 } else { 0 }
            let remaining = events.filter { $0.position.rawValue >= next }
            if remaining.isEmpty && live {
                try await Task.sleep(for: .milliseconds(5))
                return nil
            }
            let taken = Array(remaining.prefix(batchSize))
            let head = GlobalPosition((events.last?.position.rawValue ?? 0) + 1)
            return SubscriptionBatch(
                events: taken, cursor: taken.last.map { .after($0.position) } ?? cursor, isCaughtUp: taken.count == remaining.count,
                headPosition: events.isEmpty ? .zero : head)
        }
    }
}
