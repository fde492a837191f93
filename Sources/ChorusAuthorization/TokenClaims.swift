import ChorusCore

/// What a token says about its bearer: who (`subject`), with which roles,
/// from when until when, and which key signed it (`keyID`, so a keyring can
/// hold several keys during a rotation).
///
/// Binary form (the token's payload, before base64url):
/// `version 1 · keyID · subject · varint issuedAt · varint expiresAt · varint n · n role names`,
/// each string a varint length and UTF-8; times are seconds since the Unix
/// epoch. The decoder bounds every length and count (`AuthorizationLimits`)
/// before it allocates, and refuses trailing bytes, so one text has one meaning.
public struct TokenClaims: Sendable, Hashable, CustomStringConvertible {
    public static let formatVersion: UInt8 = 1

    public var keyID: String
    public var subject: String
    public var issuedAt: UInt64
    public var expiresAt: UInt64
    public var roles: [String]

    public init(keyID: String, subject: String, issuedAt: UInt64, expiresAt: UInt64, roles: [String]) {
        self.keyID = keyID
        self.subject = subject
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.roles = roles
    }

    /// The first thing wrong with these claims for a token, or nil.
    public var problem: String? {
        if !Keyring.isValidKeyID(keyID) { return "the key id must be 1 to \(AuthorizationLimits.maximumKeyIDBytes) of a-z A-Z 0-9 - _ ." }
        if subject.isEmpty || subject.utf8.count > AuthorizationLimits.maximumSubjectBytes {
            return "the subject must be 1 to \(AuthorizationLimits.maximumSubjectBytes) bytes"
        }
        if subject.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "the subject has control characters" }
        if roles.count > AuthorizationLimits.maximumRolesPerToken { return "at most \(AuthorizationLimits.maximumRolesPerToken) roles" }
        if let bad = roles.first(where: { !Role.isValidName($0) }) { return "'\(bad)' is not a role name" }
        if expiresAt <= issuedAt { return "it expires before it is issued" }
        if expiresAt - issuedAt > AuthorizationLimits.maximumLifetimeSeconds {
            return "a token lives at most \(AuthorizationLimits.maximumLifetimeSeconds) seconds"
        }
        return nil
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 64)
        writer.write(Self.formatVersion)
        writer.writeLengthPrefixed(Array(keyID.utf8))
        writer.writeLengthPrefixed(Array(subject.utf8))
        writer.writeVarint(issuedAt)
        writer.writeVarint(expiresAt)
        writer.writeVarint(roles.count)
        for role in roles { writer.writeLengthPrefixed(Array(role.utf8)) }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(TokenError) {
        guard bytes.count <= AuthorizationLimits.maximumPayloadBytes else {
            throw .malformed("the claims exceed \(AuthorizationLimits.maximumPayloadBytes) bytes")
        }
        var reader = ByteReader(bytes)
        let version: UInt8
        do throws(BinaryDecodingError) {
            version = try reader.readByte()
            keyID = try reader.readString(limit: AuthorizationLimits.maximumKeyIDBytes)
            subject = try reader.readString(limit: AuthorizationLimits.maximumSubjectBytes)
            issuedAt = try reader.readVarint()
            expiresAt = try reader.readVarint()
            let count = try reader.readCount(limit: AuthorizationLimits.maximumRolesPerToken)
            var roles: [String] = []
            roles.reserveCapacity(count)
            for _ in 0..<count { roles.append(try reader.readString(limit: AuthorizationLimits.maximumRoleNameBytes)) }
            self.roles = roles
            try reader.expectEnd()
        } catch {
            throw .malformed("the claims do not decode: \(error)")
        }
        guard version == Self.formatVersion else { throw .malformed("claims format \(version) is unknown") }
        if let problem { throw .malformed(problem) }
    }

    public var description: String {
        "\(subject) [\(roles.joined(separator: ","))] key \(keyID), issued \(issuedAt), expires \(expiresAt)"
    }
}
