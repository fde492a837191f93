import ChorusAPI
import ChorusClient
import ChorusLocalCluster
import Foundation
import NIOHTTP1
import ChorusTesting
import Testing

extension RealProcessTests {
    /// The HTTP API of a real three-node cluster, status by status.
    @Suite struct HTTPAPITests {
        @Test func statusesHeadersAndErrorsFollowTheOpenAPIDocument() async throws {
            try await ClusterHarness.withCluster(name: "api") { harness in
                let leader = try await harness.leader()
                let follower = harness.cluster.nodes.first { $0 != leader.node }!
                let leaderURL = harness.cluster.httpURL(leader.node)
                let followerURL = harness.cluster.httpURL(follower)
                let client = harness.client
                func code(_ response: ChorusResponse) -> ErrorCode? { response.problem?.code }

                // A write and a read, with versions and indexes in headers.
                let put = try await client.send(.PUT, url: leaderURL + "/v1/kv/alpha", body: Array("one".utf8))
                #expect(put.status == 200)
                let version = try #require(put.headers.first(name: ChorusHeader.version).flatMap(UInt64.init))
                #expect(put.headers.first(name: "ETag") == "\"\(version)\"")
                #expect(put.bodyText.contains("\"version\":\(version)"))
                let get = try await client.send(.GET, url: followerURL + "/v1/kv/alpha?consistency=linearizable")
                #expect(get.status == 200)
                #expect(get.bodyText == "one")
                #expect(get.headers.first(name: ChorusHeader.version) == "\(version)")
                #expect(get.headers.first(name: ChorusHeader.index).flatMap(UInt64.init).map { $0 >= version } == true)

                // A write on a follower is redirected to the same path on the leader.
                let redirected = try await client.send(.PUT, url: followerURL + "/v1/kv/beta", body: Array("x".utf8))
                #expect(redirected.status == 307)
                #expect(redirected.headers.first(name: "Location") == leaderURL + "/v1/kv/beta")
                #expect(code(redirected) == .notLeader)

                // Authorization across the redirect: the follower checks first (a
                // reader is refused there, not redirected); the 307 carries no
                // credentials, and the leader checks the re-sent token again.
                let reader = try harness.issueToken(role: "reader")
                let writer = try harness.issueToken(role: "writer")
                let refused = try await client.send(
                    .PUT, url: followerURL + "/v1/kv/gamma", headers: [("Authorization", "Bearer \(reader)")], body: [1])
                #expect(refused.status == 403 && code(refused) == .permissionDenied)
                let hop = try await client.send(
                    .PUT, url: followerURL + "/v1/kv/gamma", headers: [("Authorization", "Bearer \(writer)")], body: [1])
                #expect(hop.status == 307)
                let location = try #require(hop.headers.first(name: "Location"))
                let anonymous = try ChorusClient(endpoints: [leaderURL])
                defer { anonymous.shutdown() }
                let withoutToken = try await anonymous.send(.PUT, url: location, body: [1])
                #expect(withoutToken.status == 401 && code(withoutToken) == .unauthenticated)
                let asReader = try await client.send(.PUT, url: location, headers: [("Authorization", "Bearer \(reader)")], body: [1])
                #expect(asReader.status == 403 && code(asReader) == .permissionDenied)
                let followed = try await client.send(.PUT, url: location, headers: [("Authorization", "Bearer \(writer)")], body: [1])
                #expect(followed.status == 200)
                // The client library follows the redirect itself and sends its token again.
                var writerConfiguration = ChorusClient.Configuration()
                writerConfiguration.bearerToken = writer
                writerConfiguration.operationTimeoutMilliseconds = 8_000
                let writerClient = try ChorusClient(endpoints: [followerURL], configuration: writerConfiguration)
                defer { writerClient.shutdown() }
                #expect(try await writerClient.put("delta", [1]) >= 1)
                // GET /healthz stays open; /metrics needs cluster.metrics.
                #expect(try await anonymous.send(.GET, url: followerURL + "/healthz").status == 200)
                #expect(try await anonymous.send(.GET, url: leaderURL + "/metrics").status == 401)
                #expect(try await client.send(.GET, url: leaderURL + "/metrics", headers: [("Authorization", "Bearer \(writer)")]).status == 403)

                // Compare-and-set: a stale If-Match is 412 with the current version; create-only on an existing key too.
                let stale = try await client.send(
                    .PUT, url: leaderURL + "/v1/kv/alpha", headers: [("If-Match", "\"\(version + 1_000)\"")], body: [1])
                #expect(stale.status == 412)
                #expect(code(stale) == .versionMismatch)
                #expect(stale.headers.first(name: ChorusHeader.currentVersion) == "\(version)")
                let createOnly = try await client.send(
                    .PUT, url: leaderURL + "/v1/kv/alpha", headers: [("If-None-Match", "*")], body: [1])
                #expect(createOnly.status == 412)
                let swapped = try await client.send(
                    .PUT, url: leaderURL + "/v1/kv/alpha", headers: [("If-Match", "\"\(version)\"")], body: Array("two".utf8))
                #expect(swapped.status == 200)

                // Idempotency: the same client id and sequence apply once and answer the same.
                let session = [(ChorusHeader.idempotency, "77.1")]
                let first = try await client.send(.PUT, url: leaderURL + "/v1/kv/once", headers: session, body: Array("a".utf8))
                let retry = try await client.send(.PUT, url: leaderURL + "/v1/kv/once", headers: session, body: Array("a".utf8))
                #expect(first.status == 200 && retry.status == 200)
                #expect(first.headers.first(name: ChorusHeader.version) == retry.headers.first(name: ChorusHeader.version))
                let older = try await client.send(
                    .PUT, url: leaderURL + "/v1/kv/once", headers: [(ChorusHeader.idempotency, "77.2")],
                    body: Array("b".utf8))
                #expect(older.status == 200)
                let replayedOld = try await client.send(.PUT, url: leaderURL + "/v1/kv/once", headers: session, body: Array("c".utf8))
                #expect(replayedOld.status == 409)
                #expect(code(replayedOld) == .sessionExpired)
                let onceValue = try await client.send(.GET, url: leaderURL + "/v1/kv/once")
                #expect(onceValue.bodyText == "b", "the old sequence number must not have been applied")

                // Delete, then 404 with a JSON error.
                let deleted = try await client.send(.DELETE, url: leaderURL + "/v1/kv/alpha")
                #expect(deleted.status == 200 && deleted.bodyText.contains("\"deleted\":true"))
                let missing = try await client.send(.GET, url: leaderURL + "/v1/kv/alpha")
                #expect(missing.status == 404)
                #expect(code(missing) == .keyNotFound)

                // Sequential reads: served by a follower; a min index it cannot reach in time is 503 not_caught_up.
                let sequential = try await client.send(
                    .GET, url: followerURL + "/v1/kv/once?consistency=sequential",
                    headers: [(ChorusHeader.minimumIndex, onceValue.headers.first(name: ChorusHeader.index) ?? "0")])
                #expect(sequential.status == 200 && sequential.bodyText == "b")
                let future = try await client.send(
                    .GET, url: followerURL + "/v1/kv/once?consistency=sequential", headers: [(ChorusHeader.minimumIndex, "999999999")])
                #expect(future.status == 503)
                #expect(code(future) == .notCaughtUp)

                // Bad input: 400s, 405, 411, 413, 404 for unknown routes, all JSON.
                let badConsistency = try await client.send(.GET, url: leaderURL + "/v1/kv/k?consistency=strong")
                #expect(badConsistency.status == 400 && code(badConsistency) == .invalidConsistency)
                // (Invalid percent-encoding cannot go through the client: AHC rebuilds the path from a Foundation URL.)
                let badKey = try await rawRequest(
                    harness.cluster.options.httpPorts[leader.node - 1], "GET /v1/kv/%FF HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.token)\r\n\r\n")
                #expect(badKey.hasPrefix("HTTP/1.1 400") && badKey.contains("\"invalid_key\""), "\(badKey.prefix(80))")
                let longKey = try await client.send(.GET, url: leaderURL + "/v1/kv/" + String(repeating: "k", count: 1_025))
                #expect(longKey.status == 400 && code(longKey) == .invalidKey)
                let badSession = try await client.send(
                    .PUT, url: leaderURL + "/v1/kv/k", headers: [(ChorusHeader.idempotency, "1")], body: [1])
                #expect(badSession.status == 400 && code(badSession) == .invalidHeader)
                let badIfMatch = try await client.send(.PUT, url: leaderURL + "/v1/kv/k", headers: [("If-Match", "abc")], body: [1])
                #expect(badIfMatch.status == 400)
                let post = try await client.send(.POST, url: leaderURL + "/v1/kv/k", body: [1])
                #expect(post.status == 405 && code(post) == .methodNotAllowed)
                #expect(post.headers.first(name: "Allow") == "GET, PUT, DELETE")
                let huge = try await client.send(
                    .PUT, url: leaderURL + "/v1/kv/k", body: [UInt8](repeating: 7, count: (1 << 20) + 1))
                #expect(huge.status == 413 && code(huge) == .payloadTooLarge)
                let unknown = try await client.send(.GET, url: leaderURL + "/v2/nothing")
                #expect(unknown.status == 404 && code(unknown) == .notFound)
                let withoutLength = try await rawRequest(
                    harness.cluster.options.httpPorts[leader.node - 1], "PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(harness.token)\r\n\r\n")
                #expect(withoutLength.hasPrefix("HTTP/1.1 411"), "\(withoutLength.prefix(80))")
                let garbage = try await rawRequest(harness.cluster.options.httpPorts[leader.node - 1], "NOT HTTP AT ALL\r\n\r\n")
                #expect(garbage.hasPrefix("HTTP/1.1 400") || garbage.isEmpty, "\(garbage.prefix(80))")

                // Operations endpoints.
                let cluster = try await client.send(.GET, url: leaderURL + "/v1/cluster")
                #expect(cluster.status == 200)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(cluster.body)) as? [String: Any])
                #expect(object["role"] as? String == "leader")
                #expect((object["members"] as? [Any])?.count == 3)
                #expect((object["followers"] as? [[String: Any]])?.count == 2)
                let health = try await client.send(.GET, url: followerURL + "/healthz")
                #expect(health.status == 200 && health.bodyText.contains("\"status\":\"ok\""))
                let metrics = try await client.send(.GET, url: leaderURL + "/metrics")
                for name in [
                    "chorus_proposals_total", "chorus_committed_entries_total", "chorus_wal_fsyncs_total",
                    "chorus_wal_fsync_duration_seconds_bucket", "chorus_entries_per_ready_bucket", "chorus_elections_won_total",
                    "chorus_leader_changes_total", "chorus_read_index_requests_total", "chorus_read_index_rounds_total", "chorus_applied_index",
                ] {
                    #expect(metrics.bodyText.contains(name), "metric \(name) missing")
                }
                let document = try await client.send(.GET, url: leaderURL + "/openapi.yaml")
                let committed = try String(
                    contentsOf: ReferenceData.packageRoot.appendingPathComponent("Sources/ChorusHTTP/openapi.yaml"),
                    encoding: .utf8)
                #expect(document.status == 200 && document.bodyText == committed, "the served document is the committed file")
            }
        }

        /// Sends raw bytes to the HTTP port and returns what comes back (for
        /// requests a well-behaved client cannot send).
        func rawRequest(_ port: Int, _ text: String) async throws -> String {
            let connection = try #require(RawConnection(port: port))
            connection.send(Array(text.utf8))
            return String(decoding: connection.receive(), as: UTF8.self)
        }
    }
}
