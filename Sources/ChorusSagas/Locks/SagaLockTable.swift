import ChorusCore

/// Semantic locks (Richardson, *Microservices Patterns* §4.3.2): named
/// reservations that sagas hold while their work is pending, so that other
/// sagas touching the same thing wait or fail instead of reading a half-done
/// state.
///
/// A pure value meant to be replicated: every operation takes the time
/// (`now`, milliseconds, from the proposing leader) and returns the events
/// that follow, in a deterministic order, and the whole table has a snapshot
/// codec. The table is the authority on who holds a lock; sagas record what
/// it told them.
///
/// - A lock has at most one holder, until it releases it or `expiresAt`
///   passes; an expiry is itself an event (`expired`, at `expiresAt`).
/// - Waiters queue first come, first served; the next is granted when the
///   holder releases or expires, at that moment.
/// - Every operation is idempotent for its owner: acquiring a lock one holds
///   answers `granted` again with the same times, acquiring while queued
///   answers `queued` again, and releasing what one does not hold or wait for
///   does nothing. That is what lets a runtime repeat effects after a crash.
public struct SagaLockTable: Sendable, Hashable {
    public struct Holding: Sendable, Hashable {
        public var owner: String
        public var grantedAt: UInt64
        public var expiresAt: UInt64

        public init(owner: String, grantedAt: UInt64, expiresAt: UInt64) {
            self.owner = owner
            self.grantedAt = grantedAt
            self.expiresAt = expiresAt
        }
    }

    struct Waiter: Sendable, Hashable {
        var owner: String
        var expiryMilliseconds: UInt64
    }

    struct Entry: Sendable, Hashable {
        var holding: Holding?
        var waiters: [Waiter] = []
    }

    /// What an operation did, for the runtime to pass on to the sagas concerned.
    public enum Event: Sendable, Hashable {
        case granted(name: String, owner: String, grantedAt: UInt64, expiresAt: UInt64)
        case queued(name: String, owner: String, position: Int)
        case denied(name: String, owner: String, reason: DenialReason)
        case released(name: String, owner: String, at: UInt64)
        /// A queued request was withdrawn.
        case withdrawn(name: String, owner: String)
        case expired(name: String, owner: String, at: UInt64)
    }

    public enum DenialReason: Sendable, Hashable {
        /// Held by `holder`, and the request does not wait.
        case held(by: String)
        /// The wait queue is at `SagaLockTableLimits.maximumWaitersPerLock`.
        case queueFull
        /// The table holds `maximumLocks` locks already.
        case tableFull
        /// An empty or over-long name or owner, or an expiry out of range.
        case invalidRequest
    }

    public let limits: SagaLockTableLimits
    var entries: [String: Entry] = [:]

    public init(limits: SagaLockTableLimits = .default) { self.limits = limits }

    /// Locks held or waited for.
    public var count: Int { entries.count }

    public func holding(of name: String) -> Holding? { entries[name]?.holding }

    /// The owners waiting for `name`, first in line first.
    public func waiters(of name: String) -> [String] { entries[name]?.waiters.map(\.owner) ?? [] }

    /// The earliest expiry, for the runtime's next tick.
    public var nextExpiryAt: UInt64? { entries.values.compactMap { $0.holding?.expiresAt }.min() }

    /// Asks for `name` on behalf of `owner`, for `expiryMilliseconds` from the grant.
    public mutating func acquire(
        name: String, owner: String, expiryMilliseconds: UInt64, contention: SagaLockContention, now: UInt64
    ) -> [Event] {
        guard isValid(name: name, owner: owner), expiryMilliseconds >= 1,
            expiryMilliseconds <= SagaLimits.maximumDurationMilliseconds
        else { return [.denied(name: name, owner: owner, reason: .invalidRequest)] }
        var events = expire(now: now)
        guard var entry = entries[name] else {
            guard entries.count < limits.maximumLocks else {
                return events + [.denied(name: name, owner: owner, reason: .tableFull)]
            }
            let holding = Holding(owner: owner, grantedAt: now, expiresAt: now &+ expiryMilliseconds)
            entries[name] = Entry(holding: holding)
            return events + [.granted(name: name, owner: owner, grantedAt: holding.grantedAt, expiresAt: holding.expiresAt)]
        }
        if let holding = entry.holding, holding.owner == owner {
            return events + [.granted(name: name, owner: owner, grantedAt: holding.grantedAt, expiresAt: holding.expiresAt)]
        }
        if let position = entry.waiters.firstIndex(where: { $0.owner == owner }) {
            return events + [.queued(name: name, owner: owner, position: position)]
        }
        guard let holder = entry.holding?.owner else {
            preconditionFailure("lock \(name) has waiters and no holder")
        }
        switch contention {
        case .fail:
            events.append(.denied(name: name, owner: owner, reason: .held(by: holder)))
        case .wait:
            guard entry.waiters.count < limits.maximumWaitersPerLock else {
                return events + [.denied(name: name, owner: owner, reason: .queueFull)]
            }
            entry.waiters.append(Waiter(owner: owner, expiryMilliseconds: expiryMilliseconds))
            entries[name] = entry
            events.append(.queued(name: name, owner: owner, position: entry.waiters.count - 1))
        }
        return events
    }

