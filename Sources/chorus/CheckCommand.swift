import ArgumentParser
import ChorusCheck
import Foundation

extension ConsistencyCondition: ExpressibleByArgument {}
extension ModelKind: ExpressibleByArgument {}
extension CausalModel: ExpressibleByArgument {}

/// `chorus check`: verifies recorded histories. See the README section
/// "History checking" for formats, exit codes and figures, and
/// `Sources/ChorusCheck/README.md` for the property checkers' formats.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check recorded histories against a consistency condition.",
        discussion: """
            Exit status, for every subcommand: 1 when any history violates what was checked; otherwise 2 \
            when any is unknown or could not be read; otherwise 0. With several files, --html writes one \
            page with a section per file.
            """,
        subcommands: [
            CheckLinearizableCommand.self, CheckSequentialCommand.self, CheckSessionCommand.self,
            CheckStalenessCommand.self, CheckPrefixCommand.self, CheckCausalCommand.self, CheckEventsCommand.self,
        ]
    )
}

/// Reads a file into bytes, or says why not.
func readHistoryFile(_ path: String) -> Result<[UInt8], CheckFileError> {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .failure(.init("no such file")) }
    guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
        return .failure(.init(isDirectory.boolValue ? "is a directory" : "cannot read the file"))
    }
    return .success([UInt8](data))
}

struct CheckFileError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Writes an HTML page, or exits 2 saying why it could not.
func writeReportPage(_ page: String, to path: String) throws {
    do {
        try Data(page.utf8).write(to: URL(fileURLWithPath: path))
    } catch {
        printError("error: cannot write \(path): \(error.localizedDescription)")
        throw ExitCode(2)
    }
}

// MARK: - Linearizability and sequential consistency

/// The options of `chorus check linearizable` and `chorus check sequential`.
struct ModelCheckOptions: ParsableArguments {
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

    func run(_ condition: ConsistencyCondition) async throws {
        let options = CheckOptions(
            timeout: timeout.map { Duration.milliseconds(Int64(($0 * 1000).rounded(.up))) },
            memoBytesMaximum: memoMebibytes << 20)
        let outcomes = await checkAll(condition, options: options)
        if json {
            print(CheckReport.json(condition: condition, model: model.rawValue, files: outcomes))
        } else {
            for outcome in outcomes {
                switch outcome.outcome {
                case .checked(_, let result): print("\(outcome.name): \(result.phrase)")
                case .failed(let message): printError("\(outcome.name): error: \(message)")
                }
            }
        }
        if let html {
            try writeReportPage(HTMLReport.page(condition: condition, model: model.rawValue, files: outcomes), to: html)
        }
        var anyViolation = false
        var anyUnsettled = false
        for outcome in outcomes {
            switch outcome.outcome {
            case .checked(_, let result):
                if result.verdict == .violated { anyViolation = true }
                if result.verdict == .unknown { anyUnsettled = true }
            case .failed: anyUnsettled = true
            }
        }
        if anyViolation { throw ExitCode(1) }
        if anyUnsettled { throw ExitCode(2) }
    }

