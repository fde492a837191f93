import ChorusCore

/// Every bound of the saga core, named in one place (STYLE.md habit 5).
///
/// Definitions, inputs and results come from users and participants over the
/// network; events come back from disk and from other nodes. Each of these is
/// checked against a limit here before anything is allocated for it, and the
/// number of events one saga can write is bounded through
/// `maximumAttemptsPerStep`, so an "unlimited" retry policy still ends.
public enum SagaLimits {
    /// Definition names and step ids.
    public static let maximumNameBytes = 64
    /// Saga instance ids.
    public static let maximumSagaIDBytes = 128
    /// Steps in one definition, counting every member of every parallel group.
    public static let maximumSteps = 64
    /// Members of one parallel group.
    public static let maximumParallelSteps = 16
    /// One template string: a path, a lock name, or one string in a body.
    public static let maximumTemplateBytes = 4_096
    /// A rendered lock name; a longer one fails the step (`template_error`).
    public static let maximumLockNameBytes = 1_024
    /// A participant name.
    public static let maximumParticipantBytes = 128
    /// A definition's JSON text.
    public static let maximumDefinitionBytes = 256 << 10
    /// A saga's input, as compact JSON.
    public static let maximumInputBytes = 256 << 10
    /// A participant's result, as compact JSON; a larger reply is refused and
    /// the attempt times out (it may have been applied, so it is never
    /// recorded as a definite failure).
    public static let maximumResultBytes = 256 << 10
    /// A rendered request body, as compact JSON.
    public static let maximumRequestBodyBytes = 256 << 10
    /// An error code from a participant or the core.
    public static let maximumErrorCodeBytes = 128
    /// An error message; longer ones are truncated when recorded.
    public static let maximumErrorMessageBytes = 1_024
    /// An operator's or a client's note (cancel reason, resolution note).
    public static let maximumNoteBytes = 1_024
    /// Error codes a retry policy lists as non-retryable.
    public static let maximumNonRetryableErrorCodes = 64
    /// The most attempts of one step action or compensation between two
    /// operator retries. A policy's "unlimited" (0) means this many: after
    /// them a step is given up exactly as if the policy had said so.
    public static let maximumAttemptsPerStep = 1_000
    /// The longest timeout, interval, lock expiry or deadline: 30 days.
    public static let maximumDurationMilliseconds: UInt64 = 30 * 24 * 3_600 * 1_000
    /// The largest encoded saga event accepted by the decoder (a started event
    /// carries the definition and the input).
    public static let maximumEventBytes = 1 << 20
    /// The events one decision may append; a decision that would exceed it is
    /// a bug in the core (every step contributes a bounded number).
    public static let maximumEventsPerDecision = 1_024

    /// How JSON from users, participants and the event store is parsed.
    public static let json = JSONLimits(maximumByteCount: maximumEventBytes, maximumDepth: 32, maximumNumberLiteralBytes: 64)
}
