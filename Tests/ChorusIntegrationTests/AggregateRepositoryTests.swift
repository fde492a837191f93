import ChorusAggregates
import ChorusAPI
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import NIOHTTP1
import Foundation
import Synchronization
import Testing

/// A bank account as an event-sourced aggregate, for the repository tests.
struct Account: Aggregate {
    enum Event: Sendable, Equatable {
        case opened(owner: String)
        case deposited(amount: Int64)
        case withdrawn(amount: Int64)
    }

    enum Command: Sendable {
        case open(String)
        case deposit(Int64)
        case withdraw(Int64)
    }

    var owner: String?
    var balance: Int64 = 0
    var events = 0

    init() {}

    mutating func apply(_ event: Event) {
        events += 1
        switch event {
        case .opened(let owner): self.owner = owner
        case .deposited(let amount): balance += amount
        case .withdrawn(let amount): balance -= amount
        }
    }

    func decide(_ command: Command) throws(AggregateError) -> [Event] {
        switch command {
        case .open(let owner):
            guard self.owner == nil else { throw .rejected("already open") }
            return [.opened(owner: owner)]
        case .deposit(let amount):
            guard owner != nil else { throw .rejected("not open") }
            return [.deposited(amount: amount)]
        case .withdraw(let amount):
            guard balance >= amount else { throw .rejected("insufficient funds: \(balance) < \(amount)") }
            return [.withdrawn(amount: amount)]
        }
    }

    static func decode(_ event: ClientEvent) throws(AggregateError) -> Event {
        guard let body = try? JSONValue(parsing: event.data) else { throw .decoding("\(event.type) is not JSON") }
        switch event.type {
        case "Opened": return .opened(owner: body["owner"]?.stringValue ?? "")
        case "Deposited":
            guard body["currency"]?.stringValue == "EUR", let amount = body["amount"]?.int64Value else {
                throw .decoding("a Deposited without an amount in EUR")
            }
            return .deposited(amount: amount)
        case "Withdrawn": return .withdrawn(amount: body["amount"]?.int64Value ?? 0)
        default: throw .decoding("unknown event type \(event.type)")
        }
    }