    /// Checks the files concurrently, at most one per core at a time, and
    /// returns them in the order given.
    private func checkAll(_ condition: ConsistencyCondition, options: CheckOptions) async -> [FileReport] {
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let format = self.format.format
        let model = self.model
        return await withTaskGroup(of: (Int, FileReport).self, returning: [FileReport].self) { group in
            var started = 0
            var collected: [(Int, FileReport)] = []
            for (index, path) in files.enumerated() {
                if started >= width, let finished = await group.next() { collected.append(finished) }
                group.addTask {
                    (index, await Self.checkFile(path, format: format, model: model, condition: condition, options: options))
                }
                started += 1
            }
            for await finished in group { collected.append(finished) }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private static func checkFile(
        _ path: String, format: HistoryFormat?, model: ModelKind, condition: ConsistencyCondition, options: CheckOptions
    ) async -> FileReport {
        let bytes: [UInt8]
        switch readHistoryFile(path) {
        case .success(let read): bytes = read
        case .failure(let error): return FileReport(name: path, outcome: .failed(error.message))
        }
        let history: History
        do {
            history = try HistoryFormat.history(from: bytes, format: format)
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

struct CheckLinearizableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linearizable",
        abstract: "Check histories for linearizability against a model.",
        discussion: "Prints one line per file: `FILE: linearizable`, `FILE: not linearizable` or `FILE: unknown`."
    )

    @OptionGroup var options: ModelCheckOptions

    func run() async throws { try await options.run(.linearizable) }
}

struct CheckSequentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sequential",
        abstract: "Check histories for sequential consistency against a model.",
        discussion: "Prints one line per file: `FILE: sequentially consistent`, `FILE: not sequentially consistent` or `FILE: unknown`."
    )

    @OptionGroup var options: ModelCheckOptions

    func run() async throws { try await options.run(.sequential) }
}

// MARK: - The property checkers

/// The options every property checker takes.
struct PropertyCheckOptions: ParsableArguments {
    enum FormatChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, edn, jsonl

        var format: HistoryFormat? {
            switch self {
            case .auto: return nil
            case .edn: return .edn
            case .jsonl: return .jsonLines
            }
        }
    }

    @Option(help: "The history format: auto, edn or jsonl.")
    var format: FormatChoice = .auto

    @Flag(help: "Print a JSON report instead of one line per file.")
    var json = false

    @Option(help: "Write a self-contained HTML page with the verdicts and the offending operations highlighted.")
    var html: String?

    @Argument(help: "History files.")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one history file") }
    }

    /// Reads and checks each file with `check`, reports, and exits as documented.
    func run(
        checker: String, title: String, options: HistoryValue = .map([]),
        check: (HistoryDocument) throws -> (History, PropertyCheckResult, [ProcessID: String]),
        summary: (PropertyCheckResult) -> String = { _ in "" }
    ) throws {
        var reports: [PropertyFileReport] = []
        for path in files {
            let bytes: [UInt8]
            switch readHistoryFile(path) {
            case .success(let read): bytes = read
            case .failure(let error):
                reports.append(PropertyFileReport(name: path, outcome: .failed(error.message)))
                continue
            }
            do {
                let document = try HistoryDocument.read(from: bytes, format: format.format)
                let (history, result, lanes) = try check(document)
                reports.append(PropertyFileReport(name: path, outcome: .checked(history, result), laneNames: lanes))
            } catch let error as HistoryError {
                reports.append(PropertyFileReport(name: path, outcome: .failed(error.description)))
            } catch {
                reports.append(PropertyFileReport(name: path, outcome: .failed("\(error)")))
            }
        }
        if json {
            print(PropertyReport.json(checker: checker, options: options, files: reports))
        } else {
            for report in reports { printText(report, summary: summary) }
        }
        if let html { try writeReportPage(PropertyReport.html(checker: checker, title: title, files: reports), to: html) }
        var anyViolation = false
        var anyUnsettled = false
        for report in reports {
            switch report.outcome {
            case .checked(_, let result):
                if result.verdict == .violated { anyViolation = true }
                if result.verdict == .unknown { anyUnsettled = true }
            case .failed: anyUnsettled = true
            }
        }
        if anyViolation { throw ExitCode(1) }
        if anyUnsettled { throw ExitCode(2) }
    }

    /// `FILE: ok`, or `FILE: violates read-your-writes (2)` and the first example of each.
    private func printText(_ report: PropertyFileReport, summary: (PropertyCheckResult) -> String) {
        switch report.outcome {
        case .failed(let message): printError("\(report.name): error: \(message)")
        case .checked(_, let result):
            var line = "\(report.name): "
            switch result.verdict {
            case .satisfied: line += "ok"
            case .violated, .unknown:
                let named = result.properties.filter { $0.verdict == result.verdict }
                line += result.verdict == .violated ? "violates " : "unknown: "
                line += named.map { $0.verdict == .violated ? "\($0.name) (\($0.violationCount))" : $0.name }.joined(separator: ", ")
            }
            let extra = summary(result)
            if !extra.isEmpty { line += " — " + extra }
            print(line)
            for property in result.properties {
                if property.verdict == .violated, let first = property.violations.first {
                    print("  \(property.name): \(first.explanation)")
                } else if property.verdict == .unknown, let note = property.note {
                    print("  \(property.name): \(note)")
                }
            }
        }
    }
}

