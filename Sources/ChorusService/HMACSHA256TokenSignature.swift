import ChorusAuthorization
import Crypto

/// HMAC-SHA256 (RFC 2104 with FIPS 180-4's SHA-256) from swift-crypto, the
/// MAC the cluster signs tokens with. Its output is 32 bytes
/// (`AuthorizationLimits.signatureBytes`); the comparison is done by the
/// caller in constant time (`TokenAuthority.verify`).
public struct HMACSHA256TokenSignature: TokenSignatureAlgorithm {
    public init() {}

    public func signature(of message: [UInt8], secret: [UInt8]) -> [UInt8] {
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return Array(code)
    }

    /// A fresh secret of `bytes` random bytes from the system's generator
    /// (swift-crypto's `SymmetricKey(size:)`), for `chorus tokens keygen`.
    public static func generateSecret(bytes: Int = 32) -> [UInt8] {
        precondition(bytes % 8 == 0 && bytes >= AuthorizationLimits.minimumSecretBytes, "a secret is whole bytes, at least 32")
        return SymmetricKey(size: SymmetricKeySize(bitCount: bytes * 8)).withUnsafeBytes { Array($0) }
    }
}
