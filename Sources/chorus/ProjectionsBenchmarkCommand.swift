import ArgumentParser
import ChorusCore
import ChorusEventStore
import ChorusNode
import ChorusProjections
import ChorusRaft
import ChorusReadModels
import ChorusService
import ChorusTesting
import Foundation
import Logging
import Synchronization

/// `chorus bench projections`: the figures of issue 11 on one in-process node
/// (a one-voter cluster, durable log, release build):
///
/// 1. **catch-up**: a fresh projection folds N events already in the store
///    into SQLite (one row upsert per event, batched transactions, checkpoint
///    in each), read through the node's catch-up batches exactly as
///    `chorus node --projections` does;
/// 2. **read-your-writes**: C clients each append one event, then wait until
///    the projection has passed its position; the p99 of append+wait against
///    the p99 of the append alone.
///
/// Both go through the service layer in process (no HTTP), so the figures are
/// the projection's own cost, not the HTTP stack's.
struct ProjectionsBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections", abstract: "Projection catch-up rate into SQLite, and append→wait-for-position latency.")

    @Option(help: "Events in the store before the catch-up.") var events: Int = 1_000_000
    @Option(help: "Distinct rows the events upsert.") var accounts: Int = 10_000
    @Option(help: "Concurrent clients of the read-your-writes part.") var clients: Int = 16
    @Option(name: .customLong("appends-per-client"), help: "Appends each client makes.") var appendsPerClient: Int = 300
    @Option(name: .customLong("batch-size"), help: "Events per catch-up read (and transaction).") var batchSize: Int = 2_048

    func validate() throws {
        guard events >= 1, accounts >= 1, clients >= 1, appendsPerClient >= 1 else { throw ValidationError("counts must be positive") }
        guard (1...4_096).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...4096") }
    }

    static let definition = try! ProjectionDefinition(
        name: "balance", version: 1, source: .category("account"),
        schema: ["CREATE TABLE balance (account TEXT PRIMARY KEY, cents INTEGER NOT NULL, last_position INTEGER NOT NULL)"],
        handlers: [try! ProjectionHandler(eventType: "Deposited", statements: [
            "INSERT INTO balance (account, cents, last_position) VALUES (:data.account, :data.cents, :position) ON CONFLICT (account) DO UPDATE SET cents = cents + excluded.cents, last_position = excluded.last_position",
        ])],
        queries: [try! ProjectionQuery(name: "total", sql: "SELECT count(*), sum(cents) FROM balance", parameters: [])])

    func run() async throws {
        let directory = NSTemporaryDirectory() + "chorus-bench-projections-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let (node, _) = try await SingleNode.start(directory: directory + "/node", logger: logger) { configuration in
            configuration.writeTimeoutMilliseconds = 30_000
            configuration.snapshotThresholdEntries = 100_000_000
        }
        let service = ChorusService(node: node)
        let deadline = ContinuousClock.now + .seconds(20)
        while try await node.status().role != .leader, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }

        // Load the store: appends of up to 1,000 events, four in flight.
        let loadStart = ContinuousClock.now
        let perAppend = 1_000
        let appendCount = (events + perAppend - 1) / perAppend
        let next = SharedCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { [events, accounts, appendCount, perAppend] in
                    while true {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        guard index < appendCount else { return }
                        let first = index * perAppend
                        let drafts = (first..<min(first + perAppend, events)).map { number in
                            EventDraft(type: "Deposited", data: Array(#"{"account":"a-\#(number % accounts)","cents":\#(number % 100)}"#.utf8))
                        }
                        _ = try await service.append(AppendRequest(stream: StreamName("account-\(index % 64)"), events: drafts), caller: .anonymous)
                    }
                }
            }
            try await group.waitForAll()
        }
        print("loaded \(events) events in \(Self.seconds(ContinuousClock.now - loadStart)) s")

        // 1. Catch-up from position 0.
        let database = try ProjectionDatabase(directory: directory + "/projections/balance", definition: Self.definition)
        let worker = ProjectionWorker(database: database)
        let catchUpStart = ContinuousClock.now
        let run = Task { await worker.run(read: service.projectionBatchReader(batchSize: batchSize)) }
        let reached = await worker.wait(forPosition: GlobalPosition(UInt64(events - 1)), timeoutMilliseconds: 600_000)
        let catchUp = ContinuousClock.now - catchUpStart
        guard case .reached = reached else {
            print("catch-up did not finish: \(String(describing: reached)) \(worker.status)")
            throw ExitCode(1)
        }
        let total = try await database.query("total", arguments: [])
        let expectedSum = (0..<events).reduce(0) { $0 + $1 % 100 }
        guard total.rows == [[.integer(Int64(min(accounts, events))), .integer(Int64(expectedSum))]] else {
            print("wrong table after catch-up: \(total.rows)")
            throw ExitCode(1)
        }
        let rate = Double(events) / Self.secondsValue(catchUp)
        print("catch-up: \(events) events into SQLite in \(Self.seconds(catchUp)) s = \(Int(rate)) events/s (batch \(batchSize), table verified)")

        // 2. Read-your-writes at `clients` concurrent clients.
        let appendLatencies = SharedSamples()
        let waitLatencies = SharedSamples()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask { [appendsPerClient, accounts] in
                    for round in 0..<appendsPerClient {
                        let start = ContinuousClock.now
                        let data = Array(#"{"account":"a-\#((client * 7_919 + round) % accounts)","cents":1}"#.utf8)
                        let response = try await service.append(
                            AppendRequest(stream: StreamName("account-c\(client)"), events: [EventDraft(type: "Deposited", data: data)]), caller: .anonymous)
                        let appended = ContinuousClock.now
                        let outcome = await worker.wait(forPosition: response.outcome.lastPosition, timeoutMilliseconds: 30_000)
                        guard case .reached = outcome else { throw ValidationError("a wait ended \(String(describing: outcome))") }
                        let done = ContinuousClock.now
                        appendLatencies.values.withLock { $0.append(Self.secondsValue(appended - start) * 1_000) }
                        waitLatencies.values.withLock { $0.append(Self.secondsValue(done - start) * 1_000) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let appendOnly = appendLatencies.values.withLock { $0.sorted() }
        let appendAndWait = waitLatencies.values.withLock { $0.sorted() }
        func percentile(_ sorted: [Double], _ fraction: Double) -> String {
            String(format: "%.3f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))])
        }
        print("read-your-writes at \(clients) clients, \(appendOnly.count) appends: append p50 \(percentile(appendOnly, 0.5)) ms p99 \(percentile(appendOnly, 0.99)) ms; append+wait p50 \(percentile(appendAndWait, 0.5)) ms p99 \(percentile(appendAndWait, 0.99)) ms")
        let difference = appendAndWait[min(appendAndWait.count - 1, Int(Double(appendAndWait.count) * 0.99))]
            - appendOnly[min(appendOnly.count - 1, Int(Double(appendOnly.count) * 0.99))]
        print("p99 difference (append+wait − append): \(String(format: "%.3f", difference)) ms (goal ≤ 2 ms)")
        run.cancel()
        await run.value
        database.close()
        await node.shutdown()
    }

    static func secondsValue(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func seconds(_ duration: Duration) -> String { String(format: "%.2f", secondsValue(duration)) }
}

/// Shared state of the benchmark's concurrent tasks.
final class SharedCounter: Sendable { let value = Atomic<Int>(0) }
final class SharedSamples: Sendable { let values = Mutex<[Double]>([]) }
