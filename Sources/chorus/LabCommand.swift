import ArgumentParser
import ChorusLab
import ChorusLocalCluster
import Foundation

/// `chorus lab`: the consistency lab (issue 13). Starts a local three-node
/// cluster, runs every level under a steady write load, and reports per
/// level latency, throughput, every checker's verdicts and the staleness
/// distribution (`ConsistencyLab`).
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Measure every consistency level on a local three-node cluster: latency, throughput, anomalies, staleness.",
        discussion: """
            Starts three `chorus node` processes, writes a steady load, and for each level (\
            \(LabLevel.allCases.map(\.rawValue).joined(separator: ", "))) runs reads from \
            --clients clients pinned to the nodes. Each level's history is judged by every \
            checker: the level's own guarantee, and the stronger ones it does not promise. \
            Exit status 0 when every level kept its own guarantee, 1 when one did not, 64 for \
            usage errors.
            """
    )

    @Option(name: .customLong("duration"), help: ArgumentHelp("Seconds of load in total, shared by the levels.", valueName: "seconds"))
    var durationSeconds: Int = 60

    @Option(help: ArgumentHelp("Reading clients per level (each also writes now and then).", valueName: "n"))
    var clients: Int = 4

    @Option(help: ArgumentHelp("Comma-separated levels to run (default: all).", valueName: "level,…"))
    var levels: String?

    @Option(
        name: .customLong("peer-delay-ms"),
        help: ArgumentHelp(
            "For experiments: every node holds its outbound peer frames this many milliseconds (chorus node --peer-delay-ms).",
            valueName: "ms"))
    var peerDelayMilliseconds: Int = 0

    @Flag(help: "Print the report as JSON (stable keys) instead of the table.")
    var json = false

    @Option(name: .customLong("html"), help: ArgumentHelp("Also write a self-contained HTML page with the plots to this file.", valueName: "file"))
    var htmlFile: String?

    @Option(name: .customLong("binary"), help: ArgumentHelp("The chorus binary the nodes run (default: this one).", valueName: "path"))
    var binary: String?

    /// The validated configuration, or a usage error (exit status 64).
    func labConfiguration() throws -> LabConfiguration {
        var configuration = LabConfiguration(executable: binary ?? LocalCluster.currentExecutable())
        configuration.durationSeconds = durationSeconds
        configuration.clients = clients
        configuration.peerDelayMilliseconds = peerDelayMilliseconds
        do {
            if let levels { configuration.levels = try LabLevel.parseList(levels) }
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        guard FileManager.default.isExecutableFile(atPath: configuration.executable) else {
            throw ValidationError("--binary \(configuration.executable) is not an executable file")
        }
        return configuration
    }

    func validate() throws { _ = try labConfiguration() }

    func run() async throws {
        let configuration = try labConfiguration()
        let report: LabReport
        do {
            report = try await ConsistencyLab.run(configuration) { line in printError(line) }
        } catch {
            printError("chorus lab: \(error)")
            throw ExitCode(1)
        }
        if let htmlFile {
            do {
                try report.html().write(toFile: htmlFile, atomically: true, encoding: .utf8)
            } catch {
                printError("chorus lab: cannot write \(htmlFile): \(error)")
                throw ExitCode(1)
            }
        }
        let text = json ? try report.json() : report.table()
        writeLine(String(text.dropLast()))
        if !report.levelsViolatingOwnGuarantee.isEmpty {
            printError(
                "chorus lab: violated their own guarantee: \(report.levelsViolatingOwnGuarantee.map(\.rawValue).joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}
