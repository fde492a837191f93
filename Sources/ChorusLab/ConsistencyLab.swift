import ChorusCheck
import ChorusClient
import ChorusLocalCluster
import Foundation
import NIOHTTP1

/// `chorus lab`: measures the consistency spectrum on real processes
/// (issue 13, "The consistency lab"). Others offer a calculator that
/// estimates staleness (PBS, Bailis et al., VLDB 2012); this runs the
/// levels one after another against one local three-node cluster under a
/// steady write load, records every operation, and judges each level's
/// history with every checker.
///
/// ```
///  start 3 × `chorus node` (LocalCluster, --peer-delay-ms D)
///  for each level: clients + writers for duration / levels  ──▶ KeyValueRecorder
///                  every checker on the level's history      ──▶ LevelReport
///  stop the nodes, remove their directory                    ──▶ LabReport
/// ```
public enum ConsistencyLab {
    public enum RunError: Error, CustomStringConvertible {
        case cluster(String)
        case history(level: LabLevel, reason: String)

        public var description: String {
            switch self {
            case .cluster(let reason): "the lab cluster: \(reason)"
            case .history(let level, let reason): "the \(level.rawValue) history cannot be checked: \(reason)"
            }
        }
    }

    /// How long the nodes get to start and elect a leader.
    static let startTimeoutMilliseconds = 20_000

    /// Runs the lab; `progress` hears one line per step (for standard error).
    public static func run(
        _ configuration: LabConfiguration, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> LabReport {
        try configuration.validate()
        let directory = NSTemporaryDirectory() + "chorus-lab-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard let base = LocalCluster.freeBasePort(nodeCount: LabConfiguration.nodeCount) else {
            throw RunError.cluster("no free ports")
        }
        var options = LocalCluster.Options(
            nodeCount: LabConfiguration.nodeCount, dataDirectory: directory, basePort: base, executable: configuration.executable)
        options.peerDelayMilliseconds = configuration.peerDelayMilliseconds
        options.extraArguments = ["--log-level", "warning"]
        let cluster = try LocalCluster(options: options)
        try cluster.prepareAuthorization()
        let observer = try LabWorkload.makeClient(endpoints: cluster.httpURLs, token: cluster.adminToken)
        defer {
            cluster.killAll()
            observer.shutdown()
        }
        try cluster.startAll()
        guard await cluster.waitUntilServing(client: observer, timeoutMilliseconds: startTimeoutMilliseconds),
            let leader = await cluster.waitForLeader(client: observer, timeoutMilliseconds: startTimeoutMilliseconds)
        else {
            await cluster.shutdown()
            throw RunError.cluster("the nodes did not start and elect a leader; logs in \(directory)")
        }
        progress("lab: 3 nodes up (leader n\(leader.node)), \(configuration.levels.count) levels × \(configuration.phaseMilliseconds) ms")
        if configuration.levels.contains(where: \.isLeaderless) {
            let definition = #"{"replication":"leaderless","defaultLevel":"eventual","replicas":3,"readQuorum":2,"writeQuorum":2}"#
            let created = try? await observer.send(
                .PUT, url: cluster.httpURL(leader.node) + "/v1/keyspaces/\(LabConfiguration.leaderlessKeyspace)",
                body: Array(definition.utf8))
            guard created?.status == 200 else {
                await cluster.shutdown()
                throw RunError.cluster("the leaderless keyspace was not created: \(created.map { "\($0.status) \($0.bodyText)" } ?? "no answer")")
            }
        }
        var levels: [LevelReport] = []
        for level in configuration.levels {
            let recorder = KeyValueRecorder()
            let workload = LabWorkload(
                level: level, urls: cluster.httpURLs, clients: configuration.clients, recorder: recorder, token: cluster.adminToken)
            let start = ContinuousClock.now
            try await workload.run(until: start + .milliseconds(configuration.phaseMilliseconds))
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let report: LevelReport
            do {
                report = try LabAnalysis.report(level: level, operations: recorder.entries.map(\.operation), seconds: seconds)
            } catch {
                throw RunError.history(level: level, reason: "\(error)")
            }
            progress(
                "lab: \(level.rawValue): \(report.reads.ok) reads, \(report.writes.ok) writes, "
                    + "\(report.ownViolations) violations of its own guarantee")
            levels.append(report)
        }
        await cluster.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
        return LabReport(configuration: LabReport.Settings(configuration), levels: levels)
    }
}
