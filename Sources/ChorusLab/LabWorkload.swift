import ChorusCheck
import ChorusClient
import ChorusCore
import NIOHTTP1

/// One level's load in the lab: reading clients pinned one to a node (so
/// followers serve the weaker levels, which is where they differ), and
/// background writers through any node keeping the log moving.
///
/// | who | does |
/// |---|---|
/// | client i (node i mod 3) | 70 % single-key reads at the level, 15 % range reads at the level, 15 % writes (its own session) |
/// | writer j | writes with unique values, as fast as they are acknowledged |
///
/// Every write writes a value no other write writes, so a read names the
/// write it saw. Each level has its own keys (`lab/<level>/…`), so one
/// level's history holds every write its reads can return.
struct LabWorkload: Sendable {
    let level: LabLevel
    let urls: [String]
    let clients: Int
    let recorder: KeyValueRecorder
    /// The cluster's admin token (the lab's nodes enforce tokens, as every cluster does).
    let token: String?

    /// A client's attempt gives up on a node after this long, the whole operation after the next.
    static let requestTimeoutMilliseconds = 1_000
    static let operationTimeoutMilliseconds = 2_000
    /// Out of 100 draws: below the first a client writes, below the second it reads a range.
    static let writePercent: UInt64 = 15
    static let rangePercent: UInt64 = 30
    /// After a failed attempt a client waits this long (its node may be electing).
    static let failurePauseMilliseconds = 20
    /// Process numbers of the writers start here (clients are 0…).
    static let writerProcessBase = 1_000

    /// A level stops early at this many operations, short of the recorder's
    /// limit by more than the clients and writers that may each invoke one
    /// more after they check (at most 64 + 2).
    static let operationCountMaximum = KeyValueRecorder.operationCountMaximum - 100

    /// Whether a client or writer may invoke another operation.
    func mayContinue(until deadline: ContinuousClock.Instant) -> Bool {
        ContinuousClock.now < deadline && recorder.count < Self.operationCountMaximum
    }

    var prefix: String { "lab/\(level.rawValue)/" }
    func key(_ index: Int) -> String { prefix + "\(index)" }

    static func makeClient(endpoints: [String], token: String?) throws(ChorusClientError) -> ChorusClient {
        var configuration = ChorusClient.Configuration()
        configuration.bearerToken = token
        configuration.operationTimeoutMilliseconds = operationTimeoutMilliseconds
        configuration.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        configuration.connectTimeoutMilliseconds = requestTimeoutMilliseconds
        return try ChorusClient(endpoints: endpoints, configuration: configuration)
    }

    /// Runs every client and writer until `deadline`.
    func run(until deadline: ContinuousClock.Instant) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<clients {
                group.addTask { try await runClient(number, until: deadline) }
            }
            for number in 0..<LabConfiguration.writerCount {
                group.addTask { try await runWriter(number, until: deadline) }
            }
            try await group.waitForAll()
        }
    }

    private func runClient(_ number: Int, until deadline: ContinuousClock.Instant) async throws {
        let node = urls[number % urls.count]
        let client = try Self.makeClient(endpoints: [node], token: token)
        defer { client.shutdown() }
        if level.isLeaderless { return try await runLeaderlessReader(number, client: client, node: node, until: deadline) }
        var random = SeededGenerator(seed: UInt64(number) &* 104_729 &+ 17)
        let session = "client-\(number)"
        var sequence = 0
        while mayContinue(until: deadline) {
            sequence += 1
            let key = self.key(Int(random.next() % UInt64(LabConfiguration.keyCount)))
            let draw = random.next() % 100
            if draw < Self.writePercent {
                await write(client, key: key, value: "c\(number)-\(sequence)", process: number, session: session)
            } else if draw < Self.rangePercent {
                try await readRange(client, base: node, process: number, session: session)
            } else {
                let handle = recorder.invoke(group: level.rawValue, process: number, session: session, function: .read, key: key)
                do {
                    let read = try await client.get(
                        key, consistency: level.consistency, maximumVersions: level.maximumVersions,
                        maximumLagMilliseconds: level.maximumLagMilliseconds)
                    recorder.complete(handle, read: read)
                } catch {
                    recorder.complete(handle, outcome: .fail)
                    try await Task.sleep(for: .milliseconds(Self.failurePauseMilliseconds))
                }
            }
        }
    }

    private func runWriter(_ number: Int, until deadline: ContinuousClock.Instant) async throws {
        let client = try Self.makeClient(endpoints: urls, token: token)
        defer { client.shutdown() }
        if level.isLeaderless { return try await runLeaderlessWriter(number, client: client, until: deadline) }
        var random = SeededGenerator(seed: UInt64(number) &* 7_727 &+ 11)
        var sequence = 0
        let process = Self.writerProcessBase + number
        while mayContinue(until: deadline) {
            sequence += 1
            let key = self.key(Int(random.next() % UInt64(LabConfiguration.keyCount)))
            await write(client, key: key, value: "w\(number)-\(sequence)", process: process, session: "writer-\(number)")
        }
    }

    /// A write with a unique value: `.info` when it got no answer (it may have taken effect).
    private func write(_ client: ChorusClient, key: String, value: String, process: Int, session: String) async {
        let handle = recorder.invoke(
            group: level.rawValue, process: process, session: session, function: .write, key: key, value: .string(value))
        do {
            let version = try await client.put(key, Array(value.utf8))
            recorder.complete(handle, outcome: .ok, version: Int64(version))
        } catch {
            recorder.complete(handle, outcome: .info)
        }
    }

    /// One range read of the level's keys (one page holds them all), at the level, from the client's node.
    private func readRange(_ client: ChorusClient, base: String, process: Int, session: String) async throws {
        let limit = LabConfiguration.rangeLimit
        let handle = recorder.invoke(
            group: level.rawValue, process: process, session: session, function: .rangeRead, key: prefix)
        let url = RangePage.url(base: base, prefix: prefix, limit: limit, after: nil, query: level.query)
        guard let response = try? await client.send(.GET, url: url), response.status == 200,
            let page = try? RangePage(parsing: response)
        else {
            recorder.complete(handle, outcome: .fail)
            try await Task.sleep(for: .milliseconds(Self.failurePauseMilliseconds))
            return
        }
        recorder.complete(handle, outcome: .ok, range: page.result(limit: limit))
    }
}
