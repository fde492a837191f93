import ArgumentParser
import ChorusCore
import ChorusRaft
import ChorusSimulation
import Foundation

/// `chorus simulate …`: deterministic simulation campaigns.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run deterministic simulations that try to break Chorus's protocols.",
        subcommands: [SimulateRaftCommand.self, SimulateEventsCommand.self]
    )
}

/// The options every campaign command takes.
struct CampaignOptions: ParsableArguments {
    @Option(name: .long, help: "Replay this one seed.")
    var seed: String?

    @Option(name: .long, help: "Run a campaign of this many seeds.")
    var seeds: String?

    @Option(name: .long, help: "The first seed of a campaign (default 1).")
    var start: String?

    @Option(name: .long, help: "Concurrent seeds in a campaign (default 1).")
    var jobs: String?

    @Option(name: .customLong("inject-bug"), help: "A deliberate bug the checks must catch (see the command's help).")
    var injectBug: String?

    @Flag(name: .long, help: "Print every event of a single seed.")
    var trace = false

    @Flag(name: .long, help: "Shorter safety phases (as in `swift test`).")
    var quick = false

    @Option(name: .customLong("pre-vote"), help: "PreVote on or off for every seed (default: each seed draws it).")
    var preVote: String?

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func parseNumber(_ text: String?, name: String, minimum: UInt64, fail: (String) -> ExitCode) throws -> UInt64? {
        guard let text else { return nil }
        guard let value = UInt64(text), value >= minimum else {
            throw fail("--\(name) needs a whole number ≥ \(minimum), not '\(text)'")
        }
        return value
    }

    /// Runs the campaign or the single seed these options ask for with
    /// `workload`, prints the summary line, and exits 1 on any violation.
    func run(command: String, workload: SimulationWorkload, bugs: [InjectedBug]) async throws {
        func fail(_ message: String) -> ExitCode {
            printError("chorus simulate \(command): \(message)")
            return ExitCode(2)
        }
        guard unrecognized.isEmpty else {
            throw fail("unexpected argument(s): \(unrecognized.joined(separator: " ")) (see --help)")
        }
        var bug: InjectedBug?
        if let injectBug {
            guard let parsed = InjectedBug(rawValue: injectBug), bugs.contains(parsed) else {
                throw fail("unknown bug '\(injectBug)'; choose one of \(bugs.map(\.rawValue).joined(separator: ", "))")
            }
            bug = parsed
        }
        let single = try parseNumber(seed, name: "seed", minimum: 0, fail: fail)
        let count = try parseNumber(seeds, name: "seeds", minimum: 1, fail: fail)
        let first = try parseNumber(start, name: "start", minimum: 0, fail: fail) ?? 1
        let jobCount = try parseNumber(jobs, name: "jobs", minimum: 1, fail: fail) ?? 1
        guard (single == nil) != (count == nil) else { throw fail("give exactly one of --seed N or --seeds N") }
        if trace && single == nil { throw fail("--trace replays one seed; use it with --seed") }
        if start != nil && single != nil { throw fail("--start goes with --seeds, not --seed") }
        guard jobCount <= 64 else { throw fail("--jobs is at most 64") }
        if let count, count > 1 << 40 { throw fail("--seeds is at most \(1 << 40)") }
        if let count, first > UInt64.max - count { throw fail("--start + --seeds runs past the largest seed") }
        var options = Campaign.Options(injectedBug: bug, quick: quick, workload: workload)
        switch preVote {
        case nil: break
        case "on": options.preVote = true
        case "off": options.preVote = false
        case let other?: throw fail("--pre-vote takes on or off, not '\(other)'")
        }

        let clock = ContinuousClock()
        let began = clock.now
        var summary: Campaign.Summary
        if let single {
            let outcome = Campaign.runSeed(single, options: options, trace: trace ? { print($0) } : nil)
            summary = Campaign.Summary()
            summary.add(outcome)
            if !trace || outcome.violation != nil {
                print(
                    "seed=\(single) trace_hash=\(String(outcome.traceHash, radix: 16)) events=\(outcome.events) \(outcome.statistics)")
            }
        } else {
            summary = await Campaign.runConcurrently(start: first, count: Int(count!), jobs: Int(jobCount), options: options)
        }
        let wall = clock.now - began
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        print(
            "seeds=\(summary.seeds) ops=\(summary.completedOperations) simulated_seconds=\(Self.format(summary.simulatedSeconds)) wall_seconds=\(Self.format(wallSeconds)) violations=\(summary.failures.count)"
        )
        if summary.linearizabilityUnknown > 0 {
            print("checker_unknown=\(summary.linearizabilityUnknown) (checker budget exhausted; not counted as violations)")
        }
        for failure in summary.failures {
            guard let violation = failure.violation else { continue }
            let flags = (bug.map { " --inject-bug \($0.rawValue)" } ?? "") + (quick ? " --quick" : "")
                + (preVote.map { " --pre-vote \($0)" } ?? "")
            print("seed=\(failure.seed) property=\(violation.property.rawValue) \(violation)")
            print("  rerun: chorus simulate \(command) --seed \(failure.seed)\(flags) --trace")
        }
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return String(rounded)
    }
}

/// `chorus simulate raft`: one seed with an optional trace, or a campaign of many.
struct SimulateRaftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Simulate a Raft cluster under faults, one seed or a campaign of seeds.",
        discussion: """
            Each seed draws its own faults (swarm testing): partitions of several shapes, loss, \
            duplication, delay, clogging, crashes with torn writes, clock drift, membership changes \
            and leadership transfers. A safety phase runs under faults, then a liveness phase heals \
            everything and requires every client operation to complete and every replica to converge. \
            The clients read and write keys; their history is checked linearizable.

            Bugs for --inject-bug: \(InjectedBug.raft.map(\.rawValue).joined(separator: ", ")).

              chorus simulate raft --seed 42 --trace
              chorus simulate raft --seeds 10000 --start 1 --jobs 2
              chorus simulate raft --seeds 1000 --inject-bug old-term-commit
            """
    )

    @OptionGroup var options: CampaignOptions

    mutating func run() async throws {
        try await options.run(command: "raft", workload: .keyValue, bugs: InjectedBug.raft)
    }
}

/// `chorus simulate events`: the event store on the simulated cluster.
struct SimulateEventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Simulate the event store on a Raft cluster under faults, one seed or a campaign.",
        discussion: """
            The same world and faults as `chorus simulate raft`, with event-store clients: appenders \
            that retry lost replies with the same event ids, readers of whole streams, and catch-up \
            subscribers. Every seed's history is checked: no acknowledged append lost and no phantom \
            event, gap-free revisions and $all, retries applied at most once, expected-version \
            outcomes linearizable per stream, and every subscriber seeing each event exactly once.

            Bugs for --inject-bug: \(InjectedBug.eventStore.map(\.rawValue).joined(separator: ", ")).

              chorus simulate events --seeds 1000 --jobs 2
              chorus simulate events --seeds 1000 --inject-bug append-ignores-expected-version
            """
    )

    @OptionGroup var options: CampaignOptions

    mutating func run() async throws {
        try await options.run(command: "events", workload: .eventStore, bugs: InjectedBug.eventStore)
    }
}
