import ChorusCore
import Testing

@testable import ChorusAuthorization

/// `Permissions.allows` against a dumb reference (every role, every grant,
/// every pattern, by string operations), on seeded random roles, names and
/// questions; and the laws the model promises: union of roles, no deny,
/// unknown roles grant nothing, the built-in roles exactly.
@Suite struct PermissionsTests {
    /// The reference: the definition in words, with no shared code beyond the data.
    static func reference(_ roles: [Role], _ names: [String], _ action: Action, _ resource: Resource) -> Bool {
        for role in roles where names.contains(role.name) {
            for grant in role.grants where grant.actions.contains(action) {
                if resource.kind == .cluster { return true }
                for pattern in grant.patterns {
                    let text = pattern.description
                    if text.hasSuffix("*") {
                        if resource.name.hasPrefix(String(text.dropLast())) { return true }
                    } else if text == resource.name {
                        return true
                    }
                }
            }
        }
        return false
    }

    static let alphabet = ["a", "b", "$", "-"]

    static func randomName(_ random: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...3, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
    }

    static func randomPattern(_ random: inout SeededGenerator) -> NamePattern {
        let name = randomName(&random)
        if name.isEmpty || Bool.random(using: &random) { return .prefix(name) }
        return .exact(name)
    }

    static func randomResource(_ kind: ResourceKind, _ random: inout SeededGenerator) -> Resource {
        let name = randomName(&random)
        switch kind {
        case .keyspace: return .keyspace(name)
        case .stream: return .stream(name)
        case .projection: return .projection(name)
        case .saga: return .saga(name)
        case .cluster: return .cluster
        }
    }

    static func randomRoles(_ random: inout SeededGenerator) -> [Role] {
        (0..<Int.random(in: 1...4, using: &random)).map { index in
            let grants = (0..<Int.random(in: 1...3, using: &random)).map { _ in
                Grant(
                    actions: (0..<Int.random(in: 1...3, using: &random)).map { _ in Action.allCases.randomElement(using: &random)! },
                    patterns: (0..<Int.random(in: 1...2, using: &random)).map { _ in randomPattern(&random) })
            }
            return Role(name: "role-\(index)", grants: grants)
        }
    }

