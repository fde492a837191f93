/// A named set of grants. A caller's permissions are the union of its
/// roles' grants: there is no deny, so adding a role never takes a
/// permission away (the property tests check it).
public struct Role: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let grants: [Grant]

    public init(name: String, grants: [Grant]) {
        precondition(Role.isValidName(name), "invalid role name '\(name)'")
        self.name = name
        self.grants = grants
    }

    /// 1 to `maximumRoleNameBytes` of `a-z 0-9 - _ .`, starting with a letter or digit.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= AuthorizationLimits.maximumRoleNameBytes else { return false }
        func isLetterOrDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isLetterOrDigit(first) else { return false }
        return bytes.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    public func allows(_ action: Action, _ resource: Resource) -> Bool {
        grants.contains { $0.allows(action, resource) }
    }

    public var description: String { "\(name): \(grants.map(\.description).joined(separator: "; "))" }
}
