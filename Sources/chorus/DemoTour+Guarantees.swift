import ChorusAPI
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import Foundation
import NIOHTTP1

/// The tour's later steps: the consistency spectrum on one key, the event
/// store's expected revisions and idempotent retries, and permissions.
extension Tour {
    /// 4. One key read at several levels on a follower, and a session token
    /// handed from one client to another.
    func spectrum(follower: Int) async throws {
        heading("4. The consistency spectrum, chosen per read, on the same data")
        let version = try await client.put("cart/alice", Array("apples".utf8))
        guard let token = client.sessionToken else { throw TourError("a write's answer carried no session token") }
        print("    PUT cart/alice \"apples\" → version \(version); its session token: \(token.text.count) bytes (X-Chorus-Session)")
        // Another process: it starts with nothing but the token it is handed.
        let other = try ChorusClient(endpoints: [cluster.httpURL(follower)], configuration: client.configuration)
        defer { other.shutdown() }
        try other.adopt(token)
        let session = try await other.get("cart/alice", consistency: .session)
        guard session?.version ?? 0 >= version else { throw TourError("a session read missed its own session's write") }
        step("session read on n\(follower) by another client holding the token → \"\(text(session))\" (read-your-writes across processes)")
        let bounded = try await other.get("cart/alice", consistency: .boundedStaleness, maximumVersions: 10)
        print("    bounded-staleness (max-versions=10) on n\(follower) → \"\(text(bounded))\"" + style.dim("  never more than 10 versions behind"))
        let eventual = try await other.get("cart/alice", consistency: .eventual)
        print("    eventual on n\(follower) → \"\(text(eventual))\"" + style.dim("  whatever n\(follower) has applied, at once"))
        print(style.dim("    (`chorus lab` measures every level's latency and staleness side by side)"))
        print("")
    }

    /// The demo's read models, kept in SQLite on every node: one row per order
    /// from the order streams, and each order saga's state from its stream.
    static let projections = """
        {"projections":[{"name":"orders","version":1,"source":"order-*",
          "schema":["CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, total_cents INTEGER NOT NULL, status TEXT NOT NULL)"],
          "handlers":{
            "OrderPlaced":"INSERT INTO orders VALUES (:data.orderId, :data.customer, :data.totalCents, 'placed')",
            "PaymentTaken":"UPDATE orders SET status = 'paid' WHERE order_id = :data.orderId"},
          "queries":{"by_id":{"sql":"SELECT order_id, customer, total_cents, status FROM orders WHERE order_id = :id","parameters":{"id":"text"}}}},
         {"name":"order_status","version":1,"source":"saga-order-*",
          "schema":["CREATE TABLE order_status (stream TEXT PRIMARY KEY, order_id TEXT NOT NULL, state TEXT NOT NULL)"],
          "handlers":{
            "SagaStarted":"INSERT INTO order_status VALUES (:stream, :data.sagaId, 'started')",
            "SagaCompleted":"UPDATE order_status SET state = 'completed' WHERE stream = :stream",
            "SagaCompensated":"UPDATE order_status SET state = 'compensated' WHERE stream = :stream",
            "SagaCancelled":"UPDATE order_status SET state = 'cancelled' WHERE stream = :stream"},
          "queries":{"by_order":{"sql":"SELECT order_id, state FROM order_status WHERE order_id = :id","parameters":{"id":"text"}}}}]}
        """

    /// Writes the projections file the nodes start with; returns its path.
    static func writeProjections(in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/projections.json"
        try projections.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// 5. Appends with an expected revision: a retry is answered from what
    /// was written, a stale expectation is refused; a read model on a
    /// follower is waited on by position instead of polled.
    func eventStore(follower: Int) async throws {
        heading("5. An event store on the same log: streams, expected revisions, idempotent appends, read models")
        let stream = "order-\(UInt32.random(in: 1_000...9_999))"
        // The ids are fixed when the events are made: the retry below is the same append.
        let events = [
            EventToAppend(type: "OrderPlaced", json: #"{"orderId":"\#(stream)","customer":"alice","totalCents":4200}"#),
            EventToAppend(type: "PaymentTaken", json: #"{"orderId":"\#(stream)","amountCents":4200}"#),
        ]
        let appended = try await client.append(events, to: stream, expected: .noStream)
        print(
            "    POST /v1/streams/\(stream)  OrderPlaced, PaymentTaken, expecting no_stream → revisions 0–1, "
                + "positions \(appended.firstPosition)–\(appended.lastPosition)")
        let retried = try await client.append(events, to: stream, expected: .noStream)
        guard retried.alreadyWritten, retried.firstPosition == appended.firstPosition, retried.lastPosition == appended.lastPosition
        else { throw TourError("a retried append was not answered from the original: \(retried)") }
        step(
            "the same append retried (a lost answer) → already_written, positions \(retried.firstPosition)–\(retried.lastPosition): "
                + "nothing written twice")
        do {
            _ = try await client.append([EventToAppend(type: "OrderShipped", json: "{}")], to: stream, expected: .exactly(0))
            throw TourError("an append at a stale revision was accepted")
        } catch ChorusClientError.api(let problem, _) where problem.code == .wrongExpectedVersion {}
        step("an append expecting revision 0 (the stream is at 1) → 409 wrong_expected_version")
        let waitedAt = ContinuousClock.now
        let query = try await client.send(
            .GET,
            url: cluster.httpURL(follower)
                + "/v1/projections/orders/query/by_id?id=\(stream)&min-position=\(appended.lastPosition)&timeout-ms=5000")
        guard query.status == 200, let json = try? JSONValue(parsing: query.body), let row = json["rows"]?[0],
            row[3]?.stringValue == "paid"
        else { throw TourError("the read model on n\(follower) answered \(query.status) \(query.bodyText)") }
        step(
            "the orders read model (SQLite) on n\(follower), asked to wait for position \(appended.lastPosition): "
                + "\(row.text) in \(milliseconds(since: waitedAt))")
        print(style.dim("    (min-position: the answer reflects the client's own write, or says stalled / timed_out — never stale)"))
        print("")
    }

    /// 7. Tokens and roles: no token is 401, a reader writing is 403.
    func permissions() async throws {
        heading("8. Secure by default: every request carries a signed token, every operation checks its role")
        let reader = try cluster.issueToken(subject: "demo-reader", role: "reader", file: "reader.token")
        let anonymous = try await client.send(.GET, url: leaderURL + "/v1/kv/greeting", headers: [("Authorization", "")])
        let readerWrite = try await client.send(
            .PUT, url: leaderURL + "/v1/kv/greeting", headers: [("Authorization", "Bearer \(reader)")], body: Array("hi".utf8))
        let readerRead = try await client.send(
            .GET, url: leaderURL + "/v1/kv/greeting", headers: [("Authorization", "Bearer \(reader)")])
        guard anonymous.status == 401, readerWrite.status == 403, readerRead.status == 200 else {
            throw TourError("permissions: no token \(anonymous.status), reader write \(readerWrite.status), reader read \(readerRead.status)")
        }
        step("no token → 401 unauthenticated; a reader's write → 403 permission_denied; its read → 200")
        print(style.dim("    (tokens are HMAC-signed by the cluster's keyring: `chorus tokens issue --role reader`)"))
    }

    private var leaderURL: String { client.knownLeader.map { "\($0)" } ?? cluster.httpURL(1) }

    private func text(_ value: VersionedValue?) -> String { value.map { String(decoding: $0.value, as: UTF8.self) } ?? "∅" }

}

private func print(_ line: String = "") { writeLine(line) }
