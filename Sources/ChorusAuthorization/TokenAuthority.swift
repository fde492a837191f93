import ChorusAPI

/// Issues and verifies tokens with a keyring and a MAC: what a node holds
/// to turn an `Authorization: Bearer` header (or a Redis `AUTH`) into a
/// verified subject and roles.
///
/// Verification order, each step before the next is attempted: the text's
/// shape and the claims' bounds (`malformed`), the key id (`unknownKey`),
/// the signature in constant time (`badSignature`), then the times
/// (`expired`, `notYetValid`). So nothing about validity is reported of
/// claims whose signature failed, and a forged token never reads as
/// "expired".
public struct TokenAuthority: Sendable {
    public let keyring: Keyring
    public let algorithm: any TokenSignatureAlgorithm

    public init(keyring: Keyring, algorithm: any TokenSignatureAlgorithm) {
        self.keyring = keyring
        self.algorithm = algorithm
    }

    /// A token for `subject` with `roles`, signed by the active key, valid
    /// from `issuedAt` for `lifetimeSeconds` (seconds since the Unix epoch).
    public func issue(subject: String, roles: [String], issuedAt: UInt64, lifetimeSeconds: UInt64) throws(TokenError) -> String {
        let (expiresAt, overflow) = issuedAt.addingReportingOverflow(lifetimeSeconds)
        guard !overflow else { throw .malformed("the expiry is out of range") }
        let claims = TokenClaims(
            keyID: keyring.activeKeyID, subject: subject, issuedAt: issuedAt, expiresAt: expiresAt, roles: roles)
        if let problem = claims.problem { throw .malformed(problem) }
        let input = SignedToken.signingInput(claims)
        let signature = algorithm.signature(of: Array(input.utf8), secret: keyring.activeSecret)
        precondition(signature.count == AuthorizationLimits.signatureBytes, "the MAC must be \(AuthorizationLimits.signatureBytes) bytes")
        return input + "." + Base64URL.encode(signature)
    }

    /// The claims of a token this keyring signed that is valid at `now`.
    public func verify(_ text: String, now: UInt64) throws(TokenError) -> TokenClaims {
        let (claims, signingInput, signature) = try SignedToken.split(text)
        guard let secret = keyring.secret(of: claims.keyID) else { throw .unknownKey(claims.keyID) }
        guard ConstantTime.equals(algorithm.signature(of: signingInput, secret: secret), signature) else { throw .badSignature }
        guard now < claims.expiresAt else { throw .expired(expiresAt: claims.expiresAt) }
        guard claims.issuedAt <= now + AuthorizationLimits.clockSkewSeconds else { throw .notYetValid(issuedAt: claims.issuedAt) }
        return claims
    }
}
