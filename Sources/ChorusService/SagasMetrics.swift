import ChorusSagas
import CoreMetrics

/// The saga engine's metrics (swift-metrics, exported as Prometheus like the
/// others). Counters count decisions the leader appended, so each saga is
/// counted once however many nodes fold it; labels are bounded (outcomes, no
/// saga or step names).
final class SagasMetrics: Sendable {
    let started: Counter
    let completed: Counter
    let compensated: Counter
    let cancelled: Counter
    let parked: Counter
    /// Sagas in progress or parked that this node holds the fold of.
    let inFlight: Gauge
    /// Attempts after the first, of actions and compensations.
    let retries: Counter
    let lockRequests: Counter
    /// Lock requests that queued behind another saga's reservation.
    let lockWaits: Counter
    let stepSucceeded: Timer
    let stepFailed: Timer
    /// Saga streams this node could not fold (a bug or a foreign writer); the saga is left alone.
    let foldFailures: Counter

    init(factory: (any MetricsFactory)?) {
        func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Counter {
            factory.map { Counter(label: label, dimensions: dimensions, factory: $0) } ?? Counter(label: label, dimensions: dimensions)
        }
        func timer(_ outcome: String) -> Timer {
            let label = "chorus_saga_step_duration_seconds"
            return factory.map { Timer(label: label, dimensions: [("outcome", outcome)], preferredDisplayUnit: .seconds, factory: $0) }
                ?? Timer(label: label, dimensions: [("outcome", outcome)], preferredDisplayUnit: .seconds)
        }
        started = counter("chorus_sagas_total", [("event", "started")])
        completed = counter("chorus_sagas_total", [("event", "completed")])
        compensated = counter("chorus_sagas_total", [("event", "compensated")])
        cancelled = counter("chorus_sagas_total", [("event", "cancelled")])
        parked = counter("chorus_sagas_total", [("event", "parked")])
        inFlight = factory.map { Gauge(label: "chorus_sagas_in_flight", factory: $0) } ?? Gauge(label: "chorus_sagas_in_flight")
        retries = counter("chorus_saga_step_retries_total")
        lockRequests = counter("chorus_saga_lock_requests_total")
        lockWaits = counter("chorus_saga_lock_waits_total")
        stepSucceeded = timer("succeeded")
        stepFailed = timer("failed")
        foldFailures = counter("chorus_saga_fold_failures_total")
    }

    func recordStep(outcome: ParticipantOutcome, duration: Duration) {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        switch outcome {
        case .succeeded: stepSucceeded.recordNanoseconds(nanoseconds)
        case .failed: stepFailed.recordNanoseconds(nanoseconds)
        }
    }
}
