/// Who is asking. Every operation carries its caller, so the one place that
/// decides whether the caller may do it (`ChorusService`, per operation) sees
/// it; front ends establish it (from a bearer token, a Redis `AUTH`).
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// The authenticated subject, or nil for a request without credentials.
    public var subject: String?

    public init(subject: String?) { self.subject = subject }

    public static let anonymous = Caller(subject: nil)

    public var description: String { subject ?? "anonymous" }
}
