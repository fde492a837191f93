import ChorusEventStore

/// How far a projection is behind the head of the store (issue 11:
/// `chorus_projection_lag_events`, `chorus_projection_lag_seconds`).
///
/// - events: positions of `$all` the projection has not passed (the ones its
///   source skips count until it passes them, which it does at its next read);
/// - seconds: how long the oldest of them has been recorded, against `now`
///   (0 when none), so a parked projection's lag keeps growing instead of
///   looking current.
public struct ProjectionLag: Sendable, Hashable {
    public var eventsBehind: UInt64
    public var secondsBehind: Double

    public init(eventsBehind: UInt64, secondsBehind: Double) {
        self.eventsBehind = eventsBehind
        self.secondsBehind = secondsBehind
    }

    /// `firstUnpassedRecordedTime`: the recorded time of the event at the
    /// first position not passed (nil when there is none).
    public static func measure(
        passedThrough: SubscriptionCursor, headPosition: GlobalPosition, firstUnpassedRecordedTime: RecordedTime?, now: RecordedTime
    ) -> ProjectionLag {
        let next: UInt64
        switch passedThrough {
        case .start: next = 0
        case .after(let position): next = position.rawValue + 1
        }
        let behind = headPosition.rawValue > next ? headPosition.rawValue - next : 0
        guard behind > 0, let first = firstUnpassedRecordedTime else { return ProjectionLag(eventsBehind: behind, secondsBehind: 0) }
        let microseconds = max(0, now.microsecondsSinceEpoch - first.microsecondsSinceEpoch)
        return ProjectionLag(eventsBehind: behind, secondsBehind: Double(microseconds) / 1_000_000)
    }
}
