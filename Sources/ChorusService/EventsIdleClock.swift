import ChorusEventStore
import ChorusNode
import ChorusRaft
import CoreMetrics
import ServiceLifecycle

/// Keeps the event store's clock moving on an idle leader.
///
/// The store's clock is the latest recorded time applied (the store never
/// reads a clock), so with nothing proposed, `maximumAge` would stop hiding old
/// events and the id window would stop forgetting old ids. About once per
/// `idleClockIntervalMilliseconds`, if this node leads and proposed no
/// event-store command during that interval, this proposes `advanceClock`
/// stamped with its wall clock. A follower never proposes (it checks its role
/// first, and a proposal that raced a leadership change fails harmlessly with
/// `not_leader`); a busy leader proposes none, since its commands move the
/// clock already. One entry a second is the idle cost.
///
/// A swift-service-lifecycle `Service`: it runs until its task is cancelled
/// or the service group shuts down gracefully.
public struct EventStoreIdleClock: Service {
    let node: ChorusNode
    let proposer: EventStoreProposer
    let options: EventServiceOptions
    let metrics: EventStoreMetrics

    public func run() async throws {
        let interval = Duration.milliseconds(options.idleClockIntervalMilliseconds)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await advanceIfIdle(interval: interval)
            }
        }
    }

    /// Proposes `advanceClock` if this node leads and nothing was proposed within `interval`.
    /// Returns whether it proposed.
    @discardableResult
    func advanceIfIdle(interval: Duration) async -> Bool {
        if let since = proposer.activity.sinceLatest, since < interval { return false }
        guard let status = try? await node.status(), status.role == .leader else { return false }
        guard (try? await proposer.propose(.advanceClock)) != nil else { return false }
        metrics.clockAdvances.increment()
        return true
    }
}
