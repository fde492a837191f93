import ChorusCore

/// Why a roles file was refused, with where.
public struct RoleFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Roles beyond the built-in ones, from a JSON file (`chorus node --auth-roles FILE`):
///
/// ```json
/// {"roles": [
///   {"name": "orders-service", "grants": [
///     {"actions": ["stream.read", "stream.append", "stream.subscribe"], "resources": ["orders-*"]},
///     {"actions": ["keyspace.*"], "resources": ["orders"]}]}]}
/// ```
///
/// An action is `kind.verb`, `kind.*` or `*` (`Action.expanding`); a
/// resource pattern is a name or `prefix*` (`NamePattern`). Unknown fields,
/// unknown actions and malformed patterns are refused, each with its place,
/// so a typo never silently grants nothing; every count and length is
/// bounded (`AuthorizationLimits`) before anything is kept.
public enum RoleFile {
    public static func parse(_ bytes: [UInt8]) throws(RoleFileError) -> [Role] {
        guard bytes.count <= AuthorizationLimits.maximumFileBytes else {
            throw RoleFileError("a roles file may be at most \(AuthorizationLimits.maximumFileBytes) bytes")
        }
        let json: JSONValue
        do { json = try JSONValue(parsing: bytes) } catch { throw RoleFileError("the roles file is not JSON: \(error)") }
        try expectFields(json, ["roles"], at: "the roles file")
        guard let entries = json["roles"]?.arrayValue else { throw RoleFileError("the roles file needs a \"roles\" array") }
        guard entries.count <= AuthorizationLimits.maximumRoleCount else {
            throw RoleFileError("at most \(AuthorizationLimits.maximumRoleCount) roles")
        }
        var roles: [Role] = []
        for (index, entry) in entries.enumerated() {
            let place = "roles[\(index)]"
            try expectFields(entry, ["name", "grants"], at: place)
            guard let name = entry["name"]?.stringValue, Role.isValidName(name) else {
                throw RoleFileError("\(place).name must be 1 to \(AuthorizationLimits.maximumRoleNameBytes) of a-z 0-9 - _ . (starting with a letter or digit)")
            }
            guard let grantEntries = entry["grants"]?.arrayValue,
                (1...AuthorizationLimits.maximumGrantsPerRole).contains(grantEntries.count)
            else {
                throw RoleFileError("\(place).grants must be an array of 1 to \(AuthorizationLimits.maximumGrantsPerRole) grants")
            }
            var grants: [Grant] = []
            for (grantIndex, grantEntry) in grantEntries.enumerated() {
                grants.append(try grant(grantEntry, at: "\(place).grants[\(grantIndex)]"))
            }
            roles.append(Role(name: name, grants: grants))
        }
        return roles
    }

    static func grant(_ json: JSONValue, at place: String) throws(RoleFileError) -> Grant {
        try expectFields(json, ["actions", "resources"], at: place)
        let limit = AuthorizationLimits.maximumPatternsPerGrant
        guard let actionNames = json["actions"]?.arrayValue, (1...limit).contains(actionNames.count) else {
            throw RoleFileError("\(place).actions must be an array of 1 to \(limit) action names")
        }
        guard let patternTexts = json["resources"]?.arrayValue, (1...limit).contains(patternTexts.count) else {
            throw RoleFileError("\(place).resources must be an array of 1 to \(limit) name patterns")
        }
        var actions: [Action] = []
        for value in actionNames {
            guard let name = value.stringValue, let expanded = Action.expanding(name) else {
                throw RoleFileError(
                    "\(place).actions: '\(value.stringValue ?? value.text)' is not an action (one of \(Action.allCases.map(\.rawValue).joined(separator: ", ")), kind.* or *)")
            }
            actions += expanded
        }
        var patterns: [NamePattern] = []
        for value in patternTexts {
            guard let text = value.stringValue, let pattern = NamePattern(text) else {
                throw RoleFileError("\(place).resources: '\(value.stringValue ?? value.text)' is not a name or prefix* pattern")
            }
            patterns.append(pattern)
        }
        return Grant(actions: actions, patterns: patterns)
    }

    static func expectFields(_ json: JSONValue, _ known: [String], at place: String) throws(RoleFileError) {
        guard let object = json.objectValue else { throw RoleFileError("\(place) must be a JSON object") }
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw RoleFileError("\(place): unknown field '\(unknown)' (the fields are \(known.joined(separator: ", ")))")
        }
    }
}