struct CheckSessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Check the four session guarantees (Terry et al., PDIS 1994) of key-value histories.",
        discussion: """
            Reports read-your-writes, monotonic-reads, monotonic-writes and writes-follow-reads separately, \
            each violation with the operations that show it. Writes need versions (or a write-order line per key).
            """
    )

    @OptionGroup var options: PropertyCheckOptions

    func run() throws {
        try options.run(checker: "session", title: "session guarantees") { document in
            let history = try KeyValueHistory(document: document)
            return (history.displayHistory, try SessionChecker.check(history), [:])
        }
    }
}

struct CheckStalenessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staleness",
        abstract: "Measure and bound the staleness of reads in key-value histories.",
        discussion: """
            Per read: how many writes of its key, acknowledged before it began, are newer than what it \
            returned, and how long before it began its value had been superseded. A lag violates the bound \
            only past --max-lag-ms plus --drift-ms. Prints the distribution; --json has it in full.
            """
    )

    enum TimeUnit: String, ExpressibleByArgument, CaseIterable {
        case ns, us, ms

        var perMillisecond: Double {
            switch self {
            case .ns: return 1_000_000
            case .us: return 1_000
            case .ms: return 1
            }
        }
    }

    @OptionGroup var options: PropertyCheckOptions

    @Option(help: "K: the most acknowledged newer versions of its key a read may miss.")
    var maximumVersions: Int?

    @Option(help: "T: the longest a read may lag behind an acknowledged newer write, in milliseconds.")
    var maximumLagMs: Double?

    @Option(help: "D: how far the recorders' clocks (and the servers' drift bound) may be off, in milliseconds.")
    var driftMs: Double = 0

    @Option(help: "The unit of the histories' time fields: ns (Jepsen), us or ms.")
    var timeUnit: TimeUnit = .ns

    @Flag(help: "With --json, list every read's staleness: [operation id, versions behind, lag in ms].")
    var perRead = false

    func validate() throws {
        if let maximumVersions, !(0...1_000_000_000).contains(maximumVersions) {
            throw ValidationError("--max-versions must be between 0 and 1000000000")
        }
        if let maximumLagMs, !(maximumLagMs >= 0 && maximumLagMs <= 86_400_000) {
            throw ValidationError("--max-lag-ms must be between 0 and 86400000 (a day)")
        }
        if !(driftMs >= 0 && driftMs <= 86_400_000) {
            throw ValidationError("--drift-ms must be between 0 and 86400000 (a day)")
        }
    }

    func run() throws {
        let bounds = StalenessOptions(
            maximumVersions: maximumVersions, maximumLagMilliseconds: maximumLagMs, clockDriftMilliseconds: driftMs,
            timeUnitsPerMillisecond: timeUnit.perMillisecond)
        var described: [HistoryValue.MapEntry] = [.init(key: "driftMs", value: .float(driftMs)), .init(key: "timeUnit", value: .string(timeUnit.rawValue))]
        if let maximumVersions { described.append(.init(key: "maxVersions", value: .integer(Int64(maximumVersions)))) }
        if let maximumLagMs { described.append(.init(key: "maxLagMs", value: .float(maximumLagMs))) }
        try options.run(checker: "staleness", title: "bounded staleness", options: .map(described)) { document in
            let history = try KeyValueHistory(document: document)
            return (history.displayHistory, try StalenessChecker.check(history, options: bounds, perRead: perRead), [:])
        } summary: { result in
            let statistics = result.statistics
            let versions = statistics.field("versions")
            let lag = statistics.field("milliseconds")
            var text = "\(statistics.field("reads") ?? 0) reads, \(statistics.field("staleReads") ?? 0) stale"
            if let max = versions?.field("max") { text += "; versions behind p99 \(versions?.field("p99") ?? 0), max \(max)" }
            if let max = lag?.field("max") { text += "; lag p99 \(lag?.field("p99") ?? 0) ms, max \(max) ms" }
            return text
        }
    }
}

