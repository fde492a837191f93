import ChorusAPI
import ChorusCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import ChorusHTTP

/// `/v1/streams` and `/v1/all`: appends, reads, deletes, metadata and their
/// errors, each answer asserted exactly.
@Suite struct EventStreamRoutesTests {
    static let expected = HTTPField.Name("X-Chorus-Expected-Revision")!

    @Test func appendAndReadBackJSONAndBinaryEvents() async throws {
        try await EventRoutesHarness.run { _, client in
            let body = #"[{"id":"0b7c3f2e-5d1a-4c8e-9f00-000000000001","type":"OrderPlaced","data":{"total":12.50,"items":["a"]},"metadata":{"by":"me"}},{"type":"Blob","dataBase64":"AAEC/w=="}]"#
            let appended = try await client.send(.post, "/v1/streams/order-1", headers: [Self.expected: "no_stream"], body: body)
            #expect(appended.status == .ok)
            let outcome = appended.json
            #expect(outcome["stream"] == "order-1" && outcome["firstRevision"] == 0 && outcome["lastRevision"] == 1)
            #expect(outcome["firstPosition"] == 0 && outcome["lastPosition"] == 1 && outcome["disposition"] == "written")
            #expect(outcome["eventIds"]?[0] == "0b7c3f2e-5d1a-4c8e-9f00-000000000001")
            #expect(outcome["eventIds"]?.arrayValue?.count == 2)
            #expect(appended.header("X-Chorus-Position") == "1")
            #expect(appended.header("X-Chorus-Index").flatMap(Int.init) != nil)
            #expect(appended.header("X-Chorus-Node") == "1")

            let read = try await client.send(.get, "/v1/streams/order-1")
            #expect(read.status == .ok)
            let events = try #require(read.json["events"]?.arrayValue)
            #expect(events.count == 2)
            #expect(events[0]["data"] == ["total": .number(JSONNumber(literal: "12.50")!), "items": ["a"]], "numbers keep their text")
            #expect(events[0]["metadata"] == ["by": "me"])
            #expect(events[0]["contentType"] == "application/json" && events[0]["schemaVersion"] == 1)
            #expect(events[1]["dataBase64"] == "AAEC/w==" && events[1]["contentType"] == "application/octet-stream")
            #expect(events[1]["data"] == nil && events[1]["metadata"] == nil)
            #expect(read.json["nextRevision"] == .null && read.json["lastRevision"] == 1 && read.json["firstVisibleRevision"] == 0)

            let paged = try await client.send(.get, "/v1/streams/order-1?direction=backwards&from=end&limit=1")
            #expect(paged.json["events"]?[0]?["revision"] == 1 && paged.json["nextRevision"] == 0)
            let all = try await client.send(.get, "/v1/all?type-prefix=Order&stream-prefix=order-")
            #expect(all.json["events"]?.arrayValue?.count == 1 && all.json["headPosition"] == 2)
        }
    }