    static func encode(_ event: Event) -> EventToAppend {
        switch event {
        case .opened(let owner): EventToAppend(type: "Opened", json: #"{"owner":\#(JSONValue.string(owner).text)}"#)
        case .deposited(let amount): EventToAppend(type: "Deposited", json: #"{"amount":\#(amount),"currency":"EUR"}"#, schemaVersion: 2)
        case .withdrawn(let amount): EventToAppend(type: "Withdrawn", json: #"{"amount":\#(amount)}"#)
        }
    }

    func snapshot() -> [UInt8] {
        Array(#"{"owner":\#(owner.map { JSONValue.string($0).text } ?? "null"),"balance":\#(balance),"events":\#(events)}"#.utf8)
    }

    init(snapshot: [UInt8]) throws(AggregateError) {
        guard let body = try? JSONValue(parsing: snapshot), let balance = body["balance"]?.int64Value,
            let events = body["events"]?.int64Value
        else { throw .decoding("an account snapshot without balance and events") }
        owner = body["owner"]?.stringValue
        self.balance = balance
        self.events = Int(events)
    }

    /// v1 {"cents":N} → v2 {"amount":N,"currency":"EUR"}.
    static var upcasters: Upcasters {
        var upcasters = Upcasters()
        upcasters.register("Deposited", from: 1) { event in
            var event = event
            let cents = try JSONValue(parsing: event.data)["cents"]?.int64Value ?? 0
            event.data = Array(#"{"amount":\#(cents),"currency":"EUR"}"#.utf8)
            return event
        }
        return upcasters
    }
}

extension RealProcessTests {
    /// `ChorusAggregates` against a real node process (issue 11: aggregates
    /// and command handling, aggregate snapshots, upcasting, temporal reads).
    @Suite struct AggregateRepositoryTests {
        static func repository(_ harness: ClusterHarness, snapshotEvery: Int = 100, attempts: Int = 5) -> AggregateRepository<Account> {
            AggregateRepository<Account>(client: harness.client, upcasters: Account.upcasters, snapshotEvery: snapshotEvery, maximumAttempts: attempts)
        }

        /// 400 seeded commands through `execute` (snapshot every 50): loading
        /// with snapshots, without them, and an independent fold of the
        /// accepted commands all give one state; the snapshot load reads
        /// fewer than 50 events; refused commands append nothing.
        @Test func loadingWithAndWithoutSnapshotsGivesTheSameState() async throws {
            try await ClusterHarness.withCluster(nodes: 1, name: "aggregates") { harness in
                let repository = Self.repository(harness, snapshotEvery: 50)
                _ = try await repository.execute(.open("ada"), on: "account-1")
                var random = SeededGenerator(seed: 11)
                var expected: Int64 = 0
                var refused = 0
                var snapshots = 0
                for _ in 0..<400 {
                    let amount = Int64(random.next() % 100) + 1
                    let withdraw = random.next() % 3 == 0
                    do {
                        let executed = try await repository.execute(withdraw ? .withdraw(amount) : .deposit(amount), on: "account-1")
                        expected += withdraw ? -amount : amount
                        if executed.snapshotWritten { snapshots += 1 }
                    } catch AggregateError.rejected {
                        refused += 1
                    }
                }
                let withSnapshots = try await repository.load("account-1")
                let withoutSnapshots = try await repository.load("account-1", useSnapshots: false)
                print("aggregates: 400 commands, \(refused) refused, \(snapshots) snapshots; a load read \(withSnapshots.eventsRead) events after the snapshot at \(String(describing: withSnapshots.snapshotRevision))")
                #expect(withSnapshots.state.balance == expected && withoutSnapshots.state.balance == expected)
                #expect(withSnapshots.state.events == withoutSnapshots.state.events)
                #expect(withSnapshots.revision == withoutSnapshots.revision)
                #expect(withoutSnapshots.state.events == 401 - refused, "refused commands appended nothing")
                #expect(withSnapshots.snapshotRevision != nil && withSnapshots.eventsRead < 50)
                #expect(snapshots == (401 - refused) / 50, "one snapshot per 50 events")
                await #expect(throws: AggregateError.self) { try await repository.execute(.open("bob"), on: "account-1") }
            }
        }

        /// Eight writers deposit into one account at once: each command that
        /// meets a newer revision is decided again, so every deposit lands
        /// once; with one attempt only, the losers get `conflict` and the
        /// balance counts exactly the winners.
        @Test func concurrentCommandsAreRetriedOnTheExpectedRevision() async throws {
            try await ClusterHarness.withCluster(nodes: 1, name: "aggregates-race") { harness in
                let patient = Self.repository(harness, snapshotEvery: 0, attempts: 100)
                _ = try await patient.execute(.open("ada"), on: "shared")
                final class Count: Sendable { let value = Mutex(0) }
                let retries = Count()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            for _ in 0..<10 {
                                let executed = try await patient.execute(.deposit(1), on: "shared")
                                retries.value.withLock { $0 += executed.attempts - 1 }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await patient.load("shared").state.balance == 80)
                print("aggregates: 80 concurrent deposits, \(retries.value.withLock { $0 }) retries")
                #expect(retries.value.withLock { $0 } > 0, "eight writers on one stream never met a newer revision")

                let hasty = Self.repository(harness, snapshotEvery: 0, attempts: 1)
                _ = try await hasty.execute(.open("bob"), on: "hasty")
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for _ in 0..<16 {
                        group.addTask {
                            do {
                                _ = try await hasty.execute(.deposit(1), on: "hasty")
                                return true
                            } catch AggregateError.conflict {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                let won = outcomes.filter { $0 }.count
                #expect(try await hasty.load("hasty").state.balance == Int64(won))
                print("aggregates: 16 one-attempt deposits at once, \(won) won, \(16 - won) conflicts")
            }
        }

        /// Events stored at schema version 1 are read at version 2 (the bytes
        /// stay as written); one newer than the code refuses the load with a
        /// message naming it.
        @Test func oldEventsAreUpcastWhenReadAndNewerOnesAreRefused() async throws {
            try await ClusterHarness.withCluster(nodes: 1, name: "aggregates-upcast") { harness in
                let client = harness.client
                _ = try await client.append(
                    [
                        EventToAppend(type: "Opened", json: #"{"owner":"ada"}"#),
                        EventToAppend(type: "Deposited", json: #"{"cents":250}"#, schemaVersion: 1),
                        EventToAppend(type: "Deposited", json: #"{"amount":50,"currency":"EUR"}"#, schemaVersion: 2),
                    ], to: "legacy")
                let repository = Self.repository(harness)
                #expect(try await repository.load("legacy").state.balance == 300)
                let stored = try await client.readStream("legacy")
                #expect(stored.events[1].schemaVersion == 1 && String(decoding: stored.events[1].data, as: UTF8.self) == #"{"cents":250}"#)
                _ = try await client.append([EventToAppend(type: "Deposited", json: #"{"amount":1}"#, schemaVersion: 3)], to: "legacy")
                do {
                    _ = try await repository.load("legacy")
                    Issue.record("an event newer than the code was folded in")
                } catch {
                    #expect("\(error)" == "upcasting: legacy@3: Deposited version 3 is newer than this code knows (2)")
                }
            }
        }

        /// The state as of a position or a recorded time is the fold of the
        /// events up to it, with or without a snapshot before it; a stream whose
        /// first events were truncated refuses to give a state.
        @Test func asOfReadsFoldTheHistoryUpToAPointAndTruncatedHistoryIsRefused() async throws {
            try await ClusterHarness.withCluster(nodes: 1, name: "aggregates-as-of") { harness in
                let repository = Self.repository(harness, snapshotEvery: 5)
                _ = try await repository.execute(.open("ada"), on: "ledger")
                for amount in 1...20 { _ = try await repository.execute(.deposit(Int64(amount)), on: "ledger") }
                let events = try await harness.client.readStream("ledger").events
                let tenth = events[10]  // the 10th deposit (event 0 opened the account)
                let byPosition = try await repository.load("ledger", asOf: .position(tenth.position))
                #expect(byPosition.state.balance == 55 && byPosition.revision == 10)
                #expect(byPosition.snapshotRevision == 9, "the snapshot at revision 9 is the newest before it")
                let byTime = try await repository.load("ledger", asOf: .time(microseconds: tenth.recordedTimeMicroseconds))
                #expect(byTime.state.balance >= 55 && byTime.revision.map { $0 >= 10 } == true, "events recorded in the same microsecond come along")
                #expect(try await repository.load("ledger", asOf: .time(microseconds: events[0].recordedTimeMicroseconds - 1)).revision == nil)

                let metadata = try await harness.client.send(
                    .PUT, url: harness.cluster.httpURL(1) + "/v1/streams/ledger/metadata",
                    headers: [("Authorization", "Bearer \(harness.token)"), ("Content-Type", "application/json")],
                    body: Array(#"{"truncateBefore":3}"#.utf8))
                #expect(metadata.status == 200, "\(metadata.bodyText)")
                do {
                    _ = try await repository.load("ledger", useSnapshots: false)
                    Issue.record("a state was built from a truncated history")
                } catch AggregateError.historyUnavailable(let stream, let first) {
                    #expect(stream == "ledger" && first == 3)
                }
            }
        }
    }
}
