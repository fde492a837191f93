import ChorusAPI
import ChorusAuthorization
import ChorusCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import ChorusHTTP
@testable import ChorusService

/// The permission matrix (issue 15): every operation of `openapi.yaml`
/// (parsed from the embedded document, so an endpoint added there without a
/// rule here fails), called over real HTTP against an in-process node with
/// authorization enforced, by every kind of caller:
///
/// - no token, an expired token, a forged signature, a token of a key the
///   node does not hold: exactly 401 `unauthenticated`, with `WWW-Authenticate`;
/// - a token of each built-in role: exactly 403 `permission_denied` when the
///   role lacks the operation's action, and neither 401 nor 403 when it has it;
/// - the open operations (`/healthz`, `/openapi.yaml`): 200 for everyone,
///   even with a bad token.
///
/// The roles' actions are written out here, independently of `BuiltInRoles`.
@Suite struct PermissionMatrixTests {
    enum Rule: Sendable {
        case open
        case action(Action)
    }

    /// One operation: its rule, and a concrete request that the route parses
    /// (so a caller without the permission reaches the service's check).
    struct Operation: Sendable {
        var rule: Rule
        var path: String
        var body: String? = nil
        var serverSentEvents = false
    }

    static let events = #"[{"type":"E","data":1}]"#

