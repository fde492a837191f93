import ArgumentParser

/// `chorus bench …`: benchmarks, each measured beside its peer in the same run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release).",
        subcommands: [BenchTextTraceCommand.self, WALBenchmarkCommand.self, ProjectionsBenchmarkCommand.self, SagasBenchmarkCommand.self]
    )
}
