/// What an append (or a delete, or a check-only condition) requires of its
/// stream before it takes effect: optimistic concurrency control, as in
/// KurrentDB's `ExpectedRevision`.
public enum ExpectedState: Hashable, Sendable, CustomStringConvertible {
    /// No requirement (only a tombstone refuses an append).
    case any
    /// The stream has no events: it never had any, or it was soft-deleted.
    case noStream
    /// The stream has events and is not soft-deleted.
    case streamExists
    /// The stream's last revision is exactly this one (a soft-deleted stream
    /// whose last revision, before the delete, was this one also matches, as in
    /// KurrentDB: the append continues the numbering).
    case revision(StreamRevision)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no_stream"
        case .streamExists: "stream_exists"
        case .revision(let revision): "revision \(revision.rawValue)"
        }
    }

    /// Whether a stream in `state` satisfies this expectation.
    func isSatisfied(by state: ActualStreamState) -> Bool {
        switch (self, state) {
        case (_, .tombstoned): false
        case (.any, _): true
        case (.noStream, .absent), (.noStream, .softDeleted): true
        case (.noStream, .revision): false
        case (.streamExists, .revision): true
        case (.streamExists, _): false
        case (.revision(let expected), .revision(let actual)): expected == actual
        case (.revision(let expected), .softDeleted(let lastRevision)): expected == lastRevision
        case (.revision, .absent): false
        }
    }
}

/// The state a stream is in, as an expected-state check sees it; the `actual`
/// of a `wrongExpectedVersion` failure.
public enum ActualStreamState: Hashable, Sendable, CustomStringConvertible {
    /// No events were ever appended (metadata alone does not make a stream exist).
    case absent
    /// The stream exists and its last revision is this one.
    case revision(StreamRevision)
    /// The stream was soft-deleted; its last revision before the delete was this
    /// one, and the next append continues after it.
    case softDeleted(lastRevision: StreamRevision)
    /// The stream was hard-deleted: nothing can be appended, read or subscribed.
    case tombstoned

    public var description: String {
        switch self {
        case .absent: "no_stream"
        case .revision(let revision): "revision \(revision.rawValue)"
        case .softDeleted(let lastRevision): "soft-deleted after revision \(lastRevision.rawValue)"
        case .tombstoned: "deleted"
        }
    }
}
