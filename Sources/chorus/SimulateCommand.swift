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
        subcommands: [SimulateRaftCommand.self, SimulateEventsCommand.self, SimulateSagasCommand.self, SimulateLeaderlessCommand.self]
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

    @Option(name: .long, help: "raft only: the level of reads (\(SimulatedLevel.allCases.map(\.rawValue).joined(separator: ", "))).")
    var consistency: String?

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func parseNumber(_ text: String?, name: String, minimum: UInt64, fail: (String) -> ExitCode) throws -> UInt64? {
        guard let text else { return nil }
        guard let value = UInt64(text), value >= minimum else {
            throw fail("--\(name) needs a whole number ≥ \(minimum), not '\(text)'")
        }
        return value
    }

    /// The seeds these options ask for, checked: one seed, or a campaign.
    struct SeedPlan {
        var single: UInt64?
        var count: Int
        var first: UInt64
        var jobs: Int
    }

    /// How a command refuses its arguments: a message and exit status 2.
    static func failure(_ command: String) -> (String) -> ExitCode {
        { message in
            printError("chorus simulate \(command): \(message)")
            return ExitCode(2)
        }
    }

    func seedPlan(fail: (String) -> ExitCode) throws -> SeedPlan {
        guard unrecognized.isEmpty else {
            throw fail("unexpected argument(s): \(unrecognized.joined(separator: " ")) (see --help)")
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
        return SeedPlan(single: single, count: Int(count ?? 1), first: first, jobs: Int(jobCount))
    }

    /// The `--inject-bug` named, among the command's `bugs`.
    func injectedBug<Bug: RawRepresentable>(among bugs: [Bug], fail: (String) -> ExitCode) throws -> Bug?
    where Bug.RawValue == String {
        guard let injectBug else { return nil }
        guard let parsed = Bug(rawValue: injectBug), bugs.contains(where: { $0.rawValue == parsed.rawValue }) else {
            throw fail("unknown bug '\(injectBug)'; choose one of \(bugs.map(\.rawValue).joined(separator: ", "))")
        }
        return parsed
    }

    /// Runs the one seed (printing `describe`'s line unless tracing) or the
    /// campaign, prints the summary line and the failing seeds with a rerun
    /// command (`flags` are the options to repeat), and exits 1 on any violation.
    /// With a `level` that has a stronger checker, also how often that checker
    /// found the level's reads in violation (the levels are distinct).
    func execute<Outcome: CampaignSeedOutcome>(
        command: String, plan: SeedPlan, flags: String, level: SimulatedLevel? = nil,
        runSeed: (UInt64, ((String) -> Void)?) -> Outcome, describe: (Outcome) -> String,
        campaign: (SeedPlan) async -> CampaignSummary<Outcome>
    ) async throws {
        let clock = ContinuousClock()
        let began = clock.now
        var summary: CampaignSummary<Outcome>
        if let single = plan.single {
            let outcome = runSeed(single, trace ? { print($0) } : nil)
            summary = CampaignSummary()
            summary.add(outcome)
            if !trace || outcome.violation != nil { print(describe(outcome)) }
        } else {
            summary = await campaign(plan)
        }
        let wall = clock.now - began
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        print(
            "seeds=\(summary.seeds) ops=\(summary.completedOperations) simulated_seconds=\(Self.format(summary.simulatedSeconds)) wall_seconds=\(Self.format(wallSeconds)) violations=\(summary.failures.count)"
        )
        if let level, let stronger = level.strongerCheckerName, summary.strongerCheckerSeeds > 0 {
            print(
                "distinct: the \(stronger) checker found \(level) reads in violation on \(summary.strongerCheckerViolations) of \(summary.strongerCheckerSeeds) seeds")
        }
        if summary.checkerUnknown > 0 {
            print("checker_unknown=\(summary.checkerUnknown) (checker budget exhausted; not counted as violations)")
        }
        for failure in summary.failures {
            guard let violation = failure.violation else { continue }
            print("seed=\(failure.seed) property=\(violation.property.rawValue) \(violation)")
            print("  rerun: chorus simulate \(command) --seed \(failure.seed)\(flags) --trace")
        }
        if !summary.failures.isEmpty { throw ExitCode(1) }
    }

    /// Runs the Raft simulator with `workload` as these options ask.
    func run(command: String, workload: SimulationWorkload, bugs: [InjectedBug]) async throws {
        let fail = Self.failure(command)
        let bug = try injectedBug(among: bugs, fail: fail)
        let plan = try seedPlan(fail: fail)
        var options = Campaign.Options(injectedBug: bug, quick: quick, workload: workload)
        if let consistency {
            guard workload == .keyValue, let level = SimulatedLevel(rawValue: consistency) else {
                throw fail(
                    "--consistency takes one of \(SimulatedLevel.allCases.map(\.rawValue).joined(separator: ", ")) (raft only), not '\(consistency)'")
            }
            options.level = level
        }
        switch preVote {
        case nil: break
        case "on": options.preVote = true
        case "off": options.preVote = false
        case let other?: throw fail("--pre-vote takes on or off, not '\(other)'")
        }
        let flags = (bug.map { " --inject-bug \($0.rawValue)" } ?? "") + (quick ? " --quick" : "")
            + (preVote.map { " --pre-vote \($0)" } ?? "") + (consistency.map { " --consistency \($0)" } ?? "")
        try await execute(
            command: command, plan: plan, flags: flags, level: options.level,
            runSeed: { Campaign.runSeed($0, options: options, trace: $1) },
            describe: {
                "seed=\($0.seed) trace_hash=\(String($0.traceHash, radix: 16)) events=\($0.events) \($0.statistics)"
                    + ($0.sagaStatistics.map { " \($0)" } ?? "")
            },
            campaign: { await Campaign.runConcurrently(start: $0.first, count: $0.count, jobs: $0.jobs, options: options) })
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

/// `chorus simulate sagas`: sagas on the simulated cluster, checked on every seed.
struct SimulateSagasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sagas",
        abstract: "Simulate sagas on a Raft cluster under faults, one seed or a campaign.",
        discussion: """
            The same world and faults as `chorus simulate raft`, with a SagaHost on every server: the \
            leader's host decides and appends to saga streams through Raft, followers' hosts fold the \
            applied log, and a new leader resumes every saga. Clients start order and trip sagas (with \
            duplicate starts) and cancel some; participants fail, refuse, lose requests and replies and \
            answer late. After the faults stop, an operator retries and then resolves parked sagas. \
            Checked on every seed (SagaChecker on the longest applied log): every saga ends completed, \
            compensated or cancelled; one outcome per attempt; one idempotency key per step; \
            compensations one at a time in reverse order of completion; no key applied twice; no lock \
            held by two sagas at once; every acknowledged start exists; every applied effect of a \
            compensated saga undone.

            Bugs for --inject-bug: \(InjectedBug.sagas.map(\.rawValue).joined(separator: ", ")).

              chorus simulate sagas --seed 42 --trace
              chorus simulate sagas --seeds 10000 --start 1 --jobs 2
              chorus simulate sagas --seeds 1000 --inject-bug saga-compensate-forward
            """
    )

    @OptionGroup var options: CampaignOptions

    mutating func run() async throws {
        try await options.run(command: "sagas", workload: .sagas, bugs: InjectedBug.sagas)
    }
}

