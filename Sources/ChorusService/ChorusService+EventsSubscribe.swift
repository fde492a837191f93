import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusEventStore
import ChorusReplica

/// Starting catch-up subscriptions. The start is resolved and checked here,
/// before the first event is sent, so a front end can refuse a bogus resume
/// point (`invalid_position`, `invalid_revision`) with a plain error response
/// instead of a broken stream.
extension ChorusService {
    public func subscribe(_ request: SubscribeRequest, caller: Caller) async throws(ServiceError) -> EventSubscription {
        try authorize(caller, .streamSubscribe, .stream(request.source.streamName.text))
        if case .stream(let stream) = request.source { try validateReadable(stream) }
        var requirement = request.consistency.requirement
        var appliedIndex = LogIndex.zero
        let cursor: SubscriptionCursor
        switch request.start {
        case .start:
            cursor = .start
        case .end:
            let (head, applied) = try await headPosition(requirement: requirement)
            appliedIndex = applied
            cursor = head.rawValue == 0 ? .start : .after(GlobalPosition(head.rawValue - 1))
        case .afterPosition(let position):
            let (head, applied) = try await headPosition(requirement: requirement)
            appliedIndex = applied
            guard position < head else {
                var error = ServiceError(
                    .invalidPosition,
                    "position \(position.rawValue) is not before the head: the store has assigned positions 0..<\(head.rawValue)")
                error.appliedIndex = applied
                throw error
            }
            cursor = .after(position)
        case .afterRevision(let revision):
            guard case .stream(let stream) = request.source else {
                throw ServiceError(.invalidRevision, "$all subscriptions resume from a position, not a revision")
            }
            (cursor, appliedIndex) = try await resumeCursor(of: stream, afterRevision: revision, requirement: requirement)
        }
        if appliedIndex != .zero { requirement = .appliedAtLeast(appliedIndex) }
        return EventSubscription(
            source: request.source, start: cursor, firstRequirement: requirement, appliedIndex: appliedIndex,
            proposer: eventStore.proposer, options: eventStore.options, metrics: eventStore.metrics)
    }

    /// The position the next appended event will get.
    func headPosition(requirement: ReadRequirement) async throws(ServiceError) -> (GlobalPosition, LogIndex) {
        let (answer, appliedIndex) = try await eventStore.proposer.read(
            .readAll(AllReadRequest(from: .end, maximumCount: 0, filter: .everything)), requirement: requirement)
        guard case .all(.events(let page)) = answer else { throw Self.misanswered("a head read") }
        return (page.headPosition, appliedIndex)
    }

    /// The cursor of a subscriber that has seen `stream` up to `revision`.
    func resumeCursor(of stream: StreamName, afterRevision revision: StreamRevision, requirement: ReadRequirement)
        async throws(ServiceError) -> (SubscriptionCursor, LogIndex)
    {
        let (info, infoApplied) = try await eventStore.proposer.read(.streamInfo(stream), requirement: requirement)
        guard case .streamInfo(let found) = info else { throw Self.misanswered("a stream-info read") }
        guard let found, revision < found.nextRevision else {
            throw ServiceError(
                .invalidRevision,
                "the stream \(stream.text) has no revision \(revision.rawValue) (its next revision is \(found?.nextRevision.rawValue ?? 0))")
        }
        if found.state == .tombstoned { throw ServiceError(refusal: .streamDeleted(stream)) }
        let read = StreamReadRequest(stream: stream, from: .revision(revision), maximumCount: 1)
        let (answer, applied) = try await eventStore.proposer.read(.readStream(read), requirement: .appliedAtLeast(infoApplied))
        guard case .stream(let result) = answer else { throw Self.misanswered("a stream read") }
        switch result {
        case .events(let page):
            guard let first = page.events.first else { return (.start, applied) }
            if first.revision == revision { return (.after(first.position), applied) }
            // The revision is hidden (deleted or truncated): resume just before the first visible one.
            return (first.position.rawValue == 0 ? .start : .after(GlobalPosition(first.position.rawValue - 1)), applied)
        case .streamNotFound:
            // Everything up to the revision is hidden (a soft delete): every event
            // the stream will show comes after it.
            return (.start, applied)
        case .streamDeleted:
            throw ServiceError(refusal: .streamDeleted(stream))
        case .asOfNotRetained:
            throw Self.misanswered("a stream read without as-of")
        }
    }
}
