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
    static let idempotency = HTTPField.Name(ChorusHeader.idempotency)!

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
                (.put, [Self.idempotency: "5"]),
                (.put, [Self.idempotency: ".1"]),
                (.put, [Self.idempotency: "0.1"]),
                (.put, [Self.idempotency: "5.zero"]),
                (.put, [Self.idempotency: "05.1"]),
                (.put, [Self.idempotency: "5.1.2"]),
                (.put, [Self.idempotency: "12345678901234567890.1"]),
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
            for method in [HTTPRequest.Method.post, .patch, .trace, .query, .connect] {
                let response = try await client.execute(uri: "/v1/kv/k", method: method, body: Self.bytes("x"))
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(Self.code(response) == .methodNotAllowed, "\(method)")
                #expect(response.headers[.allow] == "GET, PUT, DELETE", "\(method)")
            }
            // Every path that exists, with or without parameters, and OPTIONS: 204 with the same Allow.
            for (path, allow) in [
                ("/", "GET"), ("/healthz", "GET"), ("/metrics", "GET"), ("/openapi.yaml", "GET"), ("/v1/cluster", "GET"),
                ("/v1/kv", "GET"), ("/v1/keyspaces", "GET"), ("/v1/keyspaces/ks", "GET, PUT, DELETE"),
                ("/v1/kv/ks/k", "GET, PUT, DELETE"), ("/v1/streams", "POST"), ("/v1/all/subscribe", "GET"),
            ] {
                let trace = try await client.execute(uri: path, method: .trace)
                #expect(trace.status == .methodNotAllowed && Self.code(trace) == .methodNotAllowed, "TRACE \(path)")
                #expect(trace.headers[.allow] == allow, "TRACE \(path)")
                let options = try await client.execute(uri: path, method: .options)
                #expect(options.status == .noContent && options.headers[.allow] == allow, "OPTIONS \(path)")
            }
            let nowhere = try await client.execute(uri: "/v1/nowhere", method: .trace)
            #expect(nowhere.status == .notFound, "a path that does not exist stays 404")
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

    /// RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag never
    /// matches — 412 even when its number is the key's version — while an
    /// unquoted version is not an entity tag at all (400 invalid_header).
    @Test func aWeakIfMatchNeverMatchesAndAnUnquotedOneIs400() async throws {
        try await Self.withRoutes { client, _ in
            let put = try await client.execute(uri: "/v1/kv/k", method: .put, body: Self.bytes("v"))
            let version = try #require(put.headers[Self.version])
            let weak = try await client.execute(
                uri: "/v1/kv/k", method: .put, headers: [.ifMatch: "W/\"\(version)\""], body: Self.bytes("w"))
            #expect(weak.status == .preconditionFailed && Self.code(weak) == .versionMismatch)
            let weakAbsent = try await client.execute(
                uri: "/v1/kv/absent", method: .put, headers: [.ifMatch: "W/\"0\""], body: Self.bytes("w"))
            #expect(weakAbsent.status == .preconditionFailed && Self.code(weakAbsent) == .versionMismatch)
            for refused in [version, "*", "\"\(version)\", \"1\"", "\"0\(version)\""] {
                let response = try await client.execute(
                    uri: "/v1/kv/k", method: .put, headers: [.ifMatch: refused], body: Self.bytes("w"))
                #expect(response.status == .badRequest && Self.code(response) == .invalidHeader, "If-Match: \(refused)")
            }
            // Both (RFC 9110 §13.2.2's order): "N" with * can never hold; "0" with * is create only.
            let both = try await client.execute(
                uri: "/v1/kv/k", method: .put, headers: [.ifMatch: "\"\(version)\"", .ifNoneMatch: "*"], body: Self.bytes("w"))
            #expect(both.status == .preconditionFailed && Self.code(both) == .versionMismatch)
            let createOnly = try await client.execute(
                uri: "/v1/kv/k", method: .put, headers: [.ifMatch: "\"0\"", .ifNoneMatch: "*"], body: Self.bytes("w"))
            #expect(createOnly.status == .preconditionFailed && Self.code(createOnly) == .versionMismatch)
            let read = try await client.execute(uri: "/v1/kv/k", method: .get)
            #expect(String(buffer: read.body) == "v", "no refused condition wrote")
            let created = try await client.execute(
                uri: "/v1/kv/new", method: .put, headers: [.ifMatch: "\"0\"", .ifNoneMatch: "*"], body: Self.bytes("n"))
            #expect(created.status == .ok)
        }
    }

    /// `If-Match: "0"` names version 0, which is what an absent key has: on an
    /// absent key it writes (create only, like `If-None-Match: *`), on a
    /// present one it is 412.
    @Test func ifMatchZeroWritesOnlyAnAbsentKey() async throws {
        try await Self.withRoutes { client, _ in
            let created = try await client.execute(uri: "/v1/kv/fresh", method: .put, headers: [.ifMatch: "\"0\""], body: Self.bytes("a"))
            #expect(created.status == .ok)
            let version = try #require(created.headers[Self.version])
            let again = try await client.execute(uri: "/v1/kv/fresh", method: .put, headers: [.ifMatch: "\"0\""], body: Self.bytes("b"))
            #expect(again.status == .preconditionFailed && Self.code(again) == .versionMismatch)
            #expect(again.headers[Self.currentVersion] == version)
            let read = try await client.execute(uri: "/v1/kv/fresh", method: .get)
            #expect(String(buffer: read.body) == "a")
        }
    }

    /// A parameter that takes one value, given twice, is 400 (never the first
    /// or the last silently).
    @Test func aRepeatedConsistencyParameterIs400() async throws {
        try await Self.withRoutes { client, _ in
            _ = try await client.execute(uri: "/v1/kv/k", method: .put, body: Self.bytes("v"))
            for query in [
                "consistency=linearizable&consistency=eventual", "consistency=eventual&consistency=eventual",
                "consistency=bounded-staleness&max-versions=1&max-versions=2",
                "consistency=bounded-staleness&max-lag=5&max-lag=5",
            ] {
                for path in ["/v1/kv/k", "/v1/kv"] {
                    let response = try await client.execute(uri: "\(path)?\(query)", method: .get)
                    #expect(response.status == .badRequest && Self.code(response) == .invalidConsistency, "\(path)?\(query)")
                }
            }
            let once = try await client.execute(uri: "/v1/kv/k?consistency=eventual", method: .get)
            #expect(once.status == .ok)
        }
    }

    @Test func anOlderSequenceNumberIs409SessionExpiredAndAReplayAnswersTheSame() async throws {
        try await Self.withRoutes { client, _ in
            func put(_ sequence: Int, _ value: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/kv/once", method: .put, headers: [Self.idempotency: "77.\(sequence)"],
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
                uri: "/v1/kv/once", method: .delete, headers: [Self.idempotency: "77.1"])
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
