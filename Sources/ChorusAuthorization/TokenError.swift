/// Why a bearer token was not accepted. Every case answers 401
/// `unauthenticated` (HTTP) or `WRONGPASS` (Redis); the message says which,
/// so a person can tell a typo from an expiry, and never includes the secret.
public enum TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a `chorus1.<payload>.<signature>` token, or its claims do not decode.
    case malformed(String)
    /// The key id is not in the node's keyring (never was, or was rotated out: revocation).
    case unknownKey(String)
    /// The signature does not match the claims under the named key (forged or altered).
    case badSignature
    /// The token expired at this time (seconds since the Unix epoch).
    case expired(expiresAt: UInt64)
    /// Issued further in the future than the allowed clock skew.
    case notYetValid(issuedAt: UInt64)

    public var description: String {
        switch self {
        case .malformed(let reason): "the token is malformed: \(reason)"
        case .unknownKey(let id): "the token is signed with key '\(id)', which this cluster does not hold (rotated out, or another cluster's)"
        case .badSignature: "the token's signature does not match its claims"
        case .expired(let expiresAt): "the token expired at \(expiresAt) (seconds since 1970)"
        case .notYetValid(let issuedAt): "the token is issued at \(issuedAt), in the future beyond the allowed clock skew"
        }
    }
}