    @Test func agreesWithTheReference() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("PermissionsTests.agreesWithTheReference seed \(seed)")
        var random = SeededGenerator(seed: seed)
        var allowed = 0
        for _ in 0..<400 {
            let roles = Self.randomRoles(&random)
            let permissions = try Permissions(additional: roles)
            for _ in 0..<25 {
                let names = roles.map(\.name).filter { _ in Bool.random(using: &random) } + ["unknown-role", "admin"].filter { _ in random.chance(0.1) }
                let action = Action.allCases.randomElement(using: &random)!
                let resource = Self.randomResource(action.kind, &random)
                let expected = Self.reference(roles + BuiltInRoles.all, names, action, resource)
                #expect(permissions.allows(names, action, resource) == expected, "seed \(seed): \(names) \(action) \(resource)")
                if expected { allowed += 1 }
            }
        }
        // Both answers occur often enough for the comparison to mean something.
        #expect(allowed > 1_000 && allowed < 9_000, "seed \(seed): \(allowed) of 10000 allowed")
    }

    @Test func moreRolesNeverAllowLess() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("PermissionsTests.moreRolesNeverAllowLess seed \(seed)")
        var random = SeededGenerator(seed: seed)
        for _ in 0..<300 {
            let roles = Self.randomRoles(&random)
            let permissions = try Permissions(additional: roles)
            let some = roles.map(\.name).filter { _ in Bool.random(using: &random) }
            let action = Action.allCases.randomElement(using: &random)!
            let resource = Self.randomResource(action.kind, &random)
            if permissions.allows(some, action, resource) {
                #expect(permissions.allows(some + roles.map(\.name), action, resource), "seed \(seed)")
            }
            // A role allowed through a prefix is allowed through every shorter prefix.
            if case .prefix(let prefix) = Self.randomPattern(&random), !prefix.isEmpty {
                let longer = try Permissions(additional: [Role(name: "p", grants: [Grant(actions: [action], patterns: [.prefix(prefix)])])])
                let shorter = try Permissions(additional: [Role(name: "p", grants: [Grant(actions: [action], patterns: [.prefix(String(prefix.dropLast()))])])])
                if longer.allows(["p"], action, resource) { #expect(shorter.allows(["p"], action, resource), "seed \(seed)") }
            }
        }
    }

    @Test func noRolesAndUnknownRolesAllowNothing() {
        for action in Action.allCases {
            let resource = Self.resource(for: action, name: "x")
            #expect(!Permissions.builtIn.allows([], action, resource))
            #expect(!Permissions.builtIn.allows(["nobody", "Admin"], action, resource))
            #expect(Permissions.builtIn.allows(["admin"], action, resource))
        }
    }

    static func resource(for action: Action, name: String) -> Resource {
        switch action.kind {
        case .keyspace: .keyspace(name)
        case .stream: .stream(name)
        case .projection: .projection(name)
        case .saga: .saga(name)
        case .cluster: .cluster
        }
    }

    /// The built-in roles exactly as the README and `BuiltInRoles` document them.
    @Test func builtInRolesGrantExactlyTheirDocumentedActions() {
        let expected: [String: Set<String>] = [
            "admin": Set(Action.allCases.map(\.rawValue)),
            "writer": [
                "keyspace.read", "keyspace.write", "stream.read", "stream.append", "stream.subscribe", "projection.query",
                "saga.start", "saga.read",
            ],
            "reader": ["keyspace.read", "stream.read", "stream.subscribe", "projection.query", "saga.read"],
            "monitor": ["cluster.metrics"],
        ]
        #expect(Permissions.builtIn.roleNames == ["admin", "monitor", "reader", "writer"])
        for (role, actions) in expected {
            for action in Action.allCases {
                for name in ["", "orders", "$all", "$kv-default"] {
                    #expect(
                        Permissions.builtIn.allows([role], action, Self.resource(for: action, name: name)) == actions.contains(action.rawValue),
                        "\(role) \(action) \(name)")
                }
            }
        }
    }

    @Test func prefixGrantsDoNotCoverAll() throws {
        let permissions = try Permissions(additional: [
            Role(name: "orders", grants: [Grant(actions: [.streamRead], patterns: [NamePattern("orders-*")!])])
        ])
        #expect(permissions.allows(["orders"], .streamRead, .stream("orders-1")))
        #expect(permissions.allows(["orders"], .streamRead, .stream("orders-")))
        #expect(!permissions.allows(["orders"], .streamRead, .stream("orders")))
        #expect(!permissions.allows(["orders"], .streamRead, .stream("$all")))
        #expect(!permissions.allows(["orders"], .streamAppend, .stream("orders-1")))
        #expect(permissions.allowsSome(["orders"], .streamRead))
        #expect(!permissions.allowsSome(["orders"], .streamAppend))
        #expect(!permissions.allowsSome(["unknown"], .streamRead))
    }

    @Test func aRoleMayNotRedefineABuiltInOne() {
        #expect(throws: RoleFileError("role 'admin' is defined twice (or is built in)")) {
            try Permissions(additional: [Role(name: "admin", grants: [.everything])])
        }
    }

    @Test func namePatterns() {
        #expect(NamePattern("*") == .everything)
        #expect(NamePattern("ab*") == .prefix("ab"))
        #expect(NamePattern("ab") == .exact("ab"))
        #expect(NamePattern("a*b") == nil)
        #expect(NamePattern("**") == nil)
        #expect(NamePattern("") == nil)
        #expect(NamePattern(String(repeating: "a", count: AuthorizationLimits.maximumPatternBytes)) != nil)
        #expect(NamePattern(String(repeating: "a", count: AuthorizationLimits.maximumPatternBytes + 1)) == nil)
        #expect(Action.expanding("stream.*") == [.streamRead, .streamAppend, .streamSubscribe, .streamDelete, .streamAdmin])
        #expect(Action.expanding("*") == Action.allCases)
        #expect(Action.expanding("stream.write") == nil)
        #expect(Action.expanding("bogus.*") == nil)
    }
}
