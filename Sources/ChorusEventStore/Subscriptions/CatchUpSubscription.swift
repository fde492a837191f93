import ChorusCore
/// Catch-up subscriptions, as a pure function of the applied state: given a
/// source and the cursor after the last event delivered, the next batch and
/// whether the subscriber has caught up.
///
/// The node drives a subscription with it: batches until `isCaughtUp`, then a
/// caught-up marker, then live, calling it again after each apply that may
/// have added events. Because the cursor is a global position and positions
/// only ascend, batches taken from the returned cursors never repeat an event
/// and never skip one, whether the subscriber is catching up or live; a slow
/// subscriber simply asks from an older cursor, which is catching up again
/// (no buffering on the node, no drop). The returned cursor is the
/// subscription's checkpoint: for a filtered `$all` it moves past the events
/// the filter skipped, so a checkpoint (and a wait for a position) never
/// stalls on events the subscriber does not want.
///
/// What a subscriber sees is what a read would show at each batch: a stream
/// subscription sees the stream's visible events (events hidden by a delete
/// or a retention rule before it reached them are skipped); a tombstone ends
/// it with `streamDeleted`. A `$all` subscription sees every retained event
/// its filter matches.
extension EventStore {
    public func subscriptionBatch(source: SubscriptionSource, after cursor: SubscriptionCursor, maximumCount: Int)
        -> SubscriptionBatchResult
    {
        let limit = clampedCount(maximumCount)
        switch source {
        case .stream(let name):
            guard let number = streamNumber(name) else {
                return .batch(SubscriptionBatch(events: [], cursor: cursor, isCaughtUp: true, headPosition: headPosition))
            }
            let stream = streams[Int(number)]
            if stream.status == .tombstoned { return .streamDeleted(name) }
            guard stream.isReadable else {
                return .batch(SubscriptionBatch(events: [], cursor: cursor, isCaughtUp: true, headPosition: headPosition))
            }
            let end = stream.nextRevision
            var low = visibleStart(of: stream)
            var high = end
            let wanted = cursor.nextPosition.rawValue
            while low < high {
                let middle = low + (high - low) / 2
                if log[stream.slot(ofRevision: middle)!].position < wanted { low = middle + 1 } else { high = middle }
            }
            let stop = low + Swift.min(UInt64(limit), end - low)
            var events: [RecordedEvent] = []
            events.reserveCapacity(Int(stop - low))
            for revision in low..<stop { events.append(recordedEvent(at: stream.slot(ofRevision: revision)!)) }
            var next = events.last.map { SubscriptionCursor.after($0.position) } ?? cursor
            if injectedBug == .subscriptionSkipsBoundary && stop == end && !events.isEmpty {
                // The negative control: the cursor of a caught-up batch jumps
                // past the head, over the first event appended after it.
                next = .after(headPosition)
            }
            return .batch(SubscriptionBatch(events: events, cursor: next, isCaughtUp: stop == end, headPosition: headPosition))
        case .all(let filter):
            let request = AllReadRequest(direction: .forwards, from: .position(cursor.nextPosition), maximumCount: limit, filter: filter)
            switch readAll(request) {
            case .invalidFilter(let problem):
                return .invalid(problem)
            case .events(let page):
                var next = page.scannedThrough.map { SubscriptionCursor.after($0) } ?? cursor
                if injectedBug == .subscriptionSkipsBoundary && page.nextPosition == nil && !page.events.isEmpty {
                    next = .after(headPosition)
                }
                return .batch(
                    SubscriptionBatch(events: page.events, cursor: next, isCaughtUp: page.nextPosition == nil, headPosition: headPosition))
            }
        }
    }

    /// The cursor of a stream subscription that has seen revisions up to
    /// `revision` (a client resuming from a revision), or nil when that
    /// revision is beyond the stream's end.
    public func cursor(stream name: StreamName, afterRevision revision: StreamRevision) -> SubscriptionCursor? {
        guard let number = streamNumber(name) else { return nil }
        let stream = streams[Int(number)]
        guard revision.rawValue < stream.nextRevision else { return nil }
        // Everything before the first visible revision is invisible: start there.
        if revision.rawValue < visibleStart(of: stream) { return .start }
        return .after(GlobalPosition(log[stream.slot(ofRevision: revision.rawValue)!].position))
    }
}

public enum SubscriptionBatchResult: Hashable, Sendable {
    case batch(SubscriptionBatch)
    /// The stream is tombstoned: the subscription ends.
    case streamDeleted(StreamName)
    /// The filter is refused.
    case invalid(String)
}

public struct SubscriptionBatch: Hashable, Sendable {
    public var events: [RecordedEvent]
    /// Pass it as `after` for the next batch; it is also the checkpoint.
    public var cursor: SubscriptionCursor
    /// True when nothing after `cursor` exists yet in the applied state.
    public var isCaughtUp: Bool
    public var headPosition: GlobalPosition

    public init(events: [RecordedEvent], cursor: SubscriptionCursor, isCaughtUp: Bool, headPosition: GlobalPosition) {
        self.events = events
        self.cursor = cursor
        self.isCaughtUp = isCaughtUp
        self.headPosition = headPosition
    }
}