    /// "METHOD /openapi/path" → the rule and a sample request.
    static let operations: [String: Operation] = [
        "GET /v1/kv/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/kv/k1"),
        "PUT /v1/kv/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/kv/k1", body: "v"),
        "DELETE /v1/kv/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/kv/k1"),
        "GET /v1/kv/{keyspace}/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/kv/ks/k1"),
        "PUT /v1/kv/{keyspace}/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/kv/ks/k1", body: "v"),
        "DELETE /v1/kv/{keyspace}/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/kv/ks/k1"),
        "GET /v1/kv": Operation(rule: .action(.keyspaceRead), path: "/v1/kv?prefix=k"),
        "GET /v1/crdt/{keyspace}/counter/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/crdt/ks/counter/c1"),
        "POST /v1/crdt/{keyspace}/counter/{key}": Operation(
            rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/counter/c1", body: #"{"increment":1}"#),
        "DELETE /v1/crdt/{keyspace}/counter/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/counter/c1"),
        "GET /v1/crdt/{keyspace}/set/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/crdt/ks/set/s1"),
        "POST /v1/crdt/{keyspace}/set/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/set/s1", body: #"{"add":["a"]}"#),
        "DELETE /v1/crdt/{keyspace}/set/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/set/s1"),
        "GET /v1/crdt/{keyspace}/register/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/crdt/ks/register/r1"),
        "POST /v1/crdt/{keyspace}/register/{key}": Operation(
            rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/register/r1", body: #"{"assign":"x"}"#),
        "DELETE /v1/crdt/{keyspace}/register/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/register/r1"),
        "GET /v1/crdt/{keyspace}/flag/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/crdt/ks/flag/f1"),
        "POST /v1/crdt/{keyspace}/flag/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/flag/f1", body: #"{"enable":true}"#),
        "DELETE /v1/crdt/{keyspace}/flag/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/flag/f1"),
        "GET /v1/crdt/{keyspace}/map/{key}": Operation(rule: .action(.keyspaceRead), path: "/v1/crdt/ks/map/m1"),
        "POST /v1/crdt/{keyspace}/map/{key}": Operation(
            rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/map/m1", body: #"{"update":{"visits":{"counter":{"increment":1}}}}"#),
        "DELETE /v1/crdt/{keyspace}/map/{key}": Operation(rule: .action(.keyspaceWrite), path: "/v1/crdt/ks/map/m1"),
        "GET /v1/keyspaces": Operation(rule: .action(.keyspaceRead), path: "/v1/keyspaces"),
        "GET /v1/keyspaces/{name}": Operation(rule: .action(.keyspaceRead), path: "/v1/keyspaces/ks"),
        "PUT /v1/keyspaces/{name}": Operation(rule: .action(.keyspaceAdmin), path: "/v1/keyspaces/ks2", body: #"{"replication":"raft"}"#),
        "DELETE /v1/keyspaces/{name}": Operation(rule: .action(.keyspaceAdmin), path: "/v1/keyspaces/ks3"),
        "POST /v1/streams": Operation(
            rule: .action(.streamAppend), path: "/v1/streams", body: #"{"streams":[{"stream":"orders-2","events":[{"type":"E","data":1}]}]}"#),
        "GET /v1/streams/{stream}": Operation(rule: .action(.streamRead), path: "/v1/streams/orders-1"),
        "POST /v1/streams/{stream}": Operation(rule: .action(.streamAppend), path: "/v1/streams/orders-1", body: events),
        "DELETE /v1/streams/{stream}": Operation(rule: .action(.streamDelete), path: "/v1/streams/orders-3"),
        "GET /v1/streams/{stream}/metadata": Operation(rule: .action(.streamRead), path: "/v1/streams/orders-1/metadata"),
        "PUT /v1/streams/{stream}/metadata": Operation(
            rule: .action(.streamAdmin), path: "/v1/streams/orders-1/metadata", body: #"{"maxCount":100}"#),
        "GET /v1/streams/{stream}/subscribe": Operation(
            rule: .action(.streamSubscribe), path: "/v1/streams/orders-1/subscribe", serverSentEvents: true),
        "GET /v1/streams/{stream}/groups/{group}": Operation(rule: .action(.streamSubscribe), path: "/v1/streams/orders-1/groups/g"),
        "POST /v1/streams/{stream}/groups/{group}": Operation(rule: .action(.streamAdmin), path: "/v1/streams/orders-1/groups/g2", body: "{}"),
        "DELETE /v1/streams/{stream}/groups/{group}": Operation(rule: .action(.streamAdmin), path: "/v1/streams/orders-1/groups/g3"),
        "GET /v1/streams/$all/groups/{group}": Operation(rule: .action(.streamSubscribe), path: "/v1/streams/$all/groups/ga"),
        "POST /v1/streams/$all/groups/{group}": Operation(rule: .action(.streamAdmin), path: "/v1/streams/$all/groups/ga2", body: "{}"),
        "DELETE /v1/streams/$all/groups/{group}": Operation(rule: .action(.streamAdmin), path: "/v1/streams/$all/groups/ga3"),
        "GET /v1/streams/{stream}/groups/{group}/consume": Operation(
            rule: .action(.streamSubscribe), path: "/v1/streams/orders-1/groups/g/consume", serverSentEvents: true),
        "POST /v1/streams/{stream}/groups/{group}/ack": Operation(
            rule: .action(.streamSubscribe), path: "/v1/streams/orders-1/groups/g/ack", body: #"{"deliveryIds":["source-0"]}"#),
        "POST /v1/streams/{stream}/groups/{group}/nack": Operation(
            rule: .action(.streamSubscribe), path: "/v1/streams/orders-1/groups/g/nack?action=retry",
            body: #"{"deliveryIds":["source-0"],"reason":"later"}"#),
        "POST /v1/streams/{stream}/groups/{group}/replay-parked": Operation(
            rule: .action(.streamAdmin), path: "/v1/streams/orders-1/groups/g/replay-parked"),
        "GET /v1/streams/{stream}/groups/{group}/parked": Operation(rule: .action(.streamAdmin), path: "/v1/streams/orders-1/groups/g/parked"),
        "GET /v1/all": Operation(rule: .action(.streamRead), path: "/v1/all"),
        "GET /v1/all/subscribe": Operation(rule: .action(.streamSubscribe), path: "/v1/all/subscribe", serverSentEvents: true),
        "GET /v1/groups": Operation(rule: .action(.streamSubscribe), path: "/v1/groups"),
        "GET /v1/projections": Operation(rule: .action(.projectionQuery), path: "/v1/projections"),
        "GET /v1/projections/{name}": Operation(rule: .action(.projectionQuery), path: "/v1/projections/orders"),
        "GET /v1/projections/{name}/query/{query}": Operation(
            rule: .action(.projectionQuery), path: "/v1/projections/orders/query/by-customer?customer=c1"),
        "POST /v1/projections/{name}/retry": Operation(rule: .action(.projectionAdmin), path: "/v1/projections/orders/retry"),
        "POST /v1/projections/{name}/skip": Operation(rule: .action(.projectionAdmin), path: "/v1/projections/orders/skip"),
        "POST /v1/projections/{name}/rebuild": Operation(rule: .action(.projectionAdmin), path: "/v1/projections/orders/rebuild"),
        "GET /v1/sagas/definitions": Operation(rule: .action(.sagaRead), path: "/v1/sagas/definitions"),
        "PUT /v1/sagas/definitions/{name}": Operation(
            rule: .action(.sagaOperate), path: "/v1/sagas/definitions/matrix",
            body: #"{"name":"matrix","version":1,"steps":[{"id":"a","action":{"participant":"p","method":"POST","path":"/a"}}]}"#),
        "GET /v1/sagas/participants": Operation(rule: .action(.sagaRead), path: "/v1/sagas/participants"),
        "PUT /v1/sagas/participants/{name}": Operation(
            rule: .action(.sagaOperate), path: "/v1/sagas/participants/p", body: #"{"url":"http://127.0.0.1:9"}"#),
        "GET /v1/sagas": Operation(rule: .action(.sagaRead), path: "/v1/sagas?state=parked"),
        "POST /v1/sagas": Operation(rule: .action(.sagaStart), path: "/v1/sagas", body: #"{"definition":"matrix","id":"m1"}"#),
        "GET /v1/sagas/{definition}/{id}": Operation(rule: .action(.sagaRead), path: "/v1/sagas/matrix/m1"),
        "POST /v1/sagas/{definition}/{id}/cancel": Operation(rule: .action(.sagaOperate), path: "/v1/sagas/matrix/m1/cancel", body: "{}"),
        "POST /v1/sagas/{definition}/{id}/retry": Operation(rule: .action(.sagaOperate), path: "/v1/sagas/matrix/m1/retry", body: "{}"),
        "POST /v1/sagas/{definition}/{id}/resolve": Operation(
            rule: .action(.sagaOperate), path: "/v1/sagas/matrix/m1/resolve", body: #"{"outcome":"succeeded"}"#),
        "GET /v1/cluster": Operation(rule: .action(.clusterMetrics), path: "/v1/cluster"),
        "GET /metrics": Operation(rule: .action(.clusterMetrics), path: "/metrics"),
        "GET /": Operation(rule: .open, path: "/"),
        "GET /healthz": Operation(rule: .open, path: "/healthz"),
        "GET /openapi.yaml": Operation(rule: .open, path: "/openapi.yaml"),
    ]

    /// The built-in roles' actions, as documented (README, `BuiltInRoles`).
    static let roleActions: [(String, Set<Action>)] = [
        ("admin", Set(Action.allCases)),
        ("writer", [.keyspaceRead, .keyspaceWrite, .streamRead, .streamAppend, .streamSubscribe, .projectionQuery, .sagaStart, .sagaRead]),
        ("reader", [.keyspaceRead, .streamRead, .streamSubscribe, .projectionQuery, .sagaRead]),
        ("monitor", [.clusterMetrics]),
    ]

    /// Every `METHOD path` of the document, with whether it is open
    /// (`security: []`) and whether it documents 401 and 403.
    struct DocumentedOperation: Hashable {
        var key: String
        var isOpen: Bool
        var documentsAuthorizationResponses: Bool
    }

    /// A line scanner of the document's `paths:` section (two-space paths,
    /// four-space methods): enough for its fixed layout, and it fails the
    /// test rather than skip anything it does not recognise.
    static func documentedOperations(_ yaml: String) -> [DocumentedOperation] {
        var operations: [DocumentedOperation] = []
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if !line.hasPrefix(" ") && !line.isEmpty { break }
            if line.hasPrefix("  /") && !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
                #expect(line.hasSuffix(":"), "unrecognised path line: \(line)")
            } else if line.hasPrefix("    ") && !line.hasPrefix("     "), line.hasSuffix(":"),
                let method = ["get", "put", "post", "delete", "patch", "head", "options"].first(where: { line == "    \($0):" })
            {
                operations.append(
                    DocumentedOperation(key: "\(method.uppercased()) \(path ?? "?")", isOpen: false, documentsAuthorizationResponses: false))
            } else if !operations.isEmpty {
                if line == "      security: []" { operations[operations.count - 1].isOpen = true }
                if line.contains("\"403\": { $ref: \"#/components/responses/PermissionDenied\" }"),
                    operations.last.map({ _ in true }) ?? false
                {
                    operations[operations.count - 1].documentsAuthorizationResponses = true
                }
            }
        }
        return operations
    }

    @Test func everyDocumentedOperationHasARuleAndEveryRuleAnOperation() {
        let documented = Self.documentedOperations(OpenAPIDocument.yaml)
        #expect(Set(documented.map(\.key)) == Set(Self.operations.keys))
        #expect(documented.count == Set(documented.map(\.key)).count, "an operation is documented twice")
        for operation in documented {
            guard let rule = Self.operations[operation.key]?.rule else { continue }
            switch rule {
            case .open:
                #expect(operation.isOpen, "\(operation.key) is open but the document asks for a token")
            case .action:
                #expect(!operation.isOpen, "\(operation.key) needs a token but the document says security: []")
                #expect(operation.documentsAuthorizationResponses, "\(operation.key) does not document 401 and 403")
            }
        }
    }

    /// The scanner sees an operation added to the document (negative control).
    @Test func aNewEndpointWithoutARuleIsSeen() {
        let extended = OpenAPIDocument.yaml.replacingOccurrences(
            of: "  /v1/cluster:\n", with: "  /v1/cluster/members:\n    post:\n      summary: x\n      responses:\n        \"200\": { description: ok }\n  /v1/cluster:\n")
        let keys = Set(Self.documentedOperations(extended).map(\.key))
        #expect(keys.subtracting(Self.operations.keys) == ["POST /v1/cluster/members"])
    }

    static let keyring = try! Keyring(keys: [Keyring.Key(id: "k1", secret: Array(repeating: 11, count: 32))], activeKeyID: "k1")

    static func token(keyring: Keyring = keyring, roles: [String], issuedAt: UInt64, lifetime: UInt64 = 3_600) throws -> String {
        try TokenAuthority(keyring: keyring, algorithm: HMACSHA256TokenSignature())
            .issue(subject: "matrix", roles: roles, issuedAt: issuedAt, lifetimeSeconds: lifetime)
    }

    @Test func everyOperationAgainstEveryCaller() async throws {
        let now = ServiceAuthorization.systemSeconds()
        let forgedKeyring = try Keyring(keys: [Keyring.Key(id: "k1", secret: Array(repeating: 12, count: 32))], activeKeyID: "k1")
        let foreignKeyring = try Keyring(keys: [Keyring.Key(id: "k9", secret: Array(repeating: 11, count: 32))], activeKeyID: "k9")
        let invalid: [(String, String?)] = [
            ("no token", nil),
            ("expired", try Self.token(roles: ["admin"], issuedAt: now - 7_200)),
            ("forged signature", try Self.token(keyring: forgedKeyring, roles: ["admin"], issuedAt: now)),
            ("unknown key", try Self.token(keyring: foreignKeyring, roles: ["admin"], issuedAt: now)),
        ]
        var tokens: [(String, Set<Action>, String)] = []
        for (role, actions) in Self.roleActions { tokens.append((role, actions, try Self.token(roles: [role], issuedAt: now))) }
        let roleTokens = tokens
        let adminToken = roleTokens[0].2
        let authorization = ServiceAuthorization.enforced(keyring: Self.keyring)
        let checked = Shared(0)
        try await EventRoutesHarness.run(.live, authorization: authorization) { _, client in
            let port = try #require(client.port)
            func send(_ method: HTTPRequest.Method, _ operation: Operation, token: String?) async throws -> (Int, String?, String?) {
                var headers: HTTPFields = [:]
                if let token { headers[.authorization] = "Bearer \(token)" }
                if operation.serverSentEvents {
                    let pairs = token.map { [("Authorization", "Bearer \($0)")] } ?? []
                    return try await ServerSentEventsReader.withStream(port: port, path: operation.path, headers: pairs, timeoutSeconds: 10) {
                        reader in
                        let status = reader.status
                        let body = status == 200 ? "" : try await reader.remainingBody()
                        let code = APIProblem(json: Array(body.utf8))?.code.rawValue
                        return (status, code, reader.head?.headers["WWW-Authenticate"].first)
                    }
                }
                let response = try await client.send(method, operation.path, headers: headers, body: operation.body)
                return (Int(response.status.code), APIProblem(json: Array(response.body.readableBytesView))?.code.rawValue, response.headers[.wwwAuthenticate])
            }
            // Fixtures, so permitted calls have something to act on.
            let headers: HTTPFields = [.authorization: "Bearer \(adminToken)"]
            #expect(try await client.send(.put, "/v1/keyspaces/ks", headers: headers, body: #"{"replication":"raft"}"#).status == .ok)
            #expect(try await client.send(.post, "/v1/streams/orders-1", headers: headers, body: Self.events).status == .ok)
            #expect(try await client.send(.post, "/v1/streams/orders-1/groups/g", headers: headers, body: "{}").status == .created)

            for key in Self.operations.keys.sorted() {
                let operation = Self.operations[key]!
                let method = HTTPRequest.Method(String(key.prefix { $0 != " " }))!
                for (name, token) in invalid {
                    let (status, code, challenge) = try await send(method, operation, token: token)
                    checked.update { $0 += 1 }
                    switch operation.rule {
                    case .open:
                        #expect(status == 200, "\(key) with \(name): \(status)")
                    case .action:
                        #expect(status == 401 && code == "unauthenticated", "\(key) with \(name): \(status) \(code ?? "")")
                        #expect(challenge?.hasPrefix("Bearer realm=\"chorus\"") == true, "\(key) with \(name)")
                    }
                }
                for (role, actions, token) in roleTokens {
                    let (status, code, _) = try await send(method, operation, token: token)
                    checked.update { $0 += 1 }
                    switch operation.rule {
                    case .open:
                        #expect(status == 200, "\(key) as \(role): \(status)")
                    case .action(let action) where actions.contains(action):
                        #expect(status != 401 && status != 403, "\(key) as \(role) (has \(action)): \(status) \(code ?? "")")
                    case .action(let action):
                        #expect(status == 403 && code == "permission_denied", "\(key) as \(role) (lacks \(action)): \(status) \(code ?? "")")
                    }
                }
            }
        }
        let total = Self.operations.count * (invalid.count + Self.roleActions.count)
        #expect(checked.value == total)
        print("PermissionMatrixTests: \(Self.operations.count) operations × \(invalid.count + Self.roleActions.count) callers = \(total) requests")
    }
}

/// A role from a roles file, narrower than the built-in ones: streams by
/// prefix and one keyspace, end to end over HTTP, with listings filtered.
@Suite struct PrefixRoleRouteTests {
    @Test func aPrefixRoleReachesOnlyItsStreamsAndKeyspace() async throws {
        let roles = try RoleFile.parse(Array("""
            {"roles":[{"name":"orders-service","grants":[
              {"actions":["stream.*"],"resources":["orders-*"]},
              {"actions":["keyspace.read"],"resources":["ks"]}]}]}
            """.utf8))
        let authorization = ServiceAuthorization.enforced(keyring: PermissionMatrixTests.keyring, permissions: try Permissions(additional: roles))
        let now = ServiceAuthorization.systemSeconds()
        let service = try PermissionMatrixTests.token(roles: ["orders-service"], issuedAt: now)
        let admin = try PermissionMatrixTests.token(roles: ["admin"], issuedAt: now)
        try await EventRoutesHarness.run(.router, authorization: authorization) { _, client in
            let asAdmin: HTTPFields = [.authorization: "Bearer \(admin)"]
            let asService: HTTPFields = [.authorization: "Bearer \(service)"]
            for name in ["ks", "other"] {
                #expect(try await client.send(.put, "/v1/keyspaces/\(name)", headers: asAdmin, body: #"{"replication":"raft"}"#).status == .ok)
            }
            for stream in ["orders-1", "payments-1"] {
                #expect(try await client.send(.post, "/v1/streams/\(stream)/groups/g", headers: asAdmin, body: "{}").status == .created)
            }
            #expect(try await client.send(.post, "/v1/streams/orders-1", headers: asService, body: PermissionMatrixTests.events).status == .ok)
            #expect(try await client.send(.get, "/v1/streams/orders-1", headers: asService).status == .ok)
            #expect(try await client.send(.post, "/v1/streams/payments-1", headers: asService, body: PermissionMatrixTests.events).status == .forbidden)
            #expect(try await client.send(.get, "/v1/all", headers: asService).status == .forbidden, "a prefix grant does not read $all")
            // A multi-stream append is refused whole if one stream is outside the grant.
            let mixed = #"{"streams":[{"stream":"orders-2","events":[{"type":"E","data":1}]},{"stream":"payments-2","events":[{"type":"E","data":1}]}]}"#
            #expect(try await client.send(.post, "/v1/streams", headers: asService, body: mixed).status == .forbidden)
            #expect(try await client.send(.get, "/v1/streams/orders-2", headers: asAdmin).status == .notFound, "nothing of it was written")
            #expect(try await client.send(.get, "/v1/kv/ks/k", headers: asService).status == .notFound)
            #expect(try await client.send(.put, "/v1/kv/ks/k", headers: asService, body: "v").status == .forbidden)
            #expect(try await client.send(.get, "/v1/kv/other/k", headers: asService).status == .forbidden)
            // Listings show what the caller may read, nothing else.
            let keyspaces = try await client.send(.get, "/v1/keyspaces", headers: asService)
            #expect(keyspaces.json["keyspaces"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["ks"])
            let groups = try await client.send(.get, "/v1/groups", headers: asService)
            #expect(groups.json["groups"]?.arrayValue?.compactMap { $0["stream"]?.stringValue } == ["orders-1"], "\(groups.text)")
            let everything = try await client.send(.get, "/v1/groups", headers: asAdmin)
            #expect(everything.json["groups"]?.arrayValue?.count == 2)
        }
    }
}
