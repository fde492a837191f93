import ChorusAPI
import ChorusAuthorization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether and how a service checks its callers (issue 15, "Client
/// authorization"): `enforced` with the cluster's keyring and roles (what
/// `chorus node --auth-keys` runs), or `disabled` (`--insecure-no-auth`, and
/// tests of other layers), where every caller, anonymous included, may do
/// everything.
public struct ServiceAuthorization: Sendable {
    /// The keyring's authority and the roles; nil when disabled.
    public let authority: TokenAuthority?
    public let permissions: Permissions
    /// Seconds since the Unix epoch, for token expiry; tests pass their own.
    public let now: @Sendable () -> UInt64

    public static let disabled = ServiceAuthorization(authority: nil, permissions: .builtIn, now: { 0 })

    /// Tokens verified with `keyring` (HMAC-SHA256), roles from `permissions`.
    public static func enforced(
        keyring: Keyring, permissions: Permissions = .builtIn, now: @escaping @Sendable () -> UInt64 = systemSeconds
    ) -> ServiceAuthorization {
        ServiceAuthorization(
            authority: TokenAuthority(keyring: keyring, algorithm: HMACSHA256TokenSignature()), permissions: permissions,
            now: now)
    }

    init(authority: TokenAuthority?, permissions: Permissions, now: @escaping @Sendable () -> UInt64) {
        self.authority = authority
        self.permissions = permissions
        self.now = now
    }

    public var isEnforced: Bool { authority != nil }

    /// `CLOCK_REALTIME` in whole seconds.
    public static let systemSeconds: @Sendable () -> UInt64 = {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(max(0, time.tv_sec))
    }
}

extension ServiceAuthorization {
    /// The caller a bearer token establishes: anonymous without one, the
    /// token's subject and roles if it verifies, else `unauthenticated`
    /// (malformed, unknown key, bad signature, expired). With authorization
    /// disabled a token is not even parsed: every caller may do everything.
    public func authenticate(bearer token: String?) throws(ServiceError) -> Caller {
        guard let authority else { return .anonymous }
        guard let token else { return .anonymous }
        do {
            let claims = try authority.verify(token, now: now())
            return Caller(subject: claims.subject, roles: claims.roles)
        } catch {
            throw ServiceError(.unauthenticated, error.description)
        }
    }

    /// The caller of a Redis-style `AUTH [user] token`: the token as
    /// `authenticate(bearer:)` verifies it, and a user, when given and not
    /// `default`, that must be the token's subject (else `unauthenticated`),
    /// so a log line naming the user never names someone the token is not.
    public func authenticate(user: String?, token: String) throws(ServiceError) -> Caller {
        let caller = try authenticate(bearer: token)
        if let user, user != "default", isEnforced, user != caller.subject {
            throw ServiceError(.unauthenticated, "the token's subject is not '\(user)'")
        }
        return caller
    }

    /// The one authorization check of an operation, at its top, before any
    /// validation (so what a caller may not do tells it nothing about the
    /// data): `unauthenticated` for an anonymous caller, `permission_denied`
    /// when no role grants `action` on `resource`.
    public func authorize(_ caller: Caller, _ action: Action, _ resource: Resource) throws(ServiceError) {
        guard isEnforced else { return }
        try requireAuthenticated(caller)
        guard permissions.allows(caller.roles, action, resource) else {
            throw ServiceError(.permissionDenied, "\(caller) may not \(action) on \(resource)")
        }
    }

    /// For listings: the caller must hold `action` on some name; the listing
    /// then shows what `isAllowed` admits.
    public func authorizeSome(_ caller: Caller, _ action: Action) throws(ServiceError) {
        guard isEnforced else { return }
        try requireAuthenticated(caller)
        guard permissions.allowsSome(caller.roles, action) else {
            throw ServiceError(.permissionDenied, "\(caller) may not \(action) on anything")
        }
    }

    /// Whether `caller` may do `action` on `resource` (no error): filtering listings.
    public func isAllowed(_ caller: Caller, _ action: Action, _ resource: Resource) -> Bool {
        guard isEnforced else { return true }
        return caller.subject != nil && permissions.allows(caller.roles, action, resource)
    }

    private func requireAuthenticated(_ caller: Caller) throws(ServiceError) {
        guard caller.subject != nil else {
            throw ServiceError(.unauthenticated, "this operation needs a bearer token (Authorization: Bearer <token>)")
        }
    }
}

/// The service's checks are its authorization's, so every front end and
/// every operation goes through the same four functions.
extension ChorusService {
    public func authenticate(bearer token: String?) throws(ServiceError) -> Caller {
        try authorization.authenticate(bearer: token)
    }

    public func authenticate(user: String?, token: String) throws(ServiceError) -> Caller {
        try authorization.authenticate(user: user, token: token)
    }

    public func authorize(_ caller: Caller, _ action: Action, _ resource: Resource) throws(ServiceError) {
        try authorization.authorize(caller, action, resource)
    }

    public func authorizeSome(_ caller: Caller, _ action: Action) throws(ServiceError) {
        try authorization.authorizeSome(caller, action)
    }

    public func isAllowed(_ caller: Caller, _ action: Action, _ resource: Resource) -> Bool {
        authorization.isAllowed(caller, action, resource)
    }
}
