/// How a failing event is retried before its projection parks: exponential
/// backoff from `initialBackoffMilliseconds`, doubling up to
/// `maximumBackoffMilliseconds`, for at most `maximumAttempts` attempts in
/// all (the first, in its batch, included). Deterministic (no jitter): one
/// projection retries one event at a time, so there is no herd to spread.
public struct ProjectionRetryPolicy: Sendable, Hashable {
    public var maximumAttempts: Int
    public var initialBackoffMilliseconds: Int64
    public var maximumBackoffMilliseconds: Int64

    public init(maximumAttempts: Int = 5, initialBackoffMilliseconds: Int64 = 100, maximumBackoffMilliseconds: Int64 = 5_000) {
        self.maximumAttempts = maximumAttempts
        self.initialBackoffMilliseconds = initialBackoffMilliseconds
        self.maximumBackoffMilliseconds = maximumBackoffMilliseconds
    }

    public static let `default` = ProjectionRetryPolicy()

    /// The wait after failed attempt `attempt` (1-based) before the next one.
    public func backoffMilliseconds(afterAttempt attempt: Int) -> Int64 {
        precondition(attempt >= 1, "attempts count from 1")
        var delay = initialBackoffMilliseconds
        for _ in 1..<min(attempt, 63) {
            if delay >= maximumBackoffMilliseconds / 2 { return maximumBackoffMilliseconds }
            delay *= 2
        }
        return min(delay, maximumBackoffMilliseconds)
    }

    public var problems: [String] {
        var problems: [String] = []
        if maximumAttempts < 1 || maximumAttempts > 1_000 { problems.append("maximumAttempts must be in 1...1000 (is \(maximumAttempts))") }
        if initialBackoffMilliseconds < 1 { problems.append("initialBackoffMilliseconds must be positive") }
        if maximumBackoffMilliseconds < initialBackoffMilliseconds {
            problems.append("maximumBackoffMilliseconds must be at least initialBackoffMilliseconds")
        }
        return problems
    }
}
