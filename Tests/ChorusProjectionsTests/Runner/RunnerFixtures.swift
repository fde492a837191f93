import ChorusCore
import ChorusEventStore

@testable import ChorusProjections

/// Events, batches and a small definition for the runner's tests.
enum RunnerFixtures {
    static let definition = try! ProjectionDefinition(
        name: "totals", version: 1, source: .all(eventTypePrefixes: []), schema: ["CREATE TABLE totals (id TEXT PRIMARY KEY, n INTEGER)"],
        handlers: [
            try! ProjectionHandler(eventType: "Added", statements: ["INSERT INTO totals VALUES (:data.id, :data.n)"]),
            try! ProjectionHandler(eventType: "Renamed", statements: ["UPDATE totals SET id = :data.to WHERE id = :data.from", "SELECT :position"]),
        ],
        queries: [])

    static func event(_ position: UInt64, _ type: String = "Added", stream: String = "s", revision: UInt64? = nil, data: String? = nil,
                      contentType: ContentType = .json) -> RecordedEvent {
        RecordedEvent(
            stream: StreamName(stream), revision: StreamRevision(revision ?? position), position: GlobalPosition(position),
            id: EventID(bytes: Array(repeating: UInt8(truncatingIfNeeded: position), count: 16))!, type: type,
            data: Array((data ?? #"{"id":"k\#(position)","n":\#(position)}"#).utf8), metadata: [], contentType: contentType,
            schemaVersion: 1, recordedTime: RecordedTime(microsecondsSinceEpoch: Int64(position) * 1_000_000))
    }

    static func batch(_ events: [RecordedEvent], cursor: SubscriptionCursor? = nil, caughtUp: Bool, head: UInt64) -> SubscriptionBatch {
        SubscriptionBatch(
            events: events, cursor: cursor ?? events.last.map { .after($0.position) } ?? .start, isCaughtUp: caughtUp,
            headPosition: GlobalPosition(head))
    }

    static func write(_ action: ProjectionAction) -> ProjectionWrite? {
        if case .write(let write) = action { write } else { nil }
    }
}
