import ArgumentParser
import ChorusStorage
import Foundation
import Synchronization

/// `chorus bench …`: benchmarks. Build with `-c release` before quoting figures.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark (use a release build: swift run -c release chorus bench …).",
        subcommands: [WALBenchmarkCommand.self]
    )
}

/// `chorus bench wal`: group-commit throughput and append-to-ack latency of the
/// write-ahead log on this machine's disk, beside a one-writer run (one fsync
/// per record) measured in the same invocation as the baseline.
struct WALBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Measure write-ahead log throughput, fsyncs and append-to-ack latency.",
        discussion: """
            Each writer appends one record, waits for its acknowledgement (after fsync), \
            and repeats. Prints records/s, fsyncs/s, records per fsync and p50/p99 latency, \
            first for a single writer (every record pays its own fsync), then for --writers.
            """
    )

    @Option(help: "Records to append in the measured run.") var records: Int = 20_000
    @Option(help: "Payload bytes per record.") var recordBytes: Int = 128
    @Option(help: "Concurrent writers, each with one append in flight.") var writers: Int = 64
    @Option(help: "Records for the single-writer baseline (0 skips it).") var baselineRecords: Int = 2_000
    @Option(help: "Directory for the log (default: a fresh folder under the temporary directory, removed after).")
    var directory: String?

    func validate() throws {
        guard records >= 1 else { throw ValidationError("--records must be at least 1") }
        guard (1...StorageConfiguration.default.maximumRecordBytes).contains(recordBytes) else {
            throw ValidationError("--record-bytes must be 1...\(StorageConfiguration.default.maximumRecordBytes)")
        }
        guard (1...4096).contains(writers) else { throw ValidationError("--writers must be 1...4096") }
        guard baselineRecords >= 0 else { throw ValidationError("--baseline-records must not be negative") }
    }

    struct Figures {
        var records: Int
        var writers: Int
        var seconds: Double
        var statistics: WriteAheadLogStatistics
        var latenciesNanoseconds: [UInt64]

        func percentile(_ fraction: Double) -> Double {
            guard !latenciesNanoseconds.isEmpty else { return 0 }
            let index = min(latenciesNanoseconds.count - 1, Int(Double(latenciesNanoseconds.count) * fraction))
            return Double(latenciesNanoseconds[index]) / 1e6
        }

        var line: String {
            let fsyncs = Double(statistics.fsyncCount)
            let meanFsync = fsyncs == 0 ? 0 : Double(statistics.fsyncNanosecondsTotal) / fsyncs / 1e6
            return String(
                format:
                    "%4d writer(s) %8d records  %9.0f records/s  %7.0f fsyncs/s  %6.1f records/fsync  "
                    + "ack p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  fsync mean %5.2f ms  max %6.2f ms",
                writers, records, Double(records) / seconds, fsyncs / seconds, statistics.recordsPerFsync,
                percentile(0.5), percentile(0.99), percentile(1.0), meanFsync,
                Double(statistics.fsyncNanosecondsMaximum) / 1e6)
        }
    }

    func run() async throws {
        let base = directory ?? (NSTemporaryDirectory() + "chorus-bench-wal-\(getpid())")
        let removeAfter = directory == nil
        print("chorus bench wal: \(recordBytes)-byte records, log in \(base)")
        defer { if removeAfter { try? FileManager.default.removeItem(atPath: base) } }
        if baselineRecords > 0 {
            let figures = try await measure(directory: base + "/baseline", records: baselineRecords, writers: 1)
            print("baseline " + figures.line)
        }
        let figures = try await measure(directory: base + "/grouped", records: records, writers: writers)
        print("grouped  " + figures.line)
    }

    private func measure(directory: String, records: Int, writers: Int) async throws -> Figures {
        try? FileManager.default.removeItem(atPath: directory)
        let (log, _) = try WriteAheadLog.open(directory: directory)
        let payload = [UInt8](repeating: 0xA5, count: recordBytes)
        let clock = ContinuousClock()
        let started = clock.now
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for writer in 0..<writers {
                let count = records / writers + (writer < records % writers ? 1 : 0)
                group.addTask {
                    var latencies: [UInt64] = []
                    latencies.reserveCapacity(count)
                    for _ in 0..<count {
                        let appended = clock.now
                        _ = try await log.append(payload)
                        let (seconds, attoseconds) = (clock.now - appended).components
                        latencies.append(UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
                    }
                    return latencies
                }
            }
            var all: [UInt64] = []
            for try await part in group { all.append(contentsOf: part) }
            return all
        }
        let elapsed = clock.now - started
        let statistics = log.statistics
        await log.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Figures(
            records: records, writers: writers, seconds: seconds, statistics: statistics,
            latenciesNanoseconds: latencies.sorted())
    }
}
