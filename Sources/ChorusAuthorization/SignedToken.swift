import ChorusAPI

/// A bearer token's text: `chorus1.<base64url claims>.<base64url signature>`,
/// the signature a MAC over the ASCII of `chorus1.<base64url claims>` (as a
/// JWT's covers its header and payload text), so the version prefix is signed too.
///
/// The text is RFC 6750 `token68` (letters, digits, `-`, `_`, `.`), so it
/// travels unchanged in `Authorization: Bearer …` and as a Redis argument.
public enum SignedToken {
    public static let prefix = "chorus1"

    /// The claims and signature of `text`, split and decoded, not yet verified.
    public static func split(_ text: String) throws(TokenError) -> (claims: TokenClaims, signingInput: [UInt8], signature: [UInt8]) {
        guard text.utf8.count <= AuthorizationLimits.maximumTokenTextBytes else {
            throw .malformed("a token is at most \(AuthorizationLimits.maximumTokenTextBytes) bytes")
        }
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].elementsEqual(prefix.utf8) else {
            throw .malformed("a Chorus token has the form \(prefix).<claims>.<signature>")
        }
        guard let payload = Base64URL.decode(parts[1]) else { throw .malformed("the claims are not base64url") }
        guard let signature = Base64URL.decode(parts[2]), signature.count == AuthorizationLimits.signatureBytes else {
            throw .malformed("the signature is not \(AuthorizationLimits.signatureBytes) bytes of base64url")
        }
        let claims = try TokenClaims(decoding: payload)
        // One text per claims: a decoder that tolerates another spelling (a
        // longer number, stray base64 bits) would let two texts carry one
        // token (found by `TokenFormatTests.mutationsNeverTrap`, seed 9111694876952481493).
        guard Base64URL.encode(claims.encoded).utf8.elementsEqual(parts[1]) else {
            throw .malformed("the claims are not in their canonical encoding")
        }
        let signingInput = Array(text.utf8.prefix(prefix.utf8.count + 1 + parts[1].count))
        return (claims, signingInput, signature)
    }

    /// The text before the signature: what is signed.
    public static func signingInput(_ claims: TokenClaims) -> String {
        prefix + "." + Base64URL.encode(claims.encoded)
    }
}