    /// Releases `name` if `owner` holds it (granting the next waiter), or
    /// withdraws `owner` from its queue; otherwise does nothing.
    public mutating func release(name: String, owner: String, now: UInt64) -> [Event] {
        var events = expire(now: now)
        guard var entry = entries[name] else { return events }
        if entry.holding?.owner == owner {
            entry.holding = nil
            events.append(.released(name: name, owner: owner, at: now))
            events += grantNext(name, &entry, now: now)
        } else if let position = entry.waiters.firstIndex(where: { $0.owner == owner }) {
            entry.waiters.remove(at: position)
            events.append(.withdrawn(name: name, owner: owner))
        } else {
            return events
        }
        entries[name] = entry.holding == nil ? nil : entry
        return events
    }

    /// Expires every reservation whose `expiresAt` is at or before `now`
    /// (earliest first, then by name), granting each next waiter at `now`.
    public mutating func expire(now: UInt64) -> [Event] {
        let due = entries.compactMap { name, entry in
            entry.holding.flatMap { $0.expiresAt <= now ? (name, $0) : nil }
        }.sorted { lhs, rhs in
            lhs.1.expiresAt != rhs.1.expiresAt
                ? lhs.1.expiresAt < rhs.1.expiresAt : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
        }
        var events: [Event] = []
        for (name, holding) in due {
            var entry = entries[name]!
            entry.holding = nil
            events.append(.expired(name: name, owner: holding.owner, at: holding.expiresAt))
            events += grantNext(name, &entry, now: now)
            entries[name] = entry.holding == nil ? nil : entry
        }
        return events
    }

    /// Records `holding` of `name` as a new leader found it in the saga
    /// streams (`SagaHost.lead`): the table is rebuilt from what sagas
    /// recorded, because only a recorded grant can have been acted on.
    public mutating func restore(name: String, holding: Holding) {
        precondition(isValid(name: name, owner: holding.owner), "restoring an invalid lock \(name)")
        entries[name, default: Entry()].holding = holding
    }

    private func grantNext(_ name: String, _ entry: inout Entry, now: UInt64) -> [Event] {
        guard !entry.waiters.isEmpty else { return [] }
        let next = entry.waiters.removeFirst()
        let holding = Holding(owner: next.owner, grantedAt: now, expiresAt: now &+ next.expiryMilliseconds)
        entry.holding = holding
        return [.granted(name: name, owner: next.owner, grantedAt: holding.grantedAt, expiresAt: holding.expiresAt)]
    }

    private func isValid(name: String, owner: String) -> Bool {
        !name.isEmpty && name.utf8.count <= limits.maximumNameBytes && !owner.isEmpty
            && owner.utf8.count <= limits.maximumOwnerBytes
    }
}

/// The bounds of a lock table, checked on every request and on restore.
public struct SagaLockTableLimits: Sendable, Hashable {
    public var maximumLocks: Int
    public var maximumWaitersPerLock: Int
    public var maximumNameBytes: Int
    public var maximumOwnerBytes: Int

    public init(maximumLocks: Int, maximumWaitersPerLock: Int, maximumNameBytes: Int, maximumOwnerBytes: Int) {
        self.maximumLocks = maximumLocks
        self.maximumWaitersPerLock = maximumWaitersPerLock
        self.maximumNameBytes = maximumNameBytes
        self.maximumOwnerBytes = maximumOwnerBytes
    }

    public static let `default` = SagaLockTableLimits(
        maximumLocks: 1 << 20, maximumWaitersPerLock: 1_024, maximumNameBytes: SagaLimits.maximumLockNameBytes,
        maximumOwnerBytes: 256)
}
