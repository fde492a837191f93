import ChorusClient
import ChorusCore
import ChorusLocalCluster
import NIOHTTP1
import Synchronization

/// Kill -9 during heavy writes, many times (issue 15): in each round,
/// `writers` clients write keys of their own as fast as the cluster takes
/// them; mid-round a node dies by SIGKILL (the leader, a follower, or every
/// node at once, in turn), is restarted from its data directory, and once a
/// leader serves again every write acknowledged in any round so far is read
/// back — one linearizable range read over the campaign's prefix, paged.
/// An acknowledged write that is missing is lost: the campaign fails.
public enum KillCampaign {
    public struct Options: Sendable {
        public var rounds = 5
        public var writers = 16
        /// Writes run this long before the kill, and on while the node is down.
        public var roundMilliseconds = 1_500
        public var downMilliseconds = 300
        public var seed: UInt64 = 1
        public var prefix = "k9-"

        public init() {}
    }

    public struct Round: Sendable {
        public var killed: [Int]
        public var acknowledged: Int
        public var lost: [String]
    }

    public struct Report: Sendable {
        public var rounds: [Round] = []
        public var acknowledged: Int { rounds.last?.acknowledged ?? 0 }
        public var lost: [String] { rounds.last?.lost ?? [] }
        public var passed: Bool { rounds.allSatisfy { $0.lost.isEmpty } }
        public var summary: String {
            "\(rounds.count) kill -9 rounds, \(acknowledged) acknowledged writes, \(lost.count) lost"
        }
    }

    final class Acknowledged: Sendable {
        let keys = Mutex<Set<String>>([])
    }

    public static func run(
        cluster: LocalCluster,
        makeClient: @escaping @Sendable (_ endpoints: [String], _ operationMilliseconds: Int, _ requestMilliseconds: Int) throws ->
            ChorusClient,
        options: Options, log: @Sendable @escaping (String) -> Void
    ) async throws -> Report {
        let acknowledged = Acknowledged()
        let observer = try makeClient(cluster.httpURLs, 8_000, 2_000)
        defer { observer.shutdown() }
        var random = SeededGenerator(seed: options.seed)
        var report = Report()
        for round in 1...options.rounds {
            let leader = await cluster.waitForLeader(client: observer, timeoutMilliseconds: 10_000)?.node
            // Every third round kills every node at once; the others the leader or a follower, in turn.
            let victims: [Int]
            if round % 3 == 0 {
                victims = Array(cluster.nodes)
            } else if round % 3 == 1, let leader {
                victims = [leader]
            } else {
                let followers = cluster.nodes.filter { $0 != leader }
                victims = [followers[Int(random.next() % UInt64(followers.count))]]
            }
            let stop = ContinuousClock.now + .milliseconds(options.roundMilliseconds + options.downMilliseconds)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<options.writers {
                    group.addTask {
                        let client = try makeClient(cluster.httpURLs, 1_000, 500)
                        defer { client.shutdown() }
                        var sequence = 0
                        while ContinuousClock.now < stop {
                            sequence += 1
                            let key = "\(options.prefix)\(round)-\(writer)-\(sequence)"
                            if (try? await client.put(key, Array("\(round)".utf8))) != nil {
                                _ = acknowledged.keys.withLock { $0.insert(key) }
                            } else {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(options.roundMilliseconds))
                    log("round \(round): kill -9 \(victims.map { "n\($0)" }.joined(separator: " "))")
                    for victim in victims { cluster.signal(victim, 9) }
                    for victim in victims { await cluster.waitForExit(victim, timeoutMilliseconds: 5_000) }
                    try await Task.sleep(for: .milliseconds(options.downMilliseconds))
                    for victim in victims {
                        do { try cluster.start(victim) } catch { throw NemesisError.cluster("cannot restart n\(victim): \(error)") }
                    }
                }
                try await group.waitForAll()
            }
            guard await cluster.waitUntilServing(client: observer, timeoutMilliseconds: 60_000),
                await cluster.waitForLeader(client: observer, timeoutMilliseconds: 30_000) != nil
            else { throw NemesisError.cluster("round \(round): the cluster did not serve again") }
            let expected = acknowledged.keys.withLock { $0 }
            let present = try await readAll(prefix: options.prefix, client: observer, url: cluster.httpURL(cluster.nodes.lowerBound))
            let lost = expected.subtracting(present).sorted()
            report.rounds.append(Round(killed: victims, acknowledged: expected.count, lost: lost))
            log("round \(round): \(expected.count) acknowledged writes so far, \(lost.count) lost")
        }
        return report
    }

    /// Every key under `prefix`, by linearizable range reads of 1,000 keys a page.
    static func readAll(prefix: String, client: ChorusClient, url: String) async throws -> Set<String> {
        var keys: Set<String> = []
        var after: String?
        for _ in 0..<100_000 {
            var page = url + "/v1/kv?consistency=linearizable&limit=1000&prefix=\(ChorusClient.encodePathSegment(prefix))"
            if let after { page += "&after=\(ChorusClient.encodePathSegment(after))" }
            // A restarted cluster may still be electing (503): retry, bounded.
            var response = try await client.send(.GET, url: page)
            for attempt in 1...40 where response.status == 503 || response.status == 307 {
                try await Task.sleep(for: .milliseconds(50 * attempt))
                response = try await client.send(.GET, url: page)
            }
            guard response.status == 200, let body = try? JSONValue(parsing: response.body), let entries = body["entries"]?.arrayValue
            else { throw NemesisError.cluster("a range read answered \(response.status): \(response.bodyText.prefix(200))") }
            for entry in entries { if let key = entry["key"]?.stringValue { keys.insert(key) } }
            guard let next = body["continuation"]?.stringValue else { return keys }
            after = next
        }
        throw NemesisError.cluster("a range read over \(prefix) never ended")
    }
}
