import ChorusEventStore

/// How a wait for a position ended (issue 11, read-your-writes).
public enum WaitOutcome: Sendable, Hashable {
    /// The projection has passed the position: a query now reflects every event up to it.
    case reached(passedThrough: SubscriptionCursor)
    /// The projection is parked before the position: it will not get there
    /// without an operator, so the wait ends now instead of timing out.
    case stalled(ParkedEvent)
    /// The deadline came first; the projection was still moving.
    case timedOut(passedThrough: SubscriptionCursor)
}

/// The registry of callers waiting until a projection passes a position:
/// register with a deadline, and each advance, park or tick answers the
/// waits it decides, in registration order (the order is part of the
/// contract: deterministic, never a dictionary's).
///
/// A wait for a position the projection already passed is `reached` at once;
/// one registered while the projection is parked before it is `stalled` at
/// once. Waits are bounded (`maximumWaiters`): one more is refused rather
/// than queued without bound.
public struct PositionWaits: Sendable {
    public struct Ticket: Hashable, Sendable, Comparable {
        public let rawValue: UInt64
        public static func < (lhs: Ticket, rhs: Ticket) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public enum Registration: Sendable, Hashable {
        case decided(WaitOutcome)
        case waiting(Ticket)
        /// `maximumWaiters` waits are already registered.
        case refused(maximumWaiters: Int)
    }

    struct Entry: Sendable {
        var ticket: Ticket
        var position: GlobalPosition
        var deadlineMilliseconds: Int64
    }

    public let maximumWaiters: Int
    /// In ticket order.
    var entries: [Entry] = []
    var nextTicket: UInt64 = 0

    public init(maximumWaiters: Int = ProjectionLimits.default.maximumWaiters) {
        precondition(maximumWaiters > 0, "maximumWaiters must be positive")
        self.maximumWaiters = maximumWaiters
    }

    public var count: Int { entries.count }

    public mutating func register(
        position: GlobalPosition, deadlineMilliseconds: Int64, passedThrough: SubscriptionCursor, parked: ParkedEvent?
    ) -> Registration {
        if .after(position) <= passedThrough { return .decided(.reached(passedThrough: passedThrough)) }
        if let parked { return .decided(.stalled(parked)) }
        guard entries.count < maximumWaiters else { return .refused(maximumWaiters: maximumWaiters) }
        let ticket = Ticket(rawValue: nextTicket)
        nextTicket += 1
        entries.append(Entry(ticket: ticket, position: position, deadlineMilliseconds: deadlineMilliseconds))
        return .waiting(ticket)
    }

    /// The projection passed `passedThrough`: the waits it reached.
    public mutating func settle(through passedThrough: SubscriptionCursor) -> [(Ticket, WaitOutcome)] {
        take { .after($0.position) <= passedThrough ? .reached(passedThrough: passedThrough) : nil }
    }

    /// The projection parked (before every waiting position, since it has not passed them).
    public mutating func stall(on parked: ParkedEvent) -> [(Ticket, WaitOutcome)] {
        take { _ in .stalled(parked) }
    }

    /// The waits whose deadline is at or before `now`.
    public mutating func expire(nowMilliseconds now: Int64, passedThrough: SubscriptionCursor) -> [(Ticket, WaitOutcome)] {
        take { $0.deadlineMilliseconds <= now ? .timedOut(passedThrough: passedThrough) : nil }
    }

    /// The earliest deadline still waiting, for the edge's timer.
    public var earliestDeadlineMilliseconds: Int64? { entries.map(\.deadlineMilliseconds).min() }

    /// A waiter that went away (its request was cancelled): forget it.
    public mutating func cancel(_ ticket: Ticket) {
        entries.removeAll { $0.ticket == ticket }
    }

    private mutating func take(_ decide: (Entry) -> WaitOutcome?) -> [(Ticket, WaitOutcome)] {
        var decided: [(Ticket, WaitOutcome)] = []
        entries.removeAll { entry in
            guard let outcome = decide(entry) else { return false }
            decided.append((entry.ticket, outcome))
            return true
        }
        return decided
    }
}
