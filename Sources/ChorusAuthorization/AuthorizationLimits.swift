/// Every size and count of client authorization, named once. Decoders check
/// each before they allocate (`TokenClaims(decoding:)`, `RoleFile`,
/// `Keyring(parsing:)`); `AuthorizationLimitsTests` checks how they relate.
public enum AuthorizationLimits {
    /// The longest token text accepted (an `Authorization` header value, a Redis `AUTH` argument).
    public static let maximumTokenTextBytes = 4_096
    /// The longest decoded claims.
    public static let maximumPayloadBytes = 2_048
    public static let maximumSubjectBytes = 256
    public static let maximumRolesPerToken = 16
    public static let maximumRoleNameBytes = 64
    public static let maximumKeyIDBytes = 64
    /// HMAC-SHA256's output.
    public static let signatureBytes = 32
    /// A signing secret: at least the hash's output (RFC 2104 §3), at most one block.
    public static let minimumSecretBytes = 32
    public static let maximumSecretBytes = 64
    /// Keys in one keyring (the active one, plus older ones still accepted during a rotation).
    public static let maximumKeyCount = 16
    /// The longest a token may live: one year and a day.
    public static let maximumLifetimeSeconds: UInt64 = 366 * 86_400
    /// How far in the future a token's issue time may be (clocks of the
    /// issuer and the node disagree a little).
    public static let clockSkewSeconds: UInt64 = 60
    /// A role or keyring file.
    public static let maximumFileBytes = 1 << 20
    public static let maximumRoleCount = 1_024
    public static let maximumGrantsPerRole = 256
    public static let maximumPatternsPerGrant = 256
    public static let maximumPatternBytes = 256
}
