import ArgumentParser
import ChorusAuthorization
import ChorusService
import Foundation

/// `chorus tokens keygen|rotate|revoke|issue`: the cluster's signing keys and
/// the bearer tokens they sign (Sources/ChorusAuthorization).
///
/// Rotation is `rotate` (a new key, made active; tokens of the old one still
/// verify) and then, once clients hold new tokens, `revoke` of the old key:
/// every token it signed stops verifying. Nodes read the keyring at start,
/// so copy the file to every node and restart them one at a time.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Make signing keys and issue bearer tokens for a cluster.",
        subcommands: [TokensKeygen.self, TokensRotate.self, TokensRevoke.self, TokensIssue.self]
    )
}

struct TokensKeygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Write a new keyring with one fresh 256-bit HMAC-SHA256 key (mode 0600).")

    @Option(name: .customLong("out"), help: "The keyring file to create (refuses to overwrite).")
    var output: String

    @Option(name: .customLong("key-id"), help: "The new key's id.")
    var keyID: String = "k1"

    func run() throws {
        guard !FileManager.default.fileExists(atPath: output) else {
            throw ValidationError("\(output) exists; use `chorus tokens rotate --keys \(output)` to add a key")
        }
        let keyring: Keyring
        do {
            keyring = try Keyring(keys: [Keyring.Key(id: keyID, secret: HMACSHA256TokenSignature.generateSecret())], activeKeyID: keyID)
        } catch {
            throw ValidationError("\(error)")
        }
        try KeyringFiles.write(keyring, to: output)
        writeLine("wrote \(output) (active key \(keyID))")
    }
}

struct TokensRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Add a fresh key to a keyring and make it the one new tokens are signed with.")

    @Option(name: .customLong("keys"), help: "The keyring file.")
    var keys: String

    @Option(name: .customLong("key-id"), help: "The new key's id (default: k<N+1>).")
    var keyID: String?

    func run() throws {
        let keyring = try KeyringFiles.read(keys)
        let id = keyID ?? "k\(keyring.keys.count + 1)"
        let rotated: Keyring
        do {
            rotated = try keyring.rotating(to: Keyring.Key(id: id, secret: HMACSHA256TokenSignature.generateSecret()))
        } catch {
            throw ValidationError("\(error)")
        }
        try KeyringFiles.write(rotated, to: keys)
        writeLine("\(keys): active key is now \(id); tokens of \(keyring.activeKeyID) still verify until it is revoked")
    }
}

struct TokensRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Remove a key from a keyring: every token it signed stops verifying.")

    @Option(name: .customLong("keys"), help: "The keyring file.")
    var keys: String

    @Option(name: .customLong("key-id"), help: "The key to remove (not the active one).")
    var keyID: String

    func run() throws {
        let keyring = try KeyringFiles.read(keys)
        guard keyring.secret(of: keyID) != nil else { throw ValidationError("\(keys) has no key '\(keyID)'") }
        let revoked: Keyring
        do { revoked = try keyring.removing(keyID) } catch { throw ValidationError("\(error)") }
        try KeyringFiles.write(revoked, to: keys)
        writeLine("\(keys): removed \(keyID); restart the nodes with this file to revoke its tokens")
    }
}

struct TokensIssue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue", abstract: "Print a bearer token signed by the keyring's active key.",
        discussion: """
            Built-in roles: \(BuiltInRoles.all.map(\.description).joined(separator: " | ")). \
            Other roles come from a roles file (`chorus node --auth-roles FILE`); pass it here \
            too to have the role names checked.
            """)

    @Option(name: .customLong("keys"), help: "The keyring file.")
    var keys: String

    @Option(name: .customLong("subject"), help: "Who the token names (a user or service).")
    var subject: String

    @Option(name: .customLong("role"), help: "A role the token grants; repeat for several.")
    var roles: [String] = []

    @Option(name: .customLong("expires"), help: "Lifetime: N followed by s, m, h or d (at most 366d).")
    var expires: String = "24h"

    @Option(name: .customLong("roles-file"), help: "A roles file to check the role names against.")
    var rolesFile: String?

    @Option(name: .customLong("out"), help: "Write the token to this file (mode 0600) instead of printing it.")
    var output: String?

    func run() throws {
        guard !roles.isEmpty else { throw ValidationError("give at least one --role") }
        guard let lifetime = parseDuration(expires) else {
            throw ValidationError("--expires must be N followed by s, m, h or d, like 1h or 30d")
        }
        let permissions = try loadPermissions(rolesFile)
        if let unknown = roles.first(where: { permissions.roles[$0] == nil }) {
            throw ValidationError("unknown role '\(unknown)'; known: \(permissions.roleNames.joined(separator: ", "))")
        }
        let token = try issueToken(keyringFile: keys, subject: subject, roles: roles, lifetimeSeconds: lifetime)
        if let output {
            try writeSecretFile(token + "\n", to: output)
        } else {
            writeLine(token)
        }
    }
}

/// Issues a token with the keyring in `keyringFile`, now.
func issueToken(keyringFile: String, subject: String, roles: [String], lifetimeSeconds: UInt64) throws -> String {
    let authority = TokenAuthority(keyring: try KeyringFiles.read(keyringFile), algorithm: HMACSHA256TokenSignature())
    do {
        return try authority.issue(
            subject: subject, roles: roles, issuedAt: ServiceAuthorization.systemSeconds(), lifetimeSeconds: lifetimeSeconds)
    } catch {
        throw ValidationError("\(error)")
    }
}

/// The built-in roles and those of a roles file.
func loadPermissions(_ rolesFile: String?) throws -> Permissions {
    do {
        guard let rolesFile else { return .builtIn }
        guard let data = FileManager.default.contents(atPath: rolesFile) else {
            throw ValidationError("cannot read the roles file \(rolesFile)")
        }
        return try Permissions(additional: try RoleFile.parse(Array(data)))
    } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError("\(rolesFile ?? "roles"): \(error)")
    }
}

/// `90s`, `15m`, `1h`, `30d` in seconds; nil for anything else.
func parseDuration(_ text: String) -> UInt64? {
    guard let unit = text.last, let count = UInt64(text.dropLast()), count > 0 else { return nil }
    let seconds: UInt64
    switch unit {
    case "s": seconds = 1
    case "m": seconds = 60
    case "h": seconds = 3_600
    case "d": seconds = 86_400
    default: return nil
    }
    let (product, overflow) = count.multipliedReportingOverflow(by: seconds)
    return overflow ? nil : product
}

enum KeyringFiles {
    static func read(_ path: String) throws -> Keyring {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the keyring \(path)") }
        do { return try Keyring(parsing: Array(data)) } catch { throw ValidationError("\(path): \(error)") }
    }

    static func write(_ keyring: Keyring, to path: String) throws { try writeSecretFile(keyring.fileText, to: path) }
}

/// Writes `text` to `path` readable by its owner only (0600), replacing it atomically.
func writeSecretFile(_ text: String, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw ValidationError("cannot write \(path)")
    }
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw ValidationError("cannot write \(path)")
    }
}
