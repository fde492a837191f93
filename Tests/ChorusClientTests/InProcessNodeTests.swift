import NIOHTTP1
import ChorusAPI
import ChorusCore
import Testing

@testable import ChorusClient

/// The client against a real single-node cluster in this process.
@Suite struct InProcessNodeTests {
    @Test func keyValueCallsAgainstARealNode() async throws {
        try await InProcessNode.run { url, _ in
            let client = try ChorusClient(endpoints: [url], configuration: quickConfiguration())
            let first = try await client.put("alpha", Array("one".utf8))
            #expect(try await client.get("alpha") == VersionedValue(value: Array("one".utf8), version: first))
            #expect(client.sessionIndex >= first)
            #expect(client.knownLeader?.description == url)
            #expect(try await client.get("alpha", consistency: .sequential)?.value == Array("one".utf8), "read your writes")

            // Compare-and-set and create-only.
            #expect(await failure { try await client.put("alpha", [1], expectedVersion: first + 100) } == .versionMismatch(current: first))
            #expect(await failure { try await client.put("alpha", [1], expectedVersion: 0) } == .versionMismatch(current: first))
            let second = try await client.put("alpha", Array("two".utf8), expectedVersion: first)
            #expect(second > first)
            #expect(try await client.put("beta", [7], expectedVersion: 0) > second)

            // Deletes say whether the key existed.
            #expect(try await client.delete("alpha") == true)
            #expect(try await client.delete("alpha") == false)
            #expect(try await client.get("alpha") == nil)

            // Refusals carry the API's code and status.
            #expect(
                await failure { try await client.get(String(repeating: "k", count: 1_025)) }?.code == .invalidKey)
            let tooLarge = await failure { try await client.put("big", [UInt8](repeating: 1, count: (1 << 20) + 1)) }
            guard case .api(let problem, let status) = tooLarge else {
                Issue.record("expected payload_too_large, got \(String(describing: tooLarge))")
                return
            }
            #expect(problem.code == .payloadTooLarge && status == 413)
            #expect(try await client.get("key/with spaces✓") == nil, "any key is one path segment")
            try await client.put("key/with spaces✓", [9])
            #expect(try await client.get("key/with spaces✓")?.value == [9])

            let cluster = try JSONValue(parsing: Array(try await client.clusterJSON(at: client.endpoints[0]).utf8))
            #expect(cluster["role"]?.stringValue == "leader")
        }
    }

    @Test func concurrentWritesThroughPooledSessionsAllApply() async throws {
        try await InProcessNode.run { url, _ in
            let client = try ChorusClient(endpoints: [url], configuration: quickConfiguration())
            let versions = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for index in 0..<24 { group.addTask { try await client.put("k\(index)", Array("v\(index)".utf8)) } }
                var versions: [UInt64] = []
                for try await version in group { versions.append(version) }
                return versions
            }
            #expect(Set(versions).count == 24, "each write got its own log position")
            for index in 0..<24 {
                #expect(try await client.get("k\(index)", consistency: .sequential)?.value == Array("v\(index)".utf8))
            }
            #expect(client.sessionIndex >= versions.max() ?? 0)
        }
    }

    /// A retried request with the same session is applied once by the real
    /// state machine (what makes the client's retries safe).
    @Test func aReplayedSessionPairIsAppliedOnce() async throws {
        try await InProcessNode.run { url, _ in
            let client = try ChorusClient(endpoints: [url], configuration: quickConfiguration())
            let session = [(ChorusHeader.idempotency, "99.1")]
            let first = try await client.send(.PUT, url: url + "/v1/kv/once", headers: session, body: Array("a".utf8))
            let replay = try await client.send(.PUT, url: url + "/v1/kv/once", headers: session, body: Array("b".utf8))
            #expect(first.status == 200 && replay.status == 200)
            #expect(first.unsignedInteger(ChorusHeader.version) == replay.unsignedInteger(ChorusHeader.version))
            #expect(try await client.get("once")?.value == Array("a".utf8))
        }
    }
}

/// The session token, carried by the client without being asked.
@Suite struct ClientSessionTokenTests {
    @Test func theTokenIsKeptSentAndHandedToAnotherClient() async throws {
        try await InProcessNode.run { url, _ in
            let configuration = quickConfiguration()
            let writer = try ChorusClient(endpoints: [url], configuration: configuration)
            let version = try await writer.put("cart", Array("apples".utf8))
            let token = try #require(writer.sessionToken, "a write's answer carries a session token")
            #expect(token.index >= LogIndex(version))
            #expect(try await writer.get("cart", consistency: .session)?.value == Array("apples".utf8))

            let reader = try ChorusClient(endpoints: [url], configuration: configuration)
            try reader.adopt(token)
            #expect(reader.sessionToken == token)
            #expect(try await reader.get("cart", consistency: .session)?.value == Array("apples".utf8))
            #expect(try await reader.get("cart", consistency: .eventual) != nil)
            #expect(try await reader.get("cart", consistency: .boundedStaleness, maximumVersions: 1) != nil)

            let foreign = SessionToken(epoch: token.epoch &+ 1, index: token.index)
            #expect(throws: ChorusClientError.self) { try reader.adopt(foreign) }
            let stranger = try ChorusClient(endpoints: [url], configuration: configuration)
            try stranger.adopt(foreign)
            #expect(await failure { try await stranger.get("cart", consistency: .session) }?.code == .foreignSessionToken)
        }
    }
}
