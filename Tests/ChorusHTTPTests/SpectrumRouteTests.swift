import ChorusAPI
import ChorusCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The consistency spectrum on the HTTP API of a real single node: every
/// level, its response headers, the session token, keyspaces with default
/// levels, range reads, and the 4xx codes of bad levels, bounds, tokens and
/// ranges.
@Suite struct SpectrumRouteTests {
    static let session = HTTPField.Name(ChorusHeader.session)!
    static let consistency = HTTPField.Name(ChorusHeader.consistency)!
    static let servedBy = HTTPField.Name(ChorusHeader.servedBy)!
    static let stalenessVersions = HTTPField.Name(ChorusHeader.stalenessVersions)!
    static let stalenessMilliseconds = HTTPField.Name(ChorusHeader.stalenessMilliseconds)!

    static func token(_ response: TestResponse) throws -> SessionToken {
        try SessionToken(parsing: try #require(response.headers[session], "no \(ChorusHeader.session) header"))
    }

    /// The first leader establishes the epoch; wait until a write's token carries it.
    static func establishedToken(_ client: any TestClientProtocol) async throws -> SessionToken {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let put = try await client.execute(uri: "/v1/kv/epoch-probe", method: .put, body: ByteBuffer(string: "x"))
            let token = try token(put)
            if token.epoch != 0 || ContinuousClock.now > deadline { return token }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func everyLevelServesAndSaysWhichServed() async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            let written = try await Self.establishedToken(client)
            #expect(written.epoch != 0, "the leader established a cluster epoch")
            let put = try await client.execute(uri: "/v1/kv/k", method: .put, body: ByteBuffer(string: "v"))
            let afterPut = try Self.token(put)
            #expect(afterPut.epoch == written.epoch && afterPut.index > written.index)
            let queries = [
                ("linearizable", "linearizable"), ("sequential", "sequential"), ("session", "session"),
                ("consistent-prefix", "consistent-prefix"), ("eventual", "eventual"),
                ("bounded-staleness&max-versions=3", "bounded-staleness;max-versions=3"),
                ("bounded-staleness&max-lag=500", "bounded-staleness;max-lag=500"),
            ]
            for (query, served) in queries {
                let get = try await client.execute(
                    uri: "/v1/kv/k?consistency=\(query)", method: .get, headers: [Self.session: afterPut.text])
                #expect(get.status == .ok && String(buffer: get.body) == "v", "\(query)")
                #expect(get.headers[Self.consistency] == served, "\(query)")
                #expect(get.headers[Self.servedBy] == "1", "\(query)")
                let token = try Self.token(get)
                #expect(token.epoch == afterPut.epoch && token.index >= afterPut.index, "\(query): \(token)")
                if query.hasPrefix("bounded") {
                    #expect(get.headers[Self.stalenessVersions] != nil || get.headers[Self.stalenessMilliseconds] != nil, "\(query)")
                }
            }
            let plain = try await client.execute(uri: "/v1/kv/k", method: .get)
            #expect(plain.headers[Self.consistency] == "linearizable", "the default keyspace defaults to linearizable")
        }
    }

    @Test func tokensMergeAndForeignOrMalformedOnesAreRefused() async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            let token = try await Self.establishedToken(client)
            var other = token
            other.index = LogIndex(1)
            let merged = try await client.execute(
                uri: "/v1/kv/epoch-probe?consistency=session", method: .get,
                headers: [Self.session: "\(token.text), \(other.text)"])
            #expect(merged.status == .ok)
            #expect(try Self.token(merged).index >= token.index)

