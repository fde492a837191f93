/// Turns readings of a monotonic clock into the ticks that have elapsed, so
/// a replica's time is real time even when its timer fired less often than
/// it should: a process stopped by SIGSTOP, a starved event loop. A
/// repeating timer fires once when the process resumes, however long it
/// slept; counting that as one tick would let a bounded-staleness read
/// (`max-lag`) trust a confirmation that is seconds old, and a leader trust a
/// lease that has expired (a lease timed by a clock that can stop is no
/// lease: Gray and Cheriton, "Leases", SOSP 1989).
///
/// Both drivers use it: the node with the uptime clock, the simulator with
/// each server's drifted local time.
public struct TickClock: Sendable, Hashable {
    public let intervalMicroseconds: UInt64
    private let startMicroseconds: UInt64
    /// Ticks handed out so far; never behind the clock, so the replica's time
    /// errs only towards more elapsed time (the safe side for every bound).
    public private(set) var countedTicks: UInt64 = 0

    public init(intervalMicroseconds: UInt64, startMicroseconds: UInt64) {
        precondition(intervalMicroseconds > 0, "a tick lasts some time")
        self.intervalMicroseconds = intervalMicroseconds
        self.startMicroseconds = startMicroseconds
    }

    /// The ticks to advance by at a timer firing at `nowMicroseconds`: at
    /// least one (the firing itself), more when the clock says more passed.
    public mutating func timerFired(atMicroseconds nowMicroseconds: UInt64) -> UInt64 {
        let late = catchUp(atMicroseconds: nowMicroseconds)
        if late > 0 { return late }
        countedTicks += 1
        return 1
    }

    /// The ticks the clock says are due but were never counted (0 when the
    /// timer kept time): a driver advances the replica by them before it
    /// serves a request, since after a pause the request may be handled
    /// before the late timer fires.
    public mutating func catchUp(atMicroseconds nowMicroseconds: UInt64) -> UInt64 {
        let due = due(nowMicroseconds)
        guard due > countedTicks else { return 0 }
        defer { countedTicks = due }
        return due - countedTicks
    }

    private func due(_ nowMicroseconds: UInt64) -> UInt64 {
        (max(nowMicroseconds, startMicroseconds) - startMicroseconds) / intervalMicroseconds
    }
}
