import ChorusAPI
import ChorusClocks
import ChorusCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import ChorusHTTP

/// `/v1/crdt/{keyspace}/{type}/{key}` on a one-node leaderless keyspace in
/// this process: every type's operations and JSON, removes, the session
/// token on every answer, and bad input answered with its code.
@Suite struct LeaderlessCRDTRouteTests {
    static func withLeaderlessKeyspace(
        causal: Bool = false, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            let definition = #"{"replication":"leaderless","replicas":1,"readQuorum":1,"writeQuorum":1,"causal":\#(causal)}"#
            let created = try await client.execute(uri: "/v1/keyspaces/carts", method: .put, body: ByteBuffer(string: definition))
            #expect(created.status == .ok, "\(String(buffer: created.body))")
            try await body(client)
        }
    }

    static func post(_ client: any TestClientProtocol, _ path: String, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, body: ByteBuffer(string: body))
    }

    static func value(_ client: any TestClientProtocol, _ path: String) async throws -> JSONValue? {
        let response = try await client.execute(uri: path, method: .get)
        #expect(response.status == .ok, "\(path): \(String(buffer: response.body))")
        return try KeyValueRouteTests.json(response)["value"]
    }

    @Test func everyTypeAppliesItsOperationsAndReadsAsJSON() async throws {
        try await Self.withLeaderlessKeyspace { client in
            // Counter.
            #expect(try await Self.value(client, "/v1/crdt/carts/counter/visits") == 0, "absent reads as empty")
            let incremented = try await Self.post(client, "/v1/crdt/carts/counter/visits", #"{"increment":5}"#)
            #expect(incremented.status == .ok)
            let answer = try KeyValueRouteTests.json(incremented)
            #expect(answer["value"] == 5 && answer["type"] == "counter" && answer["acknowledgements"] == 1 && answer["durable"] == 1)
            #expect(incremented.headers[ChorusHeaders.session] != nil)
            _ = try await Self.post(client, "/v1/crdt/carts/counter/visits", #"{"increment":-2}"#)
            #expect(try await Self.value(client, "/v1/crdt/carts/counter/visits") == 3)
            _ = try await Self.post(client, "/v1/crdt/carts/counter/visits", #"{"reset":true}"#)
            #expect(try await Self.value(client, "/v1/crdt/carts/counter/visits") == 0)

            // Set.
            _ = try await Self.post(client, "/v1/crdt/carts/set/cart%2F1", #"{"add":["pear","apple","fig"]}"#)
            _ = try await Self.post(client, "/v1/crdt/carts/set/cart%2F1", #"{"remove":["fig"]}"#)
            #expect(try await Self.value(client, "/v1/crdt/carts/set/cart%2F1") == ["apple", "pear"])

            // Register and flag.
            _ = try await Self.post(client, "/v1/crdt/carts/register/colour", #"{"assign":"blue"}"#)
            _ = try await Self.post(client, "/v1/crdt/carts/register/colour", #"{"assign":"green"}"#)
            #expect(try await Self.value(client, "/v1/crdt/carts/register/colour") == "green")
            _ = try await Self.post(client, "/v1/crdt/carts/flag/vip", #"{"enable":true}"#)
            #expect(try await Self.value(client, "/v1/crdt/carts/flag/vip") == true)
            _ = try await Self.post(client, "/v1/crdt/carts/flag/vip", #"{"disable":true}"#)
            #expect(try await Self.value(client, "/v1/crdt/carts/flag/vip") == false)

            // Map: typed fields, nesting, removal of one field.
            let update = #"""
                {"update":{"visits":{"counter":{"increment":2}},"owner":{"register":{"assign":"ann"}},
                 "tags":{"set":{"add":["new","sale"]}},"vip":{"flag":{"enable":true}},
                 "address":{"map":{"update":{"city":{"register":{"assign":"Lyon"}}}}}}}
                """#
            let mapped = try await Self.post(client, "/v1/crdt/carts/map/profile", update)
            #expect(mapped.status == .ok, "\(String(buffer: mapped.body))")
            _ = try await Self.post(client, "/v1/crdt/carts/map/profile", #"{"remove":[{"name":"vip","type":"flag"}],"update":{"tags":{"set":{"remove":"sale"}}}}"#)
            let profile = try #require(try await Self.value(client, "/v1/crdt/carts/map/profile"))
            #expect(profile["visits"]?["counter"] == 2)
            #expect(profile["owner"]?["register"] == "ann")
            #expect(profile["tags"]?["set"] == ["new"])
            #expect(profile["address"]?["map"]?["city"]?["register"] == "Lyon")
            #expect(profile["vip"] == nil, "removed")

            // DELETE removes everything of the type.
            let deleted = try await client.execute(uri: "/v1/crdt/carts/set/cart%2F1", method: .delete)
            #expect(deleted.status == .ok)
            #expect(try await Self.value(client, "/v1/crdt/carts/set/cart%2F1") == [])
            let cleared = try await client.execute(uri: "/v1/crdt/carts/map/profile", method: .delete)
            #expect(cleared.status == .ok)
            #expect(try await Self.value(client, "/v1/crdt/carts/map/profile") == .object(JSONObject()))
        }
    }

    @Test func badOperationsTypesAndKeyspacesGetTheirCodes() async throws {
        try await Self.withLeaderlessKeyspace { client in
            let cases: [(String, String, ErrorCode)] = [
                ("/v1/crdt/carts/counter/c", #"{"increment":"five"}"#, .invalidOperation),
                ("/v1/crdt/carts/counter/c", #"{"increment":1,"reset":true}"#, .invalidOperation),
                ("/v1/crdt/carts/counter/c", #"{"add":["x"]}"#, .invalidOperation),
                ("/v1/crdt/carts/counter/c", #"{"reset":false}"#, .invalidOperation),
                ("/v1/crdt/carts/set/s", #"{"add":[]}"#, .invalidOperation),
                ("/v1/crdt/carts/set/s", #"{"add":[1]}"#, .invalidOperation),
                ("/v1/crdt/carts/register/r", #"{"assign":3}"#, .invalidOperation),
                ("/v1/crdt/carts/map/m", #"{"update":{"f":{"vector":{"x":1}}}}"#, .invalidOperation),
                ("/v1/crdt/carts/map/m", #"{"update":{}}"#, .invalidOperation),
                ("/v1/crdt/carts/map/m", #"{"remove":[{"name":"f"}]}"#, .invalidOperation),
                ("/v1/crdt/carts/map/m", #"{"frobnicate":true}"#, .invalidOperation),
                ("/v1/crdt/carts/counter/c", "not json", .invalidJSON),
                ("/v1/crdt/carts/counter/c", "[1]", .invalidOperation),
                ("/v1/crdt/carts/vector/c", #"{"increment":1}"#, .invalidParameter),
                ("/v1/crdt/nowhere/counter/c", #"{"increment":1}"#, .keyspaceNotFound),
                ("/v1/crdt/default/counter/c", #"{"increment":1}"#, .wrongReplicationMode),
                ("/v1/crdt/carts/counter/c?w=0", #"{"increment":1}"#, .invalidParameter),
            ]
            for (path, body, code) in cases {
                let response = try await Self.post(client, path, body)
                #expect(KeyValueRouteTests.code(response) == code, "\(path) \(body): \(String(buffer: response.body))")
                #expect((400..<500).contains(response.status.code), "\(path) \(body)")
            }
            let put = try await client.execute(uri: "/v1/crdt/carts/counter/c", method: .put, body: ByteBuffer(string: "1"))
            #expect(put.status == .methodNotAllowed && put.headers[.allow] == "GET, POST, DELETE", "\(put.headers)")
            let badToken = try await client.execute(
                uri: "/v1/crdt/carts/counter/c", method: .get, headers: [ChorusHeaders.session: "%%%"])
            #expect(KeyValueRouteTests.code(badToken) == .invalidSessionToken)
        }
    }

    /// On a causal keyspace the session token grows with what the session
    /// wrote and is accepted back; a merged pair of tokens is accepted too.
    @Test func aCausalKeyspaceAdvancesTheSessionToken() async throws {
        try await Self.withLeaderlessKeyspace(causal: true) { client in
            let first = try await Self.post(client, "/v1/crdt/carts/counter/c", #"{"increment":1}"#)
            #expect(first.status == .ok, "\(String(buffer: first.body))")
            let token = try #require(first.headers[ChorusHeaders.session])
            let parsed = try SessionToken(parsing: token)
            #expect(!parsed.leaderless.isEmpty, "a causal write is a dependency of the session")
            let second = try await client.execute(
                uri: "/v1/crdt/carts/counter/c", method: .post, headers: [ChorusHeaders.session: token],
                body: ByteBuffer(string: #"{"increment":1}"#))
            let advanced = try SessionToken(parsing: try #require(second.headers[ChorusHeaders.session]))
            #expect(advanced.leaderless.dominates(parsed.leaderless) && advanced.leaderless != parsed.leaderless)
            let read = try await client.execute(
                uri: "/v1/crdt/carts/counter/c", method: .get, headers: [ChorusHeaders.session: "\(token), \(advanced.text)"])
            #expect(read.status == .ok)
            #expect(try KeyValueRouteTests.json(read)["value"] == 2)
        }
    }
}
