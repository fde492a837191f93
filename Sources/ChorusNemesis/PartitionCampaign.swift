import ChorusCheck
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import Synchronization

/// The register workload (`RegisterWorkload`) under the network nemesis:
/// concurrent clients on the host, every node in a network namespace of its
/// own (`NodeNetwork`), faults (`PartitionFault`) one after another with a
/// heal between them, then a final heal and the checks Jepsen makes:
///
/// - the history is linearizable (cas-register model, one register per key);
/// - every acknowledged write-once key reads back its value;
/// - an isolated old leader acknowledges no write invoked once it has been
///   cut off for `isolatedGraceMilliseconds` (an election timeout and a
///   lease): a client pinned to it keeps writing during every isolation.
///
/// `swift test` runs a short fixed schedule (`PartitionNemesisTests`);
/// `chorus nemesis partitions` runs long, seeded ones.
public enum PartitionCampaign {
    public struct Options: Sendable {
        public var durationSeconds = 26
        public var clients = 6
        /// The faults in order; after the list, faults drawn from `seed`.
        public var schedule: [PartitionFault] = []
        public var seed: UInt64 = 1
        public var faultMilliseconds = 2_500
        public var healMilliseconds = 1_500
        /// How long an isolated leader may still acknowledge what it had in flight.
        public var isolatedGraceMilliseconds = 600

        public init() {}
    }

    public struct Report: Sendable {
        public var completed = 0
        public var indeterminate = 0
        public var freshWritesVerified = 0
        public var lostFreshWrites: [String] = []
        /// Probe writes sent to isolated leaders, and those acknowledged after the grace period (must be none).
        public var isolatedLeaderProbes = 0
        public var isolatedLeaderAcknowledged: [String] = []
        public var faultsApplied: [String] = []
        public var verdict: Verdict = .unknown
        public var counterexample: String?
        public var history: History?

        public var passed: Bool {
            verdict == .satisfied && lostFreshWrites.isEmpty && isolatedLeaderAcknowledged.isEmpty
        }

        public var summary: String {
            "\(completed) operations completed, \(indeterminate) indeterminate, \(faultsApplied.count) faults, "
                + "\(freshWritesVerified) write-once keys verified (\(lostFreshWrites.count) lost), "
                + "\(isolatedLeaderProbes) writes to isolated leaders (\(isolatedLeaderAcknowledged.count) acknowledged), "
                + "history \(verdict)"
        }
    }

    /// What a campaign needs of the cluster it runs against.
    public struct Cluster: Sendable {
        public var cluster: LocalCluster
        public var network: NodeNetwork
        /// A client for `endpoints` giving up an attempt after `requestMilliseconds` and the operation after `operationMilliseconds`.
        public var makeClient: @Sendable (_ endpoints: [String], _ operationMilliseconds: Int, _ requestMilliseconds: Int) throws -> ChorusClient

        public init(
            cluster: LocalCluster, network: NodeNetwork,
            makeClient: @escaping @Sendable ([String], Int, Int) throws -> ChorusClient
        ) {
            self.cluster = cluster
            self.network = network
            self.makeClient = makeClient
        }
    }

    final class Probes: Sendable {
        let state = Mutex<(count: Int, acknowledged: [String], faults: [String])>((0, [], []))
    }

    public static func run(_ target: Cluster, options: Options, log: @Sendable @escaping (String) -> Void) async throws -> Report {
        let recorder = RegisterWorkload.Recorder()
        let probes = Probes()
        let deadline = ContinuousClock.now + .seconds(options.durationSeconds)
        let cluster = target.cluster
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<options.clients {
                group.addTask {
                    let client = try target.makeClient(cluster.httpURLs, 3_000, 1_000)
                    defer { client.shutdown() }
                    await RegisterWorkload.runClient(number, of: options.clients, client: client, recorder: recorder, until: deadline)
                }
            }
            group.addTask { try await runFaults(target, options: options, probes: probes, until: deadline, log: log) }
            try await group.waitForAll()
        }

