import ChorusRaft
import ChorusKeyValue
import ChorusAPI
import ChorusCore
import ChorusHTTP
import ChorusLocalCluster
import ChorusNode
import ChorusTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Testing

/// The key-value routes of `openapi.yaml`, in process (HummingbirdTesting's
/// router mode) through the service layer to a real single-node ChorusNode:
/// every status and error code a single node can give, each with its JSON
/// code. (A 307 needs a follower, 503/504 a cluster in trouble: the
/// integration tests and `ChorusClientTests` cover those.)
@Suite struct KeyValueRouteTests {
    static let index = HTTPField.Name(ChorusHeader.index)!
    static let version = HTTPField.Name(ChorusHeader.version)!
    static let currentVersion = HTTPField.Name(ChorusHeader.currentVersion)!
    static let minimumIndex = HTTPField.Name(ChorusHeader.minimumIndex)!
    static let clientID = HTTPField.Name(ChorusHeader.clientID)!
    static let sequence = HTTPField.Name(ChorusHeader.sequence)!

    /// Runs `body` against the routes of a fresh single node.
    static func withRoutes(
        adjust: @Sendable (inout NodeConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "chorus-http-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "chorus.http-tests")
        logger.logLevel = .critical
        let (node, configuration) = try await SingleNode.start(directory: directory, logger: logger, adjust: adjust)
        do {
            let deadline = ContinuousClock.now + .seconds(30)
            while try await node.status().role != .leader, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let api = HTTPAPIConfiguration(host: "127.0.0.1", port: 1, maximumValueBytes: configuration.keyValue.maximumValueBytes)
            let application = ChorusHTTPServer.makeApplication(node: node, configuration: api, logger: logger)
            let maximumValueBytes = configuration.keyValue.maximumValueBytes
            try await application.test(.router) { client in try await body(client, maximumValueBytes) }
        } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
    }


    static func code(_ response: TestResponse) -> ErrorCode? {
        APIProblem(json: Array(response.body.readableBytesView))?.code
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONValue(parsing: Array(response.body.readableBytesView))
    }

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func putAnswers200WithTheVersionEverywhere() async throws {
        try await Self.withRoutes { client, _ in
            let put = try await client.execute(uri: "/v1/kv/alpha", method: .put, body: Self.bytes("one"))
            #expect(put.status == .ok)
            let version = try #require(put.headers[Self.version].flatMap(UInt64.init))
            #expect(put.headers[.eTag] == "\"\(version)\"")
            #expect(put.headers[Self.index].flatMap(UInt64.init).map { $0 >= version } == true)
            #expect(put.headers[.contentType] == "application/json")
            let body = try Self.json(put)
            #expect(body["version"]?.numberValue?.int64Value == Int64(version))
            #expect(body["index"]?.numberValue?.int64Value == Int64(version))

            let get = try await client.execute(uri: "/v1/kv/alpha", method: .get)
            #expect(get.status == .ok)
            #expect(String(buffer: get.body) == "one")
            #expect(get.headers[.contentType] == "application/octet-stream")
            #expect(get.headers[Self.version] == "\(version)")
            #expect(get.headers[.eTag] == "\"\(version)\"")
            let sequential = try await client.execute(
                uri: "/v1/kv/alpha?consistency=sequential", method: .get, headers: [Self.minimumIndex: "\(version)"])
            #expect(sequential.status == .ok && String(buffer: sequential.body) == "one")
        }
    }

    @Test func badKeysHeadersAndLevelsAre400WithTheirCodes() async throws {
        try await Self.withRoutes { client, _ in
            let long = String(repeating: "k", count: 1_025)
            for (uri, method) in [("/v1/kv/\(long)", HTTPRequest.Method.get), ("/v1/kv/%FF", .put), ("/v1/kv/%4", .delete)] {
                let response = try await client.execute(uri: uri, method: method, body: method == .put ? Self.bytes("x") : nil)
                #expect(response.status == .badRequest, "\(method) \(uri.prefix(20))")
                #expect(Self.code(response) == .invalidKey, "\(method) \(uri.prefix(20))")
            }
            let badHeaders: [(HTTPRequest.Method, HTTPFields)] = [
                (.put, [.ifMatch: "abc"]),
                (.put, [.ifNoneMatch: "\"3\""]),
                (.put, [Self.clientID: "5"]),
                (.put, [Self.sequence: "1"]),
                (.put, [Self.clientID: "0", Self.sequence: "1"]),
                (.put, [Self.clientID: "5", Self.sequence: "zero"]),
                (.delete, [.ifMatch: "\"1\""]),
                (.get, [Self.minimumIndex: "-1"]),
            ]
            for (method, headers) in badHeaders {
                let response = try await client.execute(
                    uri: "/v1/kv/k", method: method, headers: headers, body: method == .put ? Self.bytes("x") : nil)
                #expect(response.status == .badRequest, "\(method) \(headers)")
                #expect(Self.code(response) == .invalidHeader, "\(method) \(headers)")
            }
            for level in ["strong", "LINEARIZABLE", ""] {
                let response = try await client.execute(uri: "/v1/kv/k?consistency=\(level)", method: .get)
                #expect(response.status == .badRequest && Self.code(response) == .invalidConsistency, "consistency=\(level)")
            }
        }
    }

    @Test func anAbsentKeyIs404KeyNotFoundWithTheIndex() async throws {
        try await Self.withRoutes { client, _ in
            let missing = try await client.execute(uri: "/v1/kv/nothing", method: .get)
            #expect(missing.status == .notFound)
            #expect(Self.code(missing) == .keyNotFound)
            #expect(missing.headers[Self.index] != nil)
            let route = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(route.status == .notFound && Self.code(route) == .notFound)
        }
    }

    @Test func otherMethodsAre405WithAllow() async throws {
        try await Self.withRoutes { client, _ in
            for method in [HTTPRequest.Method.post, .patch] {
                let response = try await client.execute(uri: "/v1/kv/k", method: method, body: Self.bytes("x"))
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(Self.code(response) == .methodNotAllowed, "\(method)")
                #expect(response.headers[.allow] == "GET, PUT, DELETE", "\(method)")
            }
        }
    }

    @Test func aPutWithoutALengthIs411AndAnOversizedOneIs413() async throws {
        try await Self.withRoutes { client, maximumValueBytes in
            let unsized = try await client.execute(uri: "/v1/kv/k", method: .put)
            #expect(unsized.status == .lengthRequired)
            #expect(Self.code(unsized) == .lengthRequired)
            let largest = try await client.execute(
                uri: "/v1/kv/k", method: .put, body: ByteBuffer(repeating: 7, count: maximumValueBytes))
            #expect(largest.status == .ok, "the limit itself is allowed")
            let huge = try await client.execute(
                uri: "/v1/kv/k", method: .put, body: ByteBuffer(repeating: 7, count: maximumValueBytes + 1))
            #expect(huge.status == .contentTooLarge)
            #expect(Self.code(huge) == .payloadTooLarge)
        }
    }

    @Test func aFailedConditionIs412WithTheCurrentVersion() async throws {
        try await Self.withRoutes { client, _ in
            let put = try await client.execute(uri: "/v1/kv/k", method: .put, body: Self.bytes("v"))
            let version = try #require(put.headers[Self.version])
            for headers: HTTPFields in [[.ifMatch: "\"999999\""], [.ifNoneMatch: "*"]] {
                let stale = try await client.execute(uri: "/v1/kv/k", method: .put, headers: headers, body: Self.bytes("w"))
                #expect(stale.status == .preconditionFailed, "\(headers)")
                #expect(Self.code(stale) == .versionMismatch)
                #expect(stale.headers[Self.currentVersion] == version)
                #expect(stale.headers[.eTag] == "\"\(version)\"")
            }
            let absent = try await client.execute(
                uri: "/v1/kv/absent", method: .put, headers: [.ifMatch: "\"3\""], body: Self.bytes("w"))
            #expect(absent.status == .preconditionFailed && Self.code(absent) == .versionMismatch)
            #expect(absent.headers[Self.currentVersion] == "0")
            #expect(absent.headers[.eTag] == nil, "an absent key has no entity tag")
            let swapped = try await client.execute(
                uri: "/v1/kv/k", method: .put, headers: [.ifMatch: "\"\(version)\""], body: Self.bytes("w"))
            #expect(swapped.status == .ok)
            let created = try await client.execute(
                uri: "/v1/kv/new", method: .put, headers: [.ifNoneMatch: "*"], body: Self.bytes("n"))
            #expect(created.status == .ok)
        }
    }

    @Test func anOlderSequenceNumberIs409SessionExpiredAndAReplayAnswersTheSame() async throws {
        try await Self.withRoutes { client, _ in
            func put(_ sequence: Int, _ value: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/kv/once", method: .put, headers: [Self.clientID: "77", Self.sequence: "\(sequence)"],
                    body: Self.bytes(value))
            }
            let first = try await put(1, "a")
            let replay = try await put(1, "a")
            #expect(first.status == .ok && replay.status == .ok)
            #expect(first.headers[Self.version] == replay.headers[Self.version])
            #expect(try await put(2, "b").status == .ok)
            let older = try await put(1, "c")
            #expect(older.status == .conflict)
            #expect(Self.code(older) == .sessionExpired)
            let delete = try await client.execute(
                uri: "/v1/kv/once", method: .delete, headers: [Self.clientID: "77", Self.sequence: "1"])
            #expect(delete.status == .conflict && Self.code(delete) == .sessionExpired)
            let value = try await client.execute(uri: "/v1/kv/once", method: .get)
            #expect(String(buffer: value.body) == "b", "neither the old put nor the old delete was applied")
        }
    }

