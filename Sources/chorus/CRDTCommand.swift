import ArgumentParser
import ChorusCRDT
import ChorusTraces

/// `chorus crdt …`: the CRDT library from the command line.
struct CRDTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crdt",
        abstract: "Conflict-free replicated data types.",
        subcommands: [CRDTReplayCommand.self]
    )
}

/// `chorus crdt replay FILE…`: replays editing traces in the text CRDT and
/// checks the final text.
struct CRDTReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay editing traces (sequential or concurrent) and check each final text.",
        discussion: """
            Prints one line per file: "FILE: ok (N ops, M chars)" or "FILE: mismatch at offset K". \
            Exits 0 when every file matches, 1 when some text mismatched, 2 when a file is unreadable \
            or malformed.
            """
    )

    @Argument(help: "Trace files (.json.gz or .json) from the editing-traces collection.")
    var files: [String]

    func run() async throws {
        var worst: Int32 = 0
        for file in files {
            do {
                let trace = try EditingTrace.load(path: file)
                let outcome = try TraceReplay.replay(trace)
                if let offset = outcome.mismatchOffset {
                    print("\(file): mismatch at offset \(offset)")
                    worst = max(worst, 1)
                } else {
                    print("\(file): ok (\(outcome.operationCount) ops, \(outcome.finalCount) chars)")
                }
            } catch {
                printError("\(file): \(error)")
                worst = 2
            }
        }
        if worst != 0 { throw ExitCode(worst) }
    }
}