        try target.network.heal()
        for node in cluster.nodes {
            try target.network.attach(node)
            cluster.resume(node)
            if !cluster.isRunning(node) {
                do { try cluster.start(node) } catch { throw NemesisError.cluster("cannot restart n\(node): \(error)") }
            }
        }
        let observer = try target.makeClient(cluster.httpURLs, 8_000, 2_000)
        defer { observer.shutdown() }
        guard await cluster.waitUntilServing(client: observer, timeoutMilliseconds: 60_000),
            await cluster.waitForLeader(client: observer, timeoutMilliseconds: 30_000) != nil
        else { throw NemesisError.cluster("the cluster did not serve again after the heal") }

        var report = Report()
        let state = recorder.snapshot
        report.completed = state.completed
        report.indeterminate = state.indeterminate
        report.lostFreshWrites = try await RegisterWorkload.lostFreshWrites(recorder, client: observer)
        report.freshWritesVerified = state.acknowledgedFreshWrites.count
        (report.isolatedLeaderProbes, report.isolatedLeaderAcknowledged, report.faultsApplied) = probes.state.withLock { $0 }
        let history = try History(events: state.events)
        let result = try await RegisterWorkload.check(recorder)
        report.verdict = result.verdict
        report.counterexample = result.counterexample.map { "\($0)" }
        report.history = history
        return report
    }

    /// The nemesis: one fault after another until the deadline.
    static func runFaults(
        _ target: Cluster, options: Options, probes: Probes, until deadline: ContinuousClock.Instant,
        log: @Sendable (String) -> Void
    ) async throws {
        let cluster = target.cluster
        let network = target.network
        let watcher = try target.makeClient(cluster.httpURLs, 500, 300)
        defer { watcher.shutdown() }
        var random = SeededGenerator(seed: options.seed)
        var step = 0
        try await Task.sleep(for: .milliseconds(1_000))
        while ContinuousClock.now + .milliseconds(options.faultMilliseconds) < deadline {
            let fault =
                step < options.schedule.count
                ? options.schedule[step] : PartitionFault.allCases[Int(random.next() % UInt64(PartitionFault.allCases.count))]
            step += 1
            let leader = await cluster.waitForLeader(client: watcher, timeoutMilliseconds: 3_000)?.node
            let faults = fault.faults(leader: leader, nodes: cluster.nodes)
            try network.apply(faults)
            let line = "\(fault) (leader n\(leader.map(String.init) ?? "?")): \(faults)"
            probes.state.withLock { $0.faults.append(line) }
            log("nemesis: \(line)")
            switch fault {
            case .isolateLeader:
                if let leader {
                    try await probe(isolated: leader, target, options: options, probes: probes)
                } else {
                    try await Task.sleep(for: .milliseconds(options.faultMilliseconds))
                }
            case .isolateThenKillLeader:
                try await Task.sleep(for: .milliseconds(options.faultMilliseconds / 2))
                let victim = leader ?? cluster.nodes.lowerBound
                log("nemesis: kill -9 the isolated n\(victim)")
                await cluster.crash(victim)
                try await Task.sleep(for: .milliseconds(options.faultMilliseconds / 2))
                try network.heal()
                try await Task.sleep(for: .milliseconds(300))
                do { try cluster.start(victim) } catch { throw NemesisError.cluster("cannot restart n\(victim): \(error)") }
            default:
                try await Task.sleep(for: .milliseconds(options.faultMilliseconds))
            }
            try network.heal()
            log("nemesis: healed")
            try await Task.sleep(for: .milliseconds(options.healMilliseconds))
        }
        while ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Writes through the isolated `leader` alone for the fault's duration;
    /// an acknowledgement of a write invoked after the grace period is a violation.
    static func probe(isolated leader: Int, _ target: Cluster, options: Options, probes: Probes) async throws {
        let pinned = try target.makeClient([target.cluster.httpURL(leader)], 400, 400)
        defer { pinned.shutdown() }
        let start = ContinuousClock.now
        let graceEnd = start + .milliseconds(options.isolatedGraceMilliseconds)
        let round = probes.state.withLock { $0.faults.count }
        var sequence = 0
        while ContinuousClock.now < start + .milliseconds(options.faultMilliseconds) {
            sequence += 1
            let key = "isolated-\(round)-\(sequence)"
            let invoked = ContinuousClock.now
            let acknowledged = (try? await pinned.put(key, Array("x".utf8))) != nil
            probes.state.withLock { state in
                state.count += 1
                if acknowledged && invoked >= graceEnd { state.acknowledged.append(key) }
            }
            if !acknowledged { try await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