    @Test func deleteAnswersWhetherTheKeyExisted() async throws {
        try await Self.withRoutes { client, _ in
            _ = try await client.execute(uri: "/v1/kv/k", method: .put, body: Self.bytes("v"))
            let deleted = try await client.execute(uri: "/v1/kv/k", method: .delete)
            #expect(deleted.status == .ok && deleted.headers[Self.index] != nil)
            #expect(try Self.json(deleted)["deleted"]?.boolValue == true)
            let again = try await client.execute(uri: "/v1/kv/k", method: .delete)
            #expect(try Self.json(again)["deleted"]?.boolValue == false)
        }
    }

    @Test func aFullStoreIs507StoreFull() async throws {
        try await Self.withRoutes(adjust: { $0.keyValue.maximumKeys = 2 }) { client, _ in
            for key in ["a", "b"] {
                #expect(try await client.execute(uri: "/v1/kv/\(key)", method: .put, body: Self.bytes("v")).status == .ok)
            }
            let full = try await client.execute(uri: "/v1/kv/c", method: .put, body: Self.bytes("v"))
            #expect(full.status.code == 507)
            #expect(Self.code(full) == .storeFull)
            #expect(try await client.execute(uri: "/v1/kv/a", method: .put, body: Self.bytes("w")).status == .ok, "an existing key may change")
        }
    }
}
