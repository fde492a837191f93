import ChorusEventStore

/// The decisions of one projection's runner, sans-IO (DESIGN.md §3): which
/// batch to read, which transaction to write, when to retry a failing event,
/// when to park, and how far the projection has passed. The edge does the
/// reading (the node's catch-up batches), the writing (SQLite) and the
/// sleeping, and reports back; time arrives as milliseconds on the edge's
/// monotonic clock.
///
///     ┌──────── read(after: passedThrough) ◀───────────────┐
///     ▼                                                    │ committed()
///  receive(batch) ─▶ write(events + checkpoint) ─▶ edge ───┤
///                          ▲                              │ failed(eventIndex:)
///                          │ sleep(backoff)               ▼
///                          └──── retry the event alone ◀── attempts < maximum
///                                                         │ attempts == maximum
///                                                         ▼
///                                    parked ── operator retry / skip ──▶ write
///
/// **Position.** `passedThrough` is the cursor up to which every position of
/// `$all` is accounted for: folded, or not in the source. It moves past
/// events the source skips (the filtered cursor of `$all`, and the head of a
/// caught-up batch for a stream source), so a wait for a position never
/// hangs on an event this projection ignores. It only ascends.
/// `durableCheckpoint` is the part of it stored with the rows; it trails
/// `passedThrough` only across events that wrote nothing, so restarting from
/// it re-reads them and changes no row.
///
/// **Failures.** A batch is written as one transaction. When a statement of
/// event k fails, the transaction rolls back; the events before k are
/// written again without it, and event k is retried alone with backoff
/// (`ProjectionRetryPolicy`), at most `maximumAttempts` attempts in all, then
/// the runner parks with the event, the error and the position. Parking is
/// sequenced: the failed event and everything after it wait (the later events
/// of the same stream, and every other), so the read model never reflects a
/// later event of a stream without an earlier one. An operator's `retry()`
/// tries again (a fix deployed in between); `skip()` stores the checkpoint
/// past the event without its statements.
public struct ProjectionRunner: Sendable {
    public let definition: ProjectionDefinition
    public let retryPolicy: ProjectionRetryPolicy
    /// A runner that builds a fresh generation: its phase is `rebuilding` until it catches up.
    public let isRebuild: Bool
    public private(set) var passedThrough: SubscriptionCursor
    public private(set) var durableCheckpoint: SubscriptionCursor
    /// The latest batch read was the head of the source.
    public private(set) var lastBatchWasCaughtUp = false
    /// Events folded (statements run) since this runner started.
    public private(set) var eventsFolded: UInt64 = 0
    public private(set) var parked: ParkedEvent?

    /// Handlers by event type (a lookup per event; never iterated).
    let handlers: [String: ProjectionHandler]
    var pending: [RecordedEvent] = []
    /// Where the pending batch ends (its checkpoint once all of it is written).
    var pendingCursor: SubscriptionCursor
    var inFlight: InFlight?
    var failure: Failure?
    var skipRequested = false

    enum InFlight: Sendable, Hashable {
        case write(eventCount: Int, checkpoint: SubscriptionCursor)
    }

    struct Failure: Sendable, Hashable {
        var position: GlobalPosition
        var attempts: Int
        var message: String
        var retryAtMilliseconds: Int64
    }

