import ChorusClient
import ChorusCore
import ChorusEventStore
import ChorusLocalCluster
import ChorusProjections
import ChorusReadModels
import Foundation
import NIOHTTP1
import Testing

extension RealProcessTests {
    /// A projection runs inside a real `chorus node --projections` process
    /// that is SIGKILLed repeatedly while events are appended. After each
    /// kill, its SQLite tables must equal an independent fold (computed here,
    /// from the store's own `$all`) of exactly the events up to the
    /// checkpoint stored with them; after the last restart it must continue
    /// to the head and equal the fold of everything.
    @Suite struct ProjectionCrashTests {
        static let definitionsJSON = #"""
        {"projections": [{
          "name": "ledger", "version": 1, "source": "acct-*",
          "schema": ["CREATE TABLE ledger (account TEXT PRIMARY KEY, cents INTEGER NOT NULL, events INTEGER NOT NULL, last_position INTEGER NOT NULL)"],
          "handlers": {"Deposited": "INSERT INTO ledger VALUES (:data.account, :data.cents, 1, :position) ON CONFLICT (account) DO UPDATE SET cents = cents + excluded.cents, events = events + 1, last_position = excluded.last_position"},
          "queries": {"all": {"sql": "SELECT account, cents, events, last_position FROM ledger ORDER BY account"}}
        }]}
        """#

        struct Row: Hashable, CustomStringConvertible {
            var account: String
            var cents: Int64
            var events: Int64
            var lastPosition: Int64
            var description: String { "\(account)=\(cents)/\(events)@\(lastPosition)" }
        }

        @Test func tablesEqualAFoldUpToTheCheckpointAfterEverySIGKILL() async throws {
            let file = NSTemporaryDirectory() + "chorus-projection-crash-\(getpid()).json"
            try Self.definitionsJSON.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let definition = try #require(try ProjectionDefinitionFile.decode(Array(Self.definitionsJSON.utf8)).first)
            try await ClusterHarness.withCluster(nodes: 1, extraArguments: ["--projections", file], name: "projection-crash") { harness in
                let cluster = harness.cluster
                let url = cluster.httpURL(1)
                let appender = try harness.loadClient(endpoints: [url])
                defer { appender.shutdown() }
                let projectionDirectory = cluster.dataDirectory(1) + "/projections/ledger"
                var checkedCheckpoints: [Int64?] = []
                for round in 0..<3 {
                    // Append for a while, then SIGKILL the node mid-stream.
                    let until = ContinuousClock.now + .milliseconds(900)
                    var number = round * 100_000
                    while ContinuousClock.now < until {
                        var events: [String] = []
                        for _ in 0..<20 {
                            events.append(#"{"type":"Deposited","data":{"account":"a-\#(number % 13)","cents":\#(number % 7 + 1)}}"#)
                            number += 1
                        }
                        _ = try? await appender.send(.POST, url: url + "/v1/streams/acct-\(number % 5)", body: Array("[\(events.joined(separator: ","))]".utf8))
                    }
                    await cluster.crash(1)
                    // The files as the kill left them: checkpoint and rows.
                    let database = try ProjectionDatabase(directory: projectionDirectory, definition: definition)
                    let checkpoint = database.active.checkpointAtOpen
                    let table = try await Self.rows(database.table("ledger"))
                    database.close()
                    try cluster.start(1)
                    #expect(await cluster.waitUntilServing(client: harness.client))
                    _ = try await harness.leader()
                    let stored: Int64? = if case .after(let position) = checkpoint { Int64(position.rawValue) } else { nil }
                    let folded = try await Self.fold(url: url, client: harness.client, through: stored)
                    #expect(table == folded, "round \(round): the tables differ from the fold of $all through \(String(describing: stored))")
                    checkedCheckpoints.append(stored)
                }
                print("projection crash test: checkpoints after each SIGKILL \(checkedCheckpoints.map { $0.map(String.init) ?? "start" })")
                #expect(checkedCheckpoints.last! != nil, "the projection made progress")
                // After the last restart it continues to the head.
                let head = try await Self.headPosition(url: url, client: harness.client)
                let answer = try await harness.client.send(.GET, url: url + "/v1/projections/ledger/query/all?min-position=\(head - 1)&timeout-ms=30000")
                #expect(answer.status == 200, "\(answer.bodyText)")
                let json = try JSONValue(parsing: answer.body)
                let rows = (json["rows"]?.arrayValue ?? []).map { row in
                    Row(account: row[0]?.stringValue ?? "", cents: row[1]?.numberValue?.int64Value ?? -1,
                        events: row[2]?.numberValue?.int64Value ?? -1, lastPosition: row[3]?.numberValue?.int64Value ?? -1)
                }
                #expect(Set(rows) == (try await Self.fold(url: url, client: harness.client, through: Int64(head - 1))))
            }
        }

        static func rows(_ result: QueryResult) -> Set<Row> {
            Set(result.rows.map { row in
                func integer(_ value: ProjectionValue) -> Int64 { if case .integer(let number) = value { number } else { -1 } }
                let account: String = if case .text(let text) = row[0] { text } else { "?" }
                return Row(account: account, cents: integer(row[1]), events: integer(row[2]), lastPosition: integer(row[3]))
            })
        }

        static func headPosition(url: String, client: ChorusClient) async throws -> Int {
            let response = try await client.send(.GET, url: url + "/v1/all?direction=backwards&limit=1")
            return try #require(try JSONValue(parsing: response.body)["headPosition"]?.numberValue?.intValue)
        }

        /// The ledger folded here from `$all`, independently of the projection code.
        static func fold(url: String, client: ChorusClient, through last: Int64?) async throws -> Set<Row> {
            var rows: [String: Row] = [:]
            guard let last else { return [] }
            var from: Int64 = 0
            while from <= last {
                let response = try await client.send(.GET, url: url + "/v1/all?from=\(from)&limit=4096&stream-prefix=acct-")
                let page = try JSONValue(parsing: response.body)
                for event in page["events"]?.arrayValue ?? [] {
                    guard let position = event["position"]?.numberValue?.int64Value, position <= last else { continue }
                    guard event["type"] == "Deposited", let account = event["data"]?["account"]?.stringValue,
                        let cents = event["data"]?["cents"]?.numberValue?.int64Value
                    else { continue }
                    var row = rows[account] ?? Row(account: account, cents: 0, events: 0, lastPosition: 0)
                    row.cents += cents
                    row.events += 1
                    row.lastPosition = position
                    rows[account] = row
                }
                guard let next = page["nextPosition"]?.numberValue?.int64Value else { break }
                from = next
            }
            return Set(rows.values)
        }
    }
}
