import ChorusEventStore

/// What a projection is doing, as `GET /v1/projections` shows it.
public enum ProjectionPhase: String, Sendable, Hashable, CaseIterable {
    /// Reading history: its last batch did not reach the head.
    case catchingUp = "catching_up"
    /// Within one batch of the head, folding live events.
    case running
    /// Building a fresh generation (a version bump or an operator's rebuild)
    /// while the previous one serves queries.
    case rebuilding
    /// Stopped on an event whose handler kept failing; waits for an operator.
    case parked
}

/// The event a projection is parked on, with the error and the attempts, so
/// the operator sees exactly what failed where (and a failure never stalls
/// silently).
public struct ParkedEvent: Sendable, Hashable, CustomStringConvertible {
    public var stream: StreamName
    public var revision: StreamRevision
    public var position: GlobalPosition
    public var type: String
    public var error: String
    public var attempts: Int

    public init(stream: StreamName, revision: StreamRevision, position: GlobalPosition, type: String, error: String, attempts: Int) {
        self.stream = stream
        self.revision = revision
        self.position = position
        self.type = type
        self.error = error
        self.attempts = attempts
    }

    public var description: String {
        "\(type) at \(position) (\(stream.text)@\(revision.rawValue)) after \(attempts) attempts: \(error)"
    }
}
