/// The message authentication code tokens are signed with. This target
/// stays free of any crypto library (and of Foundation); the service layer
/// supplies HMAC-SHA256 from swift-crypto (`HMACSHA256TokenSignature`).
public protocol TokenSignatureAlgorithm: Sendable {
    /// The MAC of `message` under `secret`, `AuthorizationLimits.signatureBytes` long.
    func signature(of message: [UInt8], secret: [UInt8]) -> [UInt8]
}
