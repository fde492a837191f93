/// Who is asking. Every operation carries its caller, so the one place that
/// decides whether the caller may do it (`ChorusService.authorize`, at the top
/// of each operation) sees it; front ends establish it from a verified
/// bearer token (`ChorusService.authenticate(bearer:)`, HTTP's
/// `Authorization` header, a Redis `AUTH`).
///
/// A caller is only as trustworthy as the code that built it: front ends
/// build callers through `authenticate` alone, and `anonymous` (no token)
/// is refused by every operation while authorization is enforced.
public struct Caller: Sendable, Hashable, CustomStringConvertible {
    /// The authenticated subject, or nil for a request without credentials.
    public var subject: String?
    /// The roles the verified token grants (names in the service's `Permissions`).
    public var roles: [String]

    public init(subject: String?, roles: [String] = []) {
        self.subject = subject
        self.roles = roles
    }

    public static let anonymous = Caller(subject: nil)

    public var description: String {
        guard let subject else { return "anonymous" }
        return roles.isEmpty ? subject : "\(subject) [\(roles.joined(separator: ","))]"
    }
}
