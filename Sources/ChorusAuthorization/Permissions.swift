/// The decision function of client authorization: may a caller holding
/// these roles perform this action on this resource?
///
/// A caller is allowed exactly when one of its roles has a grant naming the
/// action with a pattern matching the resource's name (`Grant.allows`). A
/// role the catalog does not know grants nothing (a token naming a role that
/// a newer roles file removed loses that role's permissions at once). There
/// is no deny rule, so the answer is monotone in the roles: more roles never
/// allow less. Nothing here depends on dictionary order.
public struct Permissions: Sendable {
    /// Every known role by name: the built-in ones, then a roles file's.
    public let roles: [String: Role]

    /// The built-in roles and `additional` ones (a roles file's), which may
    /// not reuse a built-in name or each other's.
    public init(additional: [Role] = []) throws(RoleFileError) {
        var roles: [String: Role] = [:]
        for role in BuiltInRoles.all { roles[role.name] = role }
        for role in additional {
            guard roles[role.name] == nil else { throw RoleFileError("role '\(role.name)' is defined twice (or is built in)") }
            roles[role.name] = role
        }
        self.roles = roles
    }

    /// The built-in roles only.
    public static let builtIn: Permissions = {
        do { return try Permissions() } catch { preconditionFailure("the built-in roles conflict: \(error)") }
    }()

    public func allows(_ roleNames: [String], _ action: Action, _ resource: Resource) -> Bool {
        precondition(action.kind == resource.kind, "\(action) does not apply to \(resource)")
        return roleNames.contains { roles[$0]?.allows(action, resource) ?? false }
    }

    /// Whether some grant of these roles names the action at all, on any
    /// name: listings (every keyspace, every group) need it, and show only
    /// what `allows` admits.
    public func allowsSome(_ roleNames: [String], _ action: Action) -> Bool {
        roleNames.contains { name in roles[name]?.grants.contains { $0.actions.contains(action) } ?? false }
    }

    /// The known role names, sorted.
    public var roleNames: [String] { roles.keys.sorted() }
}