struct CheckPrefixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefix",
        abstract: "Check that every range read saw a prefix of the commit order (consistent prefix).",
        discussion: "Writes and deletes carry their versions (one commit order across keys); range reads return [key, version] pairs."
    )

    @OptionGroup var options: PropertyCheckOptions

    func run() throws {
        try options.run(checker: "prefix", title: "consistent prefix") { document in
            let history = try KeyValueHistory(document: document)
            return (history.displayHistory, try ConsistentPrefixChecker.check(history), [:])
        }
    }
}

struct CheckCausalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "causal",
        abstract: "Check causal consistency (CC, CCv, CM) of differentiated key-value histories.",
        discussion: """
            By the bad patterns of Bouajjani, Enea, Guerraoui and Hamza, "On verifying causal consistency" \
            (POPL 2017). Every value is written at most once. The verdict and exit status follow --model; \
            the line names all three.
            """
    )

    @OptionGroup var options: PropertyCheckOptions

    @Option(help: "The variant judged: cc (causal consistency), ccv (causal convergence) or cm (causal memory).")
    var model: CausalModel = .causalConsistency

    func run() throws {
        let model = self.model
        try options.run(checker: "causal", title: "causal consistency (\(model.paperName))",
                        options: .map([.init(key: "model", value: .string(model.paperName))])) { document in
            let history = try KeyValueHistory(document: document)
            return (history.displayHistory, try CausalChecker.check(history).result(for: model), [:])
        } summary: { result in
            CausalModel.allCases.compactMap { variant in
                result.statistics.field(variant.paperName)?.stringValue.map { "\(variant.paperName) \($0)" }
            }.joined(separator: ", ")
        }
    }
}

struct CheckEventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Check event-store histories: appends, reads and subscriptions.",
        discussion: """
            Checks that no acknowledged append is lost and no event appears that was not appended; that \
            streams and $all are gap-free and agree; that retried appends took effect at most once; that \
            expected-version outcomes are linearizable per stream; and that subscribers saw what they must.
            """
    )

    @OptionGroup var options: PropertyCheckOptions

    @Flag(help: "Do not require an append's events to sit at consecutive positions (only consecutive revisions).")
    var allowPositionGaps = false

    @Option(help: "Give up on each stream's linearizability search after this many seconds (then unknown).")
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout <= 86_400 * 365) {
            throw ValidationError("--timeout must be a positive number of seconds")
        }
    }

    func run() throws {
        let checkOptions = EventStoreCheckOptions(
            consecutivePositionsWithinAppend: !allowPositionGaps,
            search: CheckOptions(
                timeout: timeout.map { Duration.milliseconds(Int64(($0 * 1000).rounded(.up))) }, memoBytesMaximum: 256 << 20))
        try options.run(checker: "events", title: "event store") { document in
            let history = try EventStoreHistory(document: document)
            let lanes = Dictionary(uniqueKeysWithValues: history.subscriberLanes.map { ($0.0, "sub \($0.1)") })
            return (history.displayHistory, try EventStoreChecker.check(history, options: checkOptions), lanes)
        }
    }
}