    @Test func expectedStateConflictsAnswer409WithTheActualRevision() async throws {
        try await EventRoutesHarness.run { _, client in
            let event = #"[{"type":"E","data":1}]"#
            _ = try await client.send(.post, "/v1/streams/s", body: event)
            let conflict = try await client.send(.post, "/v1/streams/s", headers: [Self.expected: "no_stream"], body: event)
            #expect(conflict.status == .conflict && conflict.errorCode == "wrong_expected_version")
            #expect(conflict.header("X-Chorus-Actual-Revision") == "0")
            #expect(conflict.json["error"]?["actualRevision"] == 0 && conflict.json["error"]?["stream"] == "s")
            #expect(conflict.json["error"]?["expected"] == "no_stream" && conflict.json["error"]?["cause"] == "state_mismatch")
            let bodyExpectation = try await client.send(.post, "/v1/streams/s", body: #"{"expectedRevision":5,"events":[{"type":"E","data":1}]}"#)
            #expect(bodyExpectation.status == .conflict && bodyExpectation.json["error"]?["actualRevision"] == 0)
            let matching = try await client.send(.post, "/v1/streams/s", body: #"{"expectedRevision":"0","events":[{"type":"E","data":1}]}"#)
            #expect(matching.status == .ok && matching.json["firstRevision"] == 1)
            let both = try await client.send(
                .post, "/v1/streams/s", headers: [Self.expected: "1"], body: #"{"expectedRevision":1,"events":[{"type":"E","data":1}]}"#)
            #expect(both.status == .badRequest && both.errorCode == "invalid_expected_version")
            for bad in ["-1", "latest", "1.5", " "] {
                let refused = try await client.send(.post, "/v1/streams/s", headers: [Self.expected: bad], body: event)
                #expect(refused.status == .badRequest && refused.errorCode == "invalid_expected_version", "\(bad)")
            }
        }
    }

    @Test func idempotentRetriesAnswerTheOriginalPositions() async throws {
        try await EventRoutesHarness.run { _, client in
            let body = #"[{"id":"00000000-0000-4000-8000-000000000001","type":"E","data":1},{"id":"00000000-0000-4000-8000-000000000002","type":"E","data":2}]"#
            let first = try await client.send(.post, "/v1/streams/retry", headers: [Self.expected: "no_stream"], body: body)
            let again = try await client.send(.post, "/v1/streams/retry", headers: [Self.expected: "no_stream"], body: body)
            #expect(again.status == .ok && again.json["disposition"] == "already_written")
            #expect(again.json["firstPosition"] == first.json["firstPosition"] && again.json["lastRevision"] == 1)
            let partial = try await client.send(
                .post, "/v1/streams/retry", body: #"[{"id":"00000000-0000-4000-8000-000000000002","type":"E","data":2}]"#)
            #expect(partial.status == .conflict && partial.json["error"]?["cause"] == "partial_retry")
            let read = try await client.send(.get, "/v1/streams/retry")
            #expect(read.json["events"]?.arrayValue?.count == 2)
        }
    }

    @Test func multiStreamAppendsAreAtomic() async throws {
        try await EventRoutesHarness.run { _, client in
            let failing = #"{"streams":[{"stream":"a","expectedRevision":"no_stream","events":[{"type":"E","data":1}]},{"stream":"b","events":[{"type":"E","data":1}]}],"checks":[{"stream":"c","expectedRevision":"stream_exists"}]}"#
            let refused = try await client.send(.post, "/v1/streams", body: failing)
            #expect(refused.status == .conflict && refused.errorCode == "wrong_expected_version")
            #expect(refused.json["error"]?["violations"]?.arrayValue?.compactMap { $0["stream"]?.stringValue } == ["c"])
            #expect(refused.header("X-Chorus-Actual-Revision") == "no_stream")
            #expect(try await client.send(.get, "/v1/streams/a").status == .notFound)
            let passing = #"{"streams":[{"stream":"a","events":[{"type":"E","data":1}]},{"stream":"b","expectedRevision":"no_stream","events":[{"type":"E","data":1},{"type":"E","data":2}]}]}"#
            let written = try await client.send(.post, "/v1/streams", body: passing)
            #expect(written.status == .ok && written.json["disposition"] == "written")
            #expect(written.json["streams"]?.arrayValue?.compactMap { $0["lastPosition"]?.int64Value } == [0, 2])
        }
    }

    @Test func malformedAndOversizedBodiesAndBadNamesGetTheirCodes() async throws {
        try await EventRoutesHarness.run(configure: { $0.maximumEventBodyBytes = 64 << 10 }) { _, client in
            let cases: [(String, String, HTTPResponse.Status, String)] = [
                ("/v1/streams/s", "[{\"type\":", .badRequest, "invalid_json"),
                ("/v1/streams/s", "{\"type\":\"E\"}", .badRequest, "invalid_json"),
                ("/v1/streams/s", "[{\"type\":\"E\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"data\":1,\"dataBase64\":\"AA==\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"dataBase64\":\"A\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"data\":1,\"id\":\"nope\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"data\":1,\"colour\":\"red\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"dataBase64\":\"e30=\",\"contentType\":\"text/plain\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"dataBase64\":\"AA==\",\"contentType\":\"application/json\"}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[{\"type\":\"\",\"data\":1}]", .badRequest, "invalid_event"),
                ("/v1/streams/s", "[]", .badRequest, "invalid_event"),
                ("/v1/streams/%24kv-default", "[{\"type\":\"E\",\"data\":1}]", .badRequest, "invalid_stream_name"),
                ("/v1/streams/a%07b", "[{\"type\":\"E\",\"data\":1}]", .badRequest, "invalid_stream_name"),
                ("/v1/streams/%FF", "[{\"type\":\"E\",\"data\":1}]", .badRequest, "invalid_stream_name"),
                ("/v1/streams/s", "[{\"type\":\"E\",\"data\":\"" + String(repeating: "x", count: 70_000) + "\"}]", .contentTooLarge, "append_too_large"),
            ]
            for (path, body, status, code) in cases {
                let response = try await client.send(.post, path, body: body)
                #expect(response.status == status && response.errorCode == code, "\(body.prefix(80)) → \(response.text.prefix(200))")
                #expect(response.header("Content-Type") == "application/json")
            }
            #expect(try await client.send(.get, "/v1/streams/s").status == .notFound, "nothing was written")
        }
    }

    @Test func readParametersAreCheckedAndMissingOrDeletedStreamsSaySo() async throws {
        try await EventRoutesHarness.run { _, client in
            let missing = try await client.send(.get, "/v1/streams/nobody")
            #expect(missing.status == .notFound && missing.errorCode == "stream_not_found")
            #expect(missing.header("X-Chorus-Index") != nil)
            let cases: [(String, String)] = [
                ("/v1/streams/s?direction=sideways", "invalid_parameter"), ("/v1/streams/s?limit=0", "invalid_parameter"),
                ("/v1/streams/s?limit=5000", "invalid_parameter"), ("/v1/streams/s?limit=1&limit=2", "invalid_parameter"),
                ("/v1/streams/s?from=-3", "invalid_revision"), ("/v1/all?from=first", "invalid_position"),
                ("/v1/streams/s?as-of-position=x", "invalid_position"), ("/v1/streams/s?consistency=strong", "invalid_consistency"),
                ("/v1/all?consistency=bounded-staleness&max-versions=3", "invalid_consistency"),
                ("/v1/all?include-system=yes", "invalid_parameter"), ("/v1/streams/%24all", "invalid_stream_name"),
            ]
            for (path, code) in cases {
                let response = try await client.send(.get, path)
                #expect(response.status == .badRequest && response.errorCode == code, "\(path) → \(response.text)")
            }
            let prefixes = (0..<40).map { "stream-prefix=p\($0)" }.joined(separator: "&")
            let tooMany = try await client.send(.get, "/v1/all?\(prefixes)")
            #expect(tooMany.status == .badRequest && tooMany.errorCode == "invalid_filter")

            _ = try await client.send(.post, "/v1/streams/gone", body: #"[{"type":"E","data":1}]"#)
            let soft = try await client.send(.delete, "/v1/streams/gone", headers: [Self.expected: "0"])
            #expect(soft.status == .ok && soft.json["kind"] == "soft" && soft.json["lastRevision"] == 0)
            #expect(try await client.send(.get, "/v1/streams/gone").errorCode == "stream_not_found")
            let hard = try await client.send(.delete, "/v1/streams/gone?hard=true")
            #expect(hard.status == .ok && hard.json["kind"] == "hard")
            let read = try await client.send(.get, "/v1/streams/gone")
            #expect(read.status == .gone && read.errorCode == "stream_deleted")
            let append = try await client.send(.post, "/v1/streams/gone", body: #"[{"type":"E","data":1}]"#)
            #expect(append.status == .gone && append.errorCode == "stream_deleted")
            let badDelete = try await client.send(.delete, "/v1/streams/other?hard=maybe")
            #expect(badDelete.status == .badRequest && badDelete.errorCode == "invalid_parameter")
            let wrongDelete = try await client.send(.delete, "/v1/streams/other", headers: [Self.expected: "3"])
            #expect(wrongDelete.status == .conflict && wrongDelete.header("X-Chorus-Actual-Revision") == "no_stream")
        }
    }

    @Test func readsTakeTheRaftLevels() async throws {
        try await EventRoutesHarness.run { _, client in
            let appended = try await client.send(.post, "/v1/streams/levels", body: #"[{"type":"E","data":1}]"#)
            let index = try #require(appended.header("X-Chorus-Index"))
            for level in ["linearizable", "sequential", "session", "consistent-prefix", "eventual"] {
                let read = try await client.send(
                    .get, "/v1/streams/levels?consistency=\(level)", headers: [HTTPField.Name("X-Chorus-Min-Index")!: index])
                #expect(read.status == .ok, "\(level): \(read.text)")
                #expect(read.json["events"]?.arrayValue?.compactMap { $0["revision"]?.int64Value } == [0], "\(level)")
            }
        }
    }

    @Test func metadataIsWrittenReadAndApplied() async throws {
        try await EventRoutesHarness.run { _, client in
            let events = (0..<4).map { _ in #"{"type":"E","data":1}"# }.joined(separator: ",")
            _ = try await client.send(.post, "/v1/streams/m", body: "[\(events)]")
            let put = try await client.send(.put, "/v1/streams/m/metadata", body: #"{"maxCount":2,"maxAgeSeconds":3600,"truncateBefore":null}"#)
            #expect(put.status == .ok && put.json["stream"] == "m")
            let info = try await client.send(.get, "/v1/streams/m/metadata")
            #expect(info.status == .ok)
            #expect(info.json["state"] == "exists" && info.json["lastRevision"] == 3 && info.json["nextRevision"] == 4)
            #expect(info.json["maxCount"] == 2 && info.json["maxAgeSeconds"] == 3600 && info.json["truncateBefore"] == .null)
            #expect(info.json["firstVisibleRevision"] == 2)
            let read = try await client.send(.get, "/v1/streams/m")
            #expect(read.json["events"]?.arrayValue?.compactMap { $0["revision"]?.int64Value } == [2, 3])
            let bad = try await client.send(.put, "/v1/streams/m/metadata", body: #"{"maxCount":-1}"#)
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_json")
            let unknown = try await client.send(.put, "/v1/streams/m/metadata", body: #"{"maxSize":1}"#)
            #expect(unknown.status == .badRequest && unknown.errorCode == "invalid_json")
            #expect(try await client.send(.get, "/v1/streams/never/metadata").errorCode == "stream_not_found")
        }
    }

    @Test func otherMethodsAre405WithAllow() async throws {
        try await EventRoutesHarness.run { _, client in
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.put, "/v1/streams/s", "GET, POST, DELETE"), (.get, "/v1/streams", "POST"),
                (.post, "/v1/all", "GET"), (.delete, "/v1/streams/s/metadata", "GET, PUT"),
                (.post, "/v1/streams/s/subscribe", "GET"), (.get, "/v1/streams/s/groups/g/ack", "POST"),
                (.patch, "/v1/groups", "GET"),
            ]
            for (method, path, allow) in cases {
                let response = try await client.send(method, path)
                #expect(response.status == .methodNotAllowed && response.errorCode == "method_not_allowed", "\(method) \(path)")
                #expect(response.header("Allow") == allow)
            }
        }
    }

    @Test func base64IsStrictAndRoundTrips() {
        for bytes in [[], [0], [0, 1], [0, 1, 2], [255, 254, 253, 252], Array(0...255)] as [[UInt8]] {
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        for bogus in ["A", "AB=C", "Zm9=v", "Zg==Zg==", "Zh==", "Zm9 v", "Zm9v\n"] { #expect(Base64.decode(bogus) == nil, "\(bogus)") }
    }
}