    /// A runner resuming from `checkpoint` (what the edge stored with the rows).
    public init(definition: ProjectionDefinition, checkpoint: SubscriptionCursor, isRebuild: Bool = false, retryPolicy: ProjectionRetryPolicy = .default) {
        precondition(retryPolicy.problems.isEmpty, "retry policy: \(retryPolicy.problems.joined(separator: "; "))")
        self.definition = definition
        self.retryPolicy = retryPolicy
        self.isRebuild = isRebuild
        self.passedThrough = checkpoint
        self.durableCheckpoint = checkpoint
        self.pendingCursor = checkpoint
        self.handlers = Dictionary(definition.handlers.map { ($0.eventType, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var phase: ProjectionPhase {
        if parked != nil { return .parked }
        if isCaughtUp { return .running }
        if isRebuild { return .rebuilding }
        return lastBatchWasCaughtUp ? .running : .catchingUp
    }

    /// Everything the source held at the latest read is folded: a rebuild may swap in.
    public var isCaughtUp: Bool { lastBatchWasCaughtUp && pending.isEmpty && inFlight == nil && parked == nil }

    /// The failing event's current attempt count and error, while it is being retried.
    public var retrying: (position: GlobalPosition, attempts: Int, error: String)? {
        failure.map { ($0.position, $0.attempts, $0.message) }
    }

    // MARK: Decisions

    /// What the edge should do now. Call it again after reporting each outcome.
    public mutating func nextAction(nowMilliseconds now: Int64) -> ProjectionAction {
        precondition(inFlight == nil, "nextAction while a write is in flight: report committed() or failed() first")
        while true {
            if let parked { return .awaitOperator(parked) }
            if pending.isEmpty { return .read(after: passedThrough) }
            if skipRequested {
                skipRequested = false
                let event = pending[0]
                let skipped = ParkedEvent(
                    stream: event.stream, revision: event.revision, position: event.position, type: event.type,
                    error: failure?.message ?? "skipped by an operator", attempts: failure?.attempts ?? 0)
                let write = ProjectionWrite(statements: [], checkpoint: checkpoint(afterWriting: 1), eventCount: 1, skipped: skipped)
                inFlight = .write(eventCount: 1, checkpoint: write.checkpoint)
                return .write(write)
            }
            var limit = pending.count
            if let failure {
                if pending[0].position == failure.position {
                    if now < failure.retryAtMilliseconds { return .sleep(untilMilliseconds: failure.retryAtMilliseconds) }
                    limit = 1
                } else if let index = pending.firstIndex(where: { $0.position == failure.position }) {
                    limit = index
                }
            }
            var statements: [BoundStatement] = []
            var bindingFailure: (index: Int, message: String)?
            for index in 0..<limit {
                do {
                    try bind(pending[index], eventIndex: index, into: &statements)
                } catch {
                    bindingFailure = (index, error.message)
                    break
                }
            }
            if let bindingFailure {
                statements.removeAll { $0.eventIndex >= bindingFailure.index }
                note(failureOf: pending[bindingFailure.index], message: bindingFailure.message, now: now)
                limit = bindingFailure.index
                if limit == 0 { continue }
            }
            let target = checkpoint(afterWriting: limit)
            if statements.isEmpty {
                // Nothing to write: the events only move the position, in memory.
                fold(count: limit, checkpoint: target, durable: false)
                continue
            }
            inFlight = .write(eventCount: limit, checkpoint: target)
            return .write(ProjectionWrite(statements: statements, checkpoint: target, eventCount: limit))
        }
    }

    /// The next batch of the source, read after `passedThrough`.
    public mutating func receive(_ batch: SubscriptionBatch) {
        precondition(pending.isEmpty && inFlight == nil, "a batch arrived while the previous one is being written")
        precondition(parked == nil, "a batch arrived while parked")
        var end = max(batch.cursor, passedThrough)
        if batch.isCaughtUp && batch.headPosition.rawValue > 0 {
            // The read saw every position below the head: the ones not in the
            // batch are not in the source.
            end = max(end, .after(GlobalPosition(batch.headPosition.rawValue - 1)))
        }
        let fresh = batch.events.filter { .after($0.position) > passedThrough }
        precondition(fresh.allSatisfy { .after($0.position) <= end }, "a batch event lies beyond the batch's own cursor")
        lastBatchWasCaughtUp = batch.isCaughtUp
        pending = fresh
        pendingCursor = end
        if pending.isEmpty { passedThrough = end }
    }

    /// The write in flight committed: its rows and checkpoint are durable.
    public mutating func committed() {
        guard case .write(let count, let target) = inFlight else { preconditionFailure("committed() without a write in flight") }
        inFlight = nil
        if let failure, pending.prefix(count).contains(where: { $0.position == failure.position }) { self.failure = nil }
        fold(count: count, checkpoint: target, durable: true)
    }

    /// The write in flight rolled back because a statement of event
    /// `eventIndex` (0-based within the write) failed with `error`.
    public mutating func failed(eventIndex: Int, error: String, nowMilliseconds now: Int64) {
        guard case .write(let count, _) = inFlight else { preconditionFailure("failed() without a write in flight") }
        precondition(eventIndex >= 0 && eventIndex < count, "failed(eventIndex: \(eventIndex)) outside the write's \(count) events")
        inFlight = nil
        note(failureOf: pending[eventIndex], message: error, now: now)
    }

    // MARK: Operator

    /// Tries the parked event again now, with a fresh count of attempts.
    public mutating func retry(nowMilliseconds now: Int64) throws(ProjectionCommandError) {
        guard let parked else { throw .notParked }
        self.parked = nil
        failure = Failure(position: parked.position, attempts: 0, message: parked.error, retryAtMilliseconds: now)
    }

    /// Passes the parked event without its statements (the checkpoint moves past it, durably).
    public mutating func skip() throws(ProjectionCommandError) {
        guard parked != nil else { throw .notParked }
        parked = nil
        skipRequested = true
    }

    // MARK: Internals

    private func checkpoint(afterWriting count: Int) -> SubscriptionCursor {
        count == pending.count ? pendingCursor : .after(pending[count - 1].position)
    }

    private mutating func fold(count: Int, checkpoint target: SubscriptionCursor, durable: Bool) {
        precondition(count >= 1 && count <= pending.count, "fold of \(count) of \(pending.count) pending events")
        precondition(target >= passedThrough, "the position went back from \(passedThrough) to \(target)")
        eventsFolded += UInt64(count)
        pending.removeFirst(count)
        if let failure, !pending.contains(where: { $0.position == failure.position }) { self.failure = nil }
        passedThrough = target
        if durable { durableCheckpoint = target }
    }

    private mutating func note(failureOf event: RecordedEvent, message: String, now: Int64) {
        let attempts = (failure?.position == event.position ? failure!.attempts : 0) + 1
        if attempts >= retryPolicy.maximumAttempts {
            failure = Failure(position: event.position, attempts: attempts, message: message, retryAtMilliseconds: now)
            parked = ParkedEvent(
                stream: event.stream, revision: event.revision, position: event.position, type: event.type, error: message,
                attempts: attempts)
            return
        }
        failure = Failure(
            position: event.position, attempts: attempts, message: message,
            retryAtMilliseconds: now + retryPolicy.backoffMilliseconds(afterAttempt: attempts))
    }

    private func bind(_ event: RecordedEvent, eventIndex: Int, into statements: inout [BoundStatement]) throws(BindingError) {
        guard let handler = handlers[event.type] else { return }
        var binder = EventBinder(event: event)
        for statement in handler.statements {
            var values: [ProjectionValue] = []
            values.reserveCapacity(statement.parameters.count)
            for parameter in statement.parameters { values.append(try binder.value(of: parameter)) }
            statements.append(BoundStatement(sql: statement.sql.text, values: values, eventIndex: eventIndex))
        }
    }
}