/// `chorus simulate leaderless`: leaderless keyspaces under faults, or the PBS experiment.
struct SimulateLeaderlessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaderless",
        abstract: "Simulate leaderless keyspaces under faults, one seed or a campaign; or measure PBS staleness.",
        discussion: """
            Three to five ReplicationNodes with SWIM failure detection, hinted handoff, read repair, \\
            Merkle anti-entropy and causal delivery, under the faults each seed draws: partitions of \\
            several shapes, loss, duplication, delay tails, clogging, crashes that lose unsynced \\
            records and tear the tail, and clock drift. Each node runs the ReplicationDriver a node \\
            runs (nothing leaves before the records it depends on are durable); on half the seeds one \\
            keyspace reaches each node's catalog in its own time while the others serve it. \\
            Clients put with contexts and blind, delete, \\
            increment counters, add to and remove from OR-sets, update maps and registers, and read at \\
            eventual, session and causal levels. A liveness phase heals everything and requires every \\
            replica of every key to converge. Checked on every seed: durability at each crash, no lost \\
            acknowledged write, causal consistency (CC) of the causal keyspace, and the session \\
            guarantees that hold there and in the eventual keyspace.

            Bugs for --inject-bug: \(InjectedBug.leaderless.map(\.rawValue).joined(separator: ", ")).

            --pbs measures, with N=3 and no repair, how often a read returns one of the last K versions \\
            (K = 1...3) and compares it with Bailis et al.'s closed form 1 − (C(N−W,R)/C(N,R))^K.

              chorus simulate leaderless --seed 42 --trace
              chorus simulate leaderless --seeds 10000 --start 1 --jobs 2
              chorus simulate leaderless --seeds 1000 --inject-bug write-drops-context
              chorus simulate leaderless --pbs --pbs-samples 5000 --read-quorum 1 --write-quorum 1
            """
    )

    @OptionGroup var options: CampaignOptions

    @Flag(name: .long, help: "Measure PBS k-staleness instead of running a campaign (one seed: --seed, default 1).")
    var pbs = false

    @Option(name: .customLong("pbs-samples"), help: "Independent samples of the PBS experiment (default 3000).")
    var pbsSamples: String?

    @Option(name: .customLong("read-quorum"), help: "R of the PBS experiment (default 1).")
    var readQuorum: String?

    @Option(name: .customLong("write-quorum"), help: "W of the PBS experiment (default 1).")
    var writeQuorum: String?

    @Flag(name: .customLong("pbs-expanding"), help: "PBS with writes sent to all N replicas (Dynamo): the closed form is a lower bound.")
    var pbsExpanding = false

    mutating func run() async throws {
        let fail = CampaignOptions.failure("leaderless")
        if options.preVote != nil { throw fail("--pre-vote is a Raft option") }
        if options.consistency != nil { throw fail("--consistency is a Raft option") }
        if pbs { return try runStaleness(fail: fail) }
        if pbsSamples != nil || readQuorum != nil || writeQuorum != nil || pbsExpanding {
            throw fail("--pbs-samples, --pbs-expanding, --read-quorum and --write-quorum go with --pbs")
        }
        let bug = try options.injectedBug(among: InjectedBug.leaderless, fail: fail)
        let plan = try options.seedPlan(fail: fail)
        let campaignOptions = LeaderlessCampaign.Options(injectedBug: bug, quick: options.quick)
        let flags = (bug.map { " --inject-bug \($0.rawValue)" } ?? "") + (options.quick ? " --quick" : "")
        try await options.execute(
            command: "leaderless", plan: plan, flags: flags,
            runSeed: { LeaderlessCampaign.runSeed($0, options: campaignOptions, trace: $1) },
            describe: { "seed=\($0.seed) trace_hash=\(String($0.traceHash, radix: 16)) events=\($0.events) \($0.statistics)" },
            campaign: { await LeaderlessCampaign.runConcurrently(start: $0.first, count: $0.count, jobs: $0.jobs, options: campaignOptions) })
    }

    func runStaleness(fail: (String) -> ExitCode) throws {
        guard options.seeds == nil, options.start == nil, options.jobs == nil, options.injectBug == nil, !options.trace,
            options.unrecognized.isEmpty
        else { throw fail("--pbs takes --seed, --pbs-samples, --read-quorum and --write-quorum only") }
        let seed = try options.parseNumber(options.seed, name: "seed", minimum: 0, fail: fail) ?? 1
        let samples = try options.parseNumber(pbsSamples, name: "pbs-samples", minimum: 1, fail: fail) ?? 3_000
        let read = try options.parseNumber(readQuorum, name: "read-quorum", minimum: 1, fail: fail) ?? 1
        let write = try options.parseNumber(writeQuorum, name: "write-quorum", minimum: 1, fail: fail) ?? 1
        let replicas = UInt64(LeaderlessParameters.replicationFactor)
        guard read <= replicas, write <= replicas else { throw fail("--read-quorum and --write-quorum are at most N = \(replicas)") }
        guard samples <= 1_000_000 else { throw fail("--pbs-samples is at most 1000000") }
        let plan = StalenessExperiment.Plan(
            readQuorum: Int(read), writeQuorum: Int(write), samples: Int(samples), expandingWrites: pbsExpanding)
        let result = StalenessExperiment.run(seed: seed, plan: plan)
        print("pbs N=\(plan.replicas) R=\(plan.readQuorum) W=\(plan.writeQuorum)\(pbsExpanding ? " expanding" : "") samples=\(result.samples) seed=\(seed) failed_operations=\(result.failedOperations)")
        for measurement in result.measurements {
            print(
                "K=\(measurement.versions) measured=\(Self.format(measurement.measured)) predicted=\(Self.format(measurement.predicted)) "
                    + "tolerance=\(Self.format(measurement.tolerance)) \(measurement.withinTolerance ? "ok" : "OUTSIDE")")
        }
        // Expanding writes are expected to beat the closed form (a lower bound there).
        if !pbsExpanding && !result.measurements.allSatisfy(\.withinTolerance) { throw ExitCode(1) }
    }

    static func format(_ value: Double) -> String {
        String((value * 10_000).rounded() / 10_000)
    }
}
