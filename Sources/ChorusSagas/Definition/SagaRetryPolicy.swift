/// How a failed or timed-out attempt is retried, as Temporal's retry policy
/// defines it (docs.temporal.io, "Retry Policies"): the delay before attempt
/// n+1 is `initialInterval × backoffCoefficient^(n−1)`, capped at
/// `maximumInterval`; attempts stop at `maximumAttempts` (0 = unlimited, which
/// Chorus bounds by `SagaLimits.maximumAttemptsPerStep`); an error whose code
/// is listed in `nonRetryableErrorCodes` is never retried.
///
/// There is no jitter: the delay is a pure function of the attempt, so a
/// replayed saga sets the same timers.
public struct SagaRetryPolicy: Sendable, Hashable {
    public var initialIntervalMilliseconds: UInt64
    /// At least 1.
    public var backoffCoefficient: Double
    public var maximumIntervalMilliseconds: UInt64
    /// 0 means unlimited (bounded by `SagaLimits.maximumAttemptsPerStep`).
    public var maximumAttempts: Int
    public var nonRetryableErrorCodes: [String]

    /// Temporal's defaults: 1 s initial, ×2, at most 100 × initial, unlimited.
    public init(
        initialIntervalMilliseconds: UInt64 = 1_000, backoffCoefficient: Double = 2,
        maximumIntervalMilliseconds: UInt64? = nil, maximumAttempts: Int = 0, nonRetryableErrorCodes: [String] = []
    ) {
        self.initialIntervalMilliseconds = initialIntervalMilliseconds
        self.backoffCoefficient = backoffCoefficient
        self.maximumIntervalMilliseconds = maximumIntervalMilliseconds ?? initialIntervalMilliseconds.multipliedReportingOverflow(by: 100).partialValue
        self.maximumAttempts = maximumAttempts
        self.nonRetryableErrorCodes = nonRetryableErrorCodes
    }

    public static let `default` = SagaRetryPolicy()

    /// A compensation's default: Temporal's intervals, but three attempts, so
    /// that a compensation that keeps failing ends visible (parked) instead of
    /// retrying for as long as the attempt bound allows.
    public static let compensationDefault = SagaRetryPolicy(maximumAttempts: 3)

    /// The attempts allowed between two operator retries.
    public var effectiveMaximumAttempts: Int {
        maximumAttempts == 0 ? SagaLimits.maximumAttemptsPerStep : min(maximumAttempts, SagaLimits.maximumAttemptsPerStep)
    }

    /// The delay after attempt `attempt` (1-based) failed, before the next.
    public func delayMilliseconds(afterAttempt attempt: Int) -> UInt64 {
        precondition(attempt >= 1, "attempts are numbered from 1")
        let cap = Double(maximumIntervalMilliseconds)
        var delay = Double(initialIntervalMilliseconds)
        guard backoffCoefficient.isFinite else { return maximumIntervalMilliseconds }
        if backoffCoefficient > 1 {
            // Bounded: the delay reaches the cap within log_c(cap / initial) steps.
            for _ in 1..<attempt {
                delay *= backoffCoefficient
                if delay >= cap { break }
            }
        }
        return UInt64(min(delay, cap))
    }

    /// Whether an error with `code` may be retried under this policy.
    public func isRetryable(code: String) -> Bool { !nonRetryableErrorCodes.contains(code) }
}
