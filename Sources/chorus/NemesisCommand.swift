import ArgumentParser
import ChorusCheck
import ChorusClient
import ChorusLocalCluster
import ChorusNemesis
import Foundation

/// `chorus nemesis`: Jepsen-style campaigns against real `chorus node`
/// processes, longer than `swift test` runs them (issue 15).
struct NemesisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nemesis",
        abstract: "Fault campaigns against a local cluster of real node processes, every history checked.",
        subcommands: [NemesisPartitionsCommand.self, NemesisKillCommand.self]
    )
}

/// The options every campaign shares: cluster size, binary, data directory.
struct NemesisClusterOptions: ParsableArguments {
    @Option(help: "How many nodes (3 to 9).") var nodes: Int = 5
    @Option(name: .customLong("binary"), help: ArgumentHelp("The chorus binary the nodes run (default: this one).", valueName: "path"))
    var binary: String?
    @Option(name: .customLong("data-dir"), help: "Where the nodes keep storage and logs (default: a new temporary directory, removed on success).")
    var dataDirectory: String?
    @Option(help: "Seed of the fault schedule.") var seed: UInt64 = 1

    func validate() throws {
        guard (3...9).contains(nodes) else { throw ValidationError("--nodes must be in 3...9") }
        if let binary, !FileManager.default.isExecutableFile(atPath: binary) {
            throw ValidationError("--binary \(binary) is not an executable file")
        }
    }

    var executable: String { binary ?? LocalCluster.currentExecutable() }
    var directory: String {
        dataDirectory ?? NSTemporaryDirectory() + "chorus-nemesis-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// Starts the cluster, runs `body`, stops the nodes; the directory is kept when `body` reports a failure.
func withNemesisCluster(
    _ options: LocalCluster.Options, _ body: (LocalCluster, @escaping @Sendable ([String], Int, Int) throws -> ChorusClient) async throws -> Bool
) async throws {
    let cluster: LocalCluster
    do { cluster = try LocalCluster(options: options) } catch {
        printError("chorus nemesis: \(error)")
        throw ExitCode(64)
    }
    defer { cluster.killAll() }
    let token: String?
    do {
        try cluster.prepareAuthorization()
        token = cluster.adminToken
        try cluster.startAll()
    } catch {
        printError("chorus nemesis: \(error)")
        throw ExitCode(1)
    }
    let makeClient: @Sendable ([String], Int, Int) throws -> ChorusClient = { endpoints, operation, request in
        var configuration = ChorusClient.Configuration()
        configuration.operationTimeoutMilliseconds = operation
        configuration.requestTimeoutMilliseconds = request
        configuration.connectTimeoutMilliseconds = min(configuration.connectTimeoutMilliseconds, request)
        configuration.bearerToken = token
        return try ChorusClient(endpoints: endpoints, configuration: configuration)
    }
    let observer = try makeClient(cluster.httpURLs, 2_000, 1_000)
    defer { observer.shutdown() }
    guard await cluster.waitUntilServing(client: observer, timeoutMilliseconds: 60_000),
        await cluster.waitForLeader(client: observer, timeoutMilliseconds: 30_000) != nil
    else {
        printError("chorus nemesis: the cluster did not start; logs in \(options.dataDirectory)")
        throw ExitCode(1)
    }
    let passed: Bool
    do {
        passed = try await body(cluster, makeClient)
    } catch {
        await cluster.shutdown()
        printError("chorus nemesis: \(error); logs in \(options.dataDirectory)")
        throw ExitCode(1)
    }
    await cluster.shutdown()
    if passed {
        try? FileManager.default.removeItem(atPath: options.dataDirectory)
    } else {
        printError("chorus nemesis: logs and the history kept in \(options.dataDirectory)")
        throw ExitCode(1)
    }
}

struct NemesisPartitionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partitions",
        abstract: "The register workload under network partitions (every node in a network namespace of its own; needs root).",
        discussion: """
            Six clients do put / linearizable get / cas and write-once keys while the nemesis applies \
            faults one after another (\(PartitionFault.allCases.map(\.rawValue).joined(separator: ", "))), \
            healing between them. Then: the history must be linearizable, every acknowledged write-once \
            key read back, and no isolated old leader may have acknowledged a write. Exit status 0 when \
            all hold, 1 when one does not (the history is kept as JSON lines), 64 for usage errors, 69 \
            when network namespaces are unavailable here.
            """
    )

    @OptionGroup var cluster: NemesisClusterOptions
    @Option(name: .customLong("duration"), help: ArgumentHelp("Seconds of load.", valueName: "seconds")) var durationSeconds: Int = 120
    @Option(help: "Concurrent clients.") var clients: Int = 6
    @Option(help: ArgumentHelp("Comma-separated faults to run first, in order; then faults drawn from --seed.", valueName: "fault,…"))
    var faults: String?
    @Option(name: .customLong("fault-ms"), help: "How long each fault lasts.") var faultMilliseconds: Int = 2_500
    @Option(name: .customLong("heal-ms"), help: "How long the network is whole between faults.") var healMilliseconds: Int = 1_500