            let foreign = SessionToken(epoch: token.epoch &+ 1, index: token.index)
            for method in [HTTPRequest.Method.get, .put] {
                let refused = try await client.execute(
                    uri: "/v1/kv/epoch-probe?", method: method, headers: [Self.session: foreign.text],
                    body: method == .put ? ByteBuffer(string: "y") : nil)
                #expect(refused.status == .conflict, "\(method)")
                #expect(KeyValueRouteTests.code(refused) == .foreignSessionToken, "\(method)")
            }
            let mixed = try await client.execute(
                uri: "/v1/kv/epoch-probe", method: .get, headers: [Self.session: "\(token.text),\(foreign.text)"])
            #expect(mixed.status == .conflict && KeyValueRouteTests.code(mixed) == .foreignSessionToken)
            for bad in ["%%%", "AAAA", "A", String(repeating: "A", count: 2_000), token.text + "AA"] {
                let response = try await client.execute(uri: "/v1/kv/epoch-probe", method: .get, headers: [Self.session: bad])
                #expect(response.status == .badRequest, "\(bad.prefix(20))")
                #expect(KeyValueRouteTests.code(response) == .invalidSessionToken, "\(bad.prefix(20))")
            }
        }
    }

    @Test func badLevelsAndBoundsAre400InvalidConsistency() async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            let queries = [
                "consistency=bounded-staleness", "consistency=bounded-staleness&max-versions=0",
                "consistency=bounded-staleness&max-lag=-5", "consistency=bounded-staleness&max-lag=3600001",
                "consistency=bounded-staleness&max-versions=1000001", "consistency=session&max-versions=2",
                "max-lag=10", "consistency=causal",
            ]
            for query in queries {
                let response = try await client.execute(uri: "/v1/kv/k?\(query)", method: .get)
                #expect(response.status == .badRequest, "\(query)")
                #expect(KeyValueRouteTests.code(response) == .invalidConsistency, "\(query)")
            }
        }
    }

    @Test func keyspacesHaveDefaultLevelsAndTheirOwnKeys() async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            let create = try await client.execute(
                uri: "/v1/keyspaces/carts", method: .put,
                body: ByteBuffer(string: #"{"replication":"raft","defaultLevel":"session"}"#))
            #expect(create.status == .ok)
            #expect(try KeyValueRouteTests.json(create)["defaultLevel"]?.stringValue == "session")
            let again = try await client.execute(
                uri: "/v1/keyspaces/carts", method: .put,
                body: ByteBuffer(string: #"{"replication":"raft","defaultLevel":"session"}"#))
            #expect(again.status == .ok, "creating the same keyspace again is idempotent")
            let conflicting = try await client.execute(
                uri: "/v1/keyspaces/carts", method: .put,
                body: ByteBuffer(string: #"{"replication":"raft","defaultLevel":"eventual"}"#))
            #expect(conflicting.status == .conflict && KeyValueRouteTests.code(conflicting) == .keyspaceExists)

            let put = try await client.execute(uri: "/v1/kv/carts/alice", method: .put, body: ByteBuffer(string: "3 apples"))
            #expect(put.status == .ok)
            let get = try await client.execute(uri: "/v1/kv/carts/alice", method: .get)
            #expect(get.status == .ok && String(buffer: get.body) == "3 apples")
            #expect(get.headers[Self.consistency] == "session", "the keyspace's default level served it")
            let other = try await client.execute(uri: "/v1/kv/alice", method: .get)
            #expect(other.status == .notFound, "the default keyspace does not see another keyspace's keys")

            let list = try await client.execute(uri: "/v1/keyspaces", method: .get)
            let names = try KeyValueRouteTests.json(list)["keyspaces"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(names == ["default", "carts"])

            let missing = try await client.execute(uri: "/v1/kv/nowhere/k", method: .put, body: ByteBuffer(string: "x"))
            #expect(missing.status == .notFound && KeyValueRouteTests.code(missing) == .keyspaceNotFound)
            let deleted = try await client.execute(uri: "/v1/keyspaces/carts", method: .delete)
            let deletedJSON = try KeyValueRouteTests.json(deleted)
            #expect(deleted.status == .ok && deletedJSON["keys"]?.int64Value == 1)
            let gone = try await client.execute(uri: "/v1/kv/carts/alice", method: .get)
            #expect(gone.status == .notFound && KeyValueRouteTests.code(gone) == .keyspaceNotFound)
        }
    }

    @Test func badKeyspaceDefinitionsAre4xx() async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            let cases: [(String, String, ErrorCode)] = [
                ("Bad_Name", #"{"replication":"raft"}"#, .invalidKeyspace),
                ("ok", #"{"replication":"paxos"}"#, .invalidKeyspace),
                ("ok", #"{"replication":"raft","defaultLevel":"strong"}"#, .invalidConsistency),
                ("ok", #"{"replication":"leaderless","defaultLevel":"linearizable"}"#, .invalidKeyspace),
                ("ok", #"{"replication":"leaderless","replicas":3,"readQuorum":4}"#, .invalidKeyspace),
                ("ok", #"{"replication":"raft","colour":"blue"}"#, .invalidKeyspace),
                ("ok", #"{"replication":"raft""#, .badRequest),
                ("default", #"{"replication":"raft"}"#, .keyspaceExists),
            ]
            for (name, body, code) in cases {
                let response = try await client.execute(uri: "/v1/keyspaces/\(name)", method: .put, body: ByteBuffer(string: body))
                #expect(KeyValueRouteTests.code(response) == code, "\(name) \(body)")
                #expect((400..<500).contains(response.status.code), "\(name) \(body)")
            }
            let deleteDefault = try await client.execute(uri: "/v1/keyspaces/default", method: .delete)
            #expect(deleteDefault.status == .conflict && KeyValueRouteTests.code(deleteDefault) == .keyspaceProtected)
        }
    }

    @Test func rangeReadsPageInByteOrderWithAContinuation() async throws {
        try await KeyValueRouteTests.withRoutes { client, _ in
            for key in ["user/c", "user/a", "item/z", "user/b", "user/d"] {
                _ = try await client.execute(uri: "/v1/kv/\(key.replacingOccurrences(of: "/", with: "%2F"))", method: .put, body: ByteBuffer(string: key))
            }
            var keys: [String] = []
            var after: String?
            var pages = 0
            repeat {
                let query = "prefix=user%2F&limit=2&consistency=consistent-prefix" + (after.map { "&after=\($0.replacingOccurrences(of: "/", with: "%2F"))" } ?? "")
                let page = try await client.execute(uri: "/v1/kv?\(query)", method: .get)
                #expect(page.status == .ok)
                #expect(page.headers[Self.consistency] == "consistent-prefix")
                let json = try KeyValueRouteTests.json(page)
                let entries = try #require(json["entries"]?.arrayValue)
                keys += entries.compactMap { $0["key"]?.stringValue }
                for entry in entries {
                    let value = try #require(entry["value"]?.stringValue.flatMap(Base64URL.decode))
                    #expect(String(decoding: value, as: UTF8.self) == entry["key"]?.stringValue)
                }
                after = json["continuation"]?.stringValue
                pages += 1
            } while after != nil && pages < 10
            #expect(keys == ["user/a", "user/b", "user/c", "user/d"])
            for query in ["limit=0", "limit=1001", "limit=ten", "keyspace=Nope", "prefix=\(String(repeating: "p", count: 1_025))"] {
                let response = try await client.execute(uri: "/v1/kv?\(query)", method: .get)
                #expect(response.status == .badRequest, "\(query)")
                #expect([.invalidRange, .invalidKeyspace].contains(KeyValueRouteTests.code(response)), "\(query)")
            }
            let missing = try await client.execute(uri: "/v1/kv?keyspace=nowhere", method: .get)
            #expect(missing.status == .notFound && KeyValueRouteTests.code(missing) == .keyspaceNotFound)
        }
    }
}
