import ArgumentParser
import ChorusCheck
import Foundation

extension ConsistencyCondition: ExpressibleByArgument {}
extension ModelKind: ExpressibleByArgument {}

/// `chorus check`: verifies recorded histories. See the README section
/// "History checking" for formats, exit codes and figures.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check recorded histories for linearizability or sequential consistency.",
        discussion: """
            Prints one line per file: `FILE: linearizable`, `FILE: not linearizable` or `FILE: unknown` \
            (for `sequential`: `sequentially consistent` …). Exit status: 1 when any history is not \
            consistent; otherwise 2 when any is unknown or could not be read; otherwise 0. \
            With several files, --html writes one page with a section per file.
            """
    )

    enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, edn
        case jepsenLog = "jepsen-log"
        case jsonl

        var format: HistoryFormat? {
            switch self {
            case .auto: return nil
            case .edn: return .edn
            case .jepsenLog: return .jepsenLog
            case .jsonl: return .jsonLines
            }
        }
    }

    @Argument(help: "The condition: linearizable or sequential.")
    var condition: ConsistencyCondition

    @Option(help: "The object's model: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: ModelKind

    @Option(help: "The history format: auto, edn, jepsen-log or jsonl.")
    var format: FormatChoice = .auto

    @Option(help: "Give up on a history after this many seconds (its verdict is then unknown).")
    var timeout: Double?

    @Option(help: "Bound each partition's search memo to this many MiB (the verdict is then unknown).")
    var memoMebibytes: Int = CheckLimits.memoBytesMaximumDefault >> 20

    @Flag(help: "Print a JSON report instead of one line per file.")
    var json = false

    @Option(help: "Write a self-contained HTML page showing the histories and any counterexample.")
    var html: String?

    @Argument(help: "History files.")
    var files: [String]

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout <= 86_400 * 365) {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
        if !(1...(1 << 24)).contains(memoMebibytes) {
            throw ValidationError("--memo-mebibytes must be between 1 and \(1 << 24)")
        }
        if files.isEmpty { throw ValidationError("give at least one history file") }
    }

    func run() async throws {
        let options = CheckOptions(
            timeout: timeout.map { Duration.milliseconds(Int64(($0 * 1000).rounded(.up))) },
            memoBytesMaximum: memoMebibytes << 20)
        let outcomes = await checkAll(options: options)

        if json {
            print(CheckReport.json(condition: condition, model: model.rawValue, files: outcomes.map(\.report)))
        } else {
            for outcome in outcomes {
                switch outcome.report.outcome {
                case .checked(_, let result): print("\(outcome.report.name): \(result.phrase)")
                case .failed(let message): printError("\(outcome.report.name): error: \(message)")
                }
            }
        }
        if let html {
            let page = HTMLReport.page(condition: condition, model: model.rawValue, files: outcomes.map(\.report))
            do {
                try Data(page.utf8).write(to: URL(fileURLWithPath: html))
            } catch {
                printError("error: cannot write \(html): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        var anyViolation = false
        var anyUnsettled = false
        for outcome in outcomes {
            switch outcome.report.outcome {
            case .checked(_, let result):
                if result.verdict == .violated { anyViolation = true }
                if result.verdict == .unknown { anyUnsettled = true }
            case .failed: anyUnsettled = true
            }
        }
        if anyViolation { throw ExitCode(1) }
        if anyUnsettled { throw ExitCode(2) }
    }

    private struct Outcome: Sendable {
        var index: Int
        var report: FileReport
    }

    /// Checks the files concurrently, at most one per core at a time, and
    /// returns them in the order given.
    private func checkAll(options: CheckOptions) async -> [Outcome] {
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let format = self.format.format
        let condition = self.condition
        let model = self.model
        return await withTaskGroup(of: Outcome.self, returning: [Outcome].self) { group in
            var started = 0
            var collected: [Outcome] = []
            for (index, path) in files.enumerated() {
                if started >= width, let finished = await group.next() { collected.append(finished) }
                group.addTask {
                    Outcome(index: index, report: await Self.checkFile(
                        path, format: format, model: model, condition: condition, options: options))
                }
                started += 1
            }
            for await finished in group { collected.append(finished) }
            return collected.sorted { $0.index < $1.index }
        }
    }

    private static func checkFile(
        _ path: String, format: HistoryFormat?, model: ModelKind, condition: ConsistencyCondition,
        options: CheckOptions
    ) async -> FileReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return FileReport(name: path, outcome: .failed("no such file"))
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            return FileReport(name: path, outcome: .failed(isDirectory.boolValue ? "is a directory" : "cannot read the file"))
        }
        let history: History
        do {
            history = try HistoryFormat.history(from: [UInt8](data), format: format)
        } catch {
            return FileReport(name: path, outcome: .failed(error.description))
        }
        do {
            let result = try await model.checkConcurrently(history, condition: condition, options: options)
            return FileReport(name: path, outcome: .checked(history, result))
        } catch {
            return FileReport(name: path, outcome: .failed(error.description))
        }
    }
}
