import ArgumentParser
import ChorusCRDT
import Foundation
import ChorusCore
import ChorusTraces

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `chorus bench text-trace FILE…`: replays sequential editing traces one
/// patch at a time in `ReplicatedText` and reports what the peers
/// (`../shared/bench/text-trace-peers.sh`, loro and pycrdt) report: apply
/// time, encoded size, load time, and whether the final text matched.
struct BenchTextTraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-trace",
        abstract: "Benchmark the text CRDT on sequential editing traces (build with -c release).",
        discussion: """
            Per file: ops, apply time (ms), encoded bytes, load (decode) time (ms), the peak RSS of \
            this process so far (getrusage ru_maxrss: with several files, a running maximum; \
            give one file per run to measure each alone), and whether the final text equals endContent, both \
            after applying and after loading. Trace loading is not timed.
            """
    )

    @Argument(help: "Sequential trace files (.json.gz or .json).")
    var files: [String]

    @Flag(help: "Print one JSON object per file instead of a table line.")
    var json = false

    @Option(help: "Apply and load each trace this many times and report the fastest run.")
    var repetitions = 1

    @Flag(help: "Also run the peers (loro and pycrdt, via --peers-script) on each file and print the ratios.")
    var peers = false

    @Option(help: "The peer benchmark script.")
    var peersScript = "../shared/bench/text-trace-peers.sh"

    func run() async throws {
        guard repetitions >= 1 && repetitions <= 1000 else {
            throw ValidationError("--repetitions must be in 1...1000")
        }
        // 1: some final text mismatched; 2: some file could not be benchmarked.
        var worst: Int32 = 0
        for file in files {
            do {
                let result = try measure(file)
                if !result.finalMatches { worst = max(worst, 1) }
                if json {
                    print(
                        "{\"trace\": \(JSONString.quoted(baseName(file))), \"ops\": \(result.ops), "
                            + "\"applyMilliseconds\": \(rounded(result.applyMilliseconds)), "
                            + "\"encodedBytes\": \(result.encodedBytes), "
                            + "\"loadMilliseconds\": \(rounded(result.loadMilliseconds)), "
                            + "\"peakRSSBytes\": \(result.peakRSSBytes), \"finalMatches\": \(result.finalMatches)}")
                } else {
                    print(
                        "\(baseName(file)): \(result.ops) ops, apply \(rounded(result.applyMilliseconds)) ms, "
                            + "\(result.encodedBytes) bytes encoded, load \(rounded(result.loadMilliseconds)) ms, "
                            + "peak RSS \(result.peakRSSBytes / 1024) KiB, final \(result.finalMatches ? "matches" : "MISMATCH")")
                }
                if peers { try comparePeers(file: file, ours: result) }
            } catch {
                printError("\(file): \(error)")
                worst = 2
            }
        }
        if worst != 0 { throw ExitCode(worst) }
    }

    /// Runs the peer script on `file` and prints its results with our ratios.
    private func comparePeers(file: String, ours: Result) throws {
        guard FileManager.default.isExecutableFile(atPath: peersScript) else {
            throw BenchError("peer script \(peersScript) not found or not executable (set --peers-script)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: peersScript)
        process.arguments = [file]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        defer {
            // A peer that crashes (pycrdt panics on traces whose offsets it
            // counts differently) does not fail our benchmark; its results
            // so far are printed and the failure is reported.
            if process.terminationStatus != 0 {
                printError("  peer script exited with status \(process.terminationStatus) on \(baseName(file))")
            }
        }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if json {
                print(line)
                continue
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let library = object["library"] as? String,
                let apply = (object["applyMilliseconds"] as? NSNumber)?.doubleValue,
                let bytes = (object["encodedBytes"] as? NSNumber)?.doubleValue,
                let load = (object["loadMilliseconds"] as? NSNumber)?.doubleValue
            else {
                print("  peer: \(line)")
                continue
            }
            let matches = (object["finalMatches"] as? Bool) ?? false
            print(
                "  \(library): apply \(rounded(apply)) ms (ours/\(library) = \(ratio(ours.applyMilliseconds, apply))), "
                    + "\(Int(bytes)) bytes (ours/\(library) = \(ratio(Double(ours.encodedBytes), bytes))), "
                    + "load \(rounded(load)) ms, final \(matches ? "matches" : "MISMATCH")")
        }
    }

    struct Result {
        var ops: Int
        var applyMilliseconds: Double
        var encodedBytes: Int
        var loadMilliseconds: Double
        var peakRSSBytes: Int
        var finalMatches: Bool
    }

    private func measure(_ file: String) throws -> Result {
        let trace = try EditingTrace.load(path: file)
        guard trace.kind == .sequential else {
            throw BenchError("a concurrent trace; text-trace benchmarks sequential traces (replay it with chorus crdt replay)")
        }
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000_000)
        var document = ReplicatedText()
        for _ in 0..<repetitions {
            document = ReplicatedText()
            let start = clock.now
            try TraceReplay.replaySequential(trace, into: &document)
            best = min(best, clock.now - start)
        }
        let applied = document.textEquals(trace.endContent)
        let encoded = document.encoded()
        var bestLoad = Duration.seconds(1_000_000)
        var loaded = ReplicatedText()
        for _ in 0..<repetitions {
            let start = clock.now
            loaded = try ReplicatedText(decodingAll: encoded)
            bestLoad = min(bestLoad, clock.now - start)
        }
        let loadedMatches = loaded.textEquals(trace.endContent)
        return Result(
            ops: trace.patches.count, applyMilliseconds: milliseconds(best), encodedBytes: encoded.count,
            loadMilliseconds: milliseconds(bestLoad), peakRSSBytes: peakResidentBytes(),
            finalMatches: applied && loadedMatches)
    }
}

/// A benchmark that could not run, with a message for the user.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The process's peak resident set size in bytes (`getrusage`; Linux reports
/// kilobytes, macOS bytes).
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
    #else
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    #endif
}

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

func ratio(_ numerator: Double, _ denominator: Double) -> String {
    guard denominator > 0 else { return "n/a" }
    let value = numerator / denominator
    let scale = value < 0.1 ? 1000.0 : 100.0
    return String((value * scale).rounded() / scale) + "×"
}

func rounded(_ value: Double) -> String {
    let tenths = (value * 10).rounded() / 10
    return String(tenths)
}

func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}