    func campaignOptions() throws -> PartitionCampaign.Options {
        var options = PartitionCampaign.Options()
        guard (5...86_400).contains(durationSeconds) else { throw ValidationError("--duration must be in 5...86400") }
        guard (1...64).contains(clients) else { throw ValidationError("--clients must be in 1...64") }
        guard (200...600_000).contains(faultMilliseconds), (100...600_000).contains(healMilliseconds) else {
            throw ValidationError("--fault-ms must be in 200...600000 and --heal-ms in 100...600000")
        }
        options.durationSeconds = durationSeconds
        options.clients = clients
        options.seed = cluster.seed
        options.faultMilliseconds = faultMilliseconds
        options.healMilliseconds = healMilliseconds
        if let faults {
            do { options.schedule = try PartitionFault.parseList(faults) } catch { throw ValidationError(error.description) }
        }
        return options
    }

    func validate() throws { _ = try campaignOptions() }

    func run() async throws {
        let options = try campaignOptions()
        let network: NodeNetwork
        do { network = try NodeNetwork.create(nodeCount: cluster.nodes) } catch {
            printError("chorus nemesis partitions: \(error)")
            throw ExitCode(69)
        }
        defer { network.remove() }
        let directory = cluster.directory
        let clusterOptions = LocalCluster.Options(network: network, dataDirectory: directory, executable: cluster.executable)
        writeLine("chorus nemesis partitions: \(cluster.nodes) nodes in network namespaces (10.\(network.subnet.0).\(network.subnet.1).0/24), \(durationSeconds) s, seed \(cluster.seed)")
        try await withNemesisCluster(clusterOptions) { local, makeClient in
            let report = try await PartitionCampaign.run(
                .init(cluster: local, network: network, makeClient: makeClient), options: options) { line in writeLine(line) }
            writeLine("chorus nemesis partitions: \(report.summary)")
            if !report.passed {
                if let history = report.history {
                    try? HistoryFormat.jsonLines(history).write(toFile: directory + "/history.jsonl", atomically: true, encoding: .utf8)
                }
                if let counterexample = report.counterexample { printError("counterexample: \(counterexample)") }
                if !report.lostFreshWrites.isEmpty { printError("lost: \(report.lostFreshWrites.prefix(20))") }
                if !report.isolatedLeaderAcknowledged.isEmpty {
                    printError("acknowledged by an isolated leader: \(report.isolatedLeaderAcknowledged.prefix(20))")
                }
            }
            return report.passed
        }
    }
}

struct NemesisKillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill9",
        abstract: "Kill -9 during heavy writes, round after round, every acknowledged write read back after each restart.",
        discussion: """
            Each round, --writers clients write keys of their own; mid-round the leader, a follower, \
            or (every third round) every node is SIGKILLed and restarted; once a leader serves, one \
            linearizable range read checks that every write acknowledged so far is there. Exit status \
            0 when none is lost, 1 when one is, 64 for usage errors.
            """
    )

    @OptionGroup var cluster: NemesisClusterOptions
    @Option(help: "Rounds.") var rounds: Int = 26
    @Option(help: "Concurrent writers.") var writers: Int = 16
    @Option(name: .customLong("round-ms"), help: "Writes before each kill.") var roundMilliseconds: Int = 1_500

    func validate() throws {
        guard (1...10_000).contains(rounds) else { throw ValidationError("--rounds must be in 1...10000") }
        guard (1...256).contains(writers) else { throw ValidationError("--writers must be in 1...256") }
        guard (100...600_000).contains(roundMilliseconds) else { throw ValidationError("--round-ms must be in 100...600000") }
    }

    func run() async throws {
        var options = KillCampaign.Options()
        options.rounds = rounds
        options.writers = writers
        options.roundMilliseconds = roundMilliseconds
        options.seed = cluster.seed
        let directory = cluster.directory
        guard let base = LocalCluster.freeBasePort(nodeCount: cluster.nodes) else {
            printError("chorus nemesis kill9: no free ports")
            throw ExitCode(1)
        }
        var clusterOptions = LocalCluster.Options(
            nodeCount: cluster.nodes, dataDirectory: directory, basePort: base, executable: cluster.executable)
        clusterOptions.respPorts = []
        writeLine("chorus nemesis kill9: \(cluster.nodes) nodes, \(rounds) rounds, \(writers) writers")
        try await withNemesisCluster(clusterOptions) { local, makeClient in
            let report = try await KillCampaign.run(cluster: local, makeClient: makeClient, options: options) { line in writeLine(line) }
            writeLine("chorus nemesis kill9: \(report.summary)")
            if !report.passed { printError("lost: \(report.lost.prefix(20))") }
            return report.passed
        }
    }
}
