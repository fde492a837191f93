import Testing

@testable import ChorusAuthorization

@Suite struct RoleFileTests {
    static func parse(_ text: String) throws(RoleFileError) -> [Role] { try RoleFile.parse(Array(text.utf8)) }

    @Test func parsesRolesWithWildcardsAndPrefixes() throws {
        let roles = try Self.parse(
            """
            {"roles": [{"name": "orders-service", "grants": [
              {"actions": ["stream.read", "stream.append"], "resources": ["orders-*"]},
              {"actions": ["keyspace.*"], "resources": ["orders", "carts"]}]}]}
            """)
        #expect(roles.count == 1)
        #expect(roles[0].name == "orders-service")
        #expect(roles[0].grants == [
            Grant(actions: [.streamAppend, .streamRead], patterns: [.prefix("orders-")]),
            Grant(actions: [.keyspaceAdmin, .keyspaceRead, .keyspaceWrite], patterns: [.exact("carts"), .exact("orders")]),
        ])
        let permissions = try Permissions(additional: roles)
        #expect(permissions.allows(["orders-service"], .keyspaceAdmin, .keyspace("carts")))
        #expect(!permissions.allows(["orders-service"], .keyspaceRead, .keyspace("cart")))
        #expect(!permissions.allows(["orders-service"], .streamDelete, .stream("orders-1")))
    }

    @Test func refusesEachMistakeWithItsPlace() {
        let cases: [(String, String)] = [
            ("[]", "the roles file must be a JSON object"),
            ("{\"roles\":[], \"x\":1}", "the roles file: unknown field 'x' (the fields are roles)"),
            ("{\"roles\":[{\"name\":\"Bad\",\"grants\":[]}]}", "roles[0].name must be 1 to 64 of a-z 0-9 - _ . (starting with a letter or digit)"),
            ("{\"roles\":[{\"name\":\"r\",\"grants\":[]}]}", "roles[0].grants must be an array of 1 to 256 grants"),
            ("{\"roles\":[{\"name\":\"r\",\"grants\":[{\"actions\":[\"stream.write\"],\"resources\":[\"*\"]}]}]}",
             "roles[0].grants[0].actions: 'stream.write' is not an action (one of \(Action.allCases.map(\.rawValue).joined(separator: ", ")), kind.* or *)"),
            ("{\"roles\":[{\"name\":\"r\",\"grants\":[{\"actions\":[\"*\"],\"resources\":[\"a*b\"]}]}]}",
             "roles[0].grants[0].resources: 'a*b' is not a name or prefix* pattern"),
            ("{\"roles\":[{\"name\":\"r\",\"grants\":[{\"actions\":[\"*\"],\"resources\":[\"*\"],\"deny\":true}]}]}",
             "roles[0].grants[0]: unknown field 'deny' (the fields are actions, resources)"),
        ]
        for (text, message) in cases {
            #expect(throws: RoleFileError(message), "\(text)") { try Self.parse(text) }
        }
        #expect(throws: RoleFileError("a roles file may be at most \(AuthorizationLimits.maximumFileBytes) bytes")) {
            try RoleFile.parse([UInt8](repeating: 0x20, count: AuthorizationLimits.maximumFileBytes + 1))
        }
    }
}
