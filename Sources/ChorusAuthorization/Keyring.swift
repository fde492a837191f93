import ChorusAPI
import ChorusCore

/// Why a keyring was refused.
public struct KeyringError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The cluster's token signing keys, by id: the active one signs new
/// tokens, every one verifies. Rotation is adding a key and making it
/// active; revocation is removing the old one, which invalidates every token
/// it signed at once (tokens are not stored anywhere, so there is nothing
/// else to revoke).
///
/// File form (`chorus node --auth-keys FILE`, written by `chorus tokens keygen`):
/// `{"active":"k1","keys":[{"id":"k1","secret":"<base64url, 32 to 64 bytes>"}]}`.
/// The file holds secrets: `chorus` writes it with mode 0600.
public struct Keyring: Sendable, Hashable {
    public struct Key: Sendable, Hashable {
        public var id: String
        public var secret: [UInt8]

        public init(id: String, secret: [UInt8]) {
            self.id = id
            self.secret = secret
        }
    }

    /// In file order.
    public private(set) var keys: [Key]
    public private(set) var activeKeyID: String

    public init(keys: [Key], activeKeyID: String) throws(KeyringError) {
        guard (1...AuthorizationLimits.maximumKeyCount).contains(keys.count) else {
            throw KeyringError("a keyring holds 1 to \(AuthorizationLimits.maximumKeyCount) keys")
        }
        var seen: Set<String> = []
        for key in keys {
            guard Self.isValidKeyID(key.id) else {
                throw KeyringError("key id '\(key.id)' must be 1 to \(AuthorizationLimits.maximumKeyIDBytes) of a-z A-Z 0-9 - _ .")
            }
            guard seen.insert(key.id).inserted else { throw KeyringError("key id '\(key.id)' appears twice") }
            guard (AuthorizationLimits.minimumSecretBytes...AuthorizationLimits.maximumSecretBytes).contains(key.secret.count) else {
                throw KeyringError(
                    "key '\(key.id)' has a \(key.secret.count)-byte secret; it must be \(AuthorizationLimits.minimumSecretBytes) to \(AuthorizationLimits.maximumSecretBytes) bytes")
            }
        }
        guard seen.contains(activeKeyID) else { throw KeyringError("the active key '\(activeKeyID)' is not in the keyring") }
        self.keys = keys
        self.activeKeyID = activeKeyID
    }

    public func secret(of id: String) -> [UInt8]? { keys.first { $0.id == id }?.secret }

    public var activeSecret: [UInt8] {
        guard let secret = secret(of: activeKeyID) else { preconditionFailure("the active key is checked to be in the keyring") }
        return secret
    }

    /// A new key, made active (the old ones still verify until removed).
    public func rotating(to key: Key) throws(KeyringError) -> Keyring {
        try Keyring(keys: keys + [key], activeKeyID: key.id)
    }

    /// Without the key `id` (its tokens stop verifying).
    public func removing(_ id: String) throws(KeyringError) -> Keyring {
        guard id != activeKeyID else { throw KeyringError("the active key '\(id)' cannot be removed; rotate to another first") }
        return try Keyring(keys: keys.filter { $0.id != id }, activeKeyID: activeKeyID)
    }

    public static func isValidKeyID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= AuthorizationLimits.maximumKeyIDBytes else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        }
    }

    // MARK: File form

    public init(parsing bytes: [UInt8]) throws(KeyringError) {
        guard bytes.count <= AuthorizationLimits.maximumFileBytes else {
            throw KeyringError("a keyring file may be at most \(AuthorizationLimits.maximumFileBytes) bytes")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw KeyringError("the keyring is not JSON: \(error)") }
        guard let object = json.objectValue, Set(object.keys).isSubset(of: ["active", "keys"]) else {
            throw KeyringError("a keyring is an object with \"active\" and \"keys\" only")
        }
        guard let active = json["active"]?.stringValue else { throw KeyringError("the keyring needs \"active\", a key id") }
        guard let entries = json["keys"]?.arrayValue, entries.count <= AuthorizationLimits.maximumKeyCount else {
            throw KeyringError("the keyring needs \"keys\", an array of at most \(AuthorizationLimits.maximumKeyCount) keys")
        }
        var keys: [Key] = []
        for (index, entry) in entries.enumerated() {
            guard let fields = entry.objectValue, Set(fields.keys) == ["id", "secret"], let id = entry["id"]?.stringValue,
                let encoded = entry["secret"]?.stringValue, encoded.utf8.count <= 2 * AuthorizationLimits.maximumSecretBytes,
                let secret = Base64URL.decode(encoded)
            else {
                throw KeyringError("keys[\(index)] must be {\"id\": …, \"secret\": <base64url>}")
            }
            keys.append(Key(id: id, secret: secret))
        }
        try self.init(keys: keys, activeKeyID: active)
    }

    /// The file text (one key per line, so a rotation is a readable diff).
    public var fileText: String {
        let lines = keys.map { "    {\"id\":\(JSONString.quoted($0.id)),\"secret\":\"\(Base64URL.encode($0.secret))\"}" }
        return "{\"active\":\(JSONString.quoted(activeKeyID)),\"keys\":[\n\(lines.joined(separator: ",\n"))\n]}\n"
    }
}
