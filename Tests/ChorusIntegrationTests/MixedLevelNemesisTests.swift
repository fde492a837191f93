import ChorusAPI
import ChorusCheck
import ChorusClient
import ChorusLab
import ChorusLocalCluster
import Foundation
import NIOHTTP1
import Testing

extension RealProcessTests {
    /// Issue 13's real-process proof: three `chorus node` processes under
    /// the nemesis of `NemesisTests` (SIGKILL of the leader, SIGSTOP, a
    /// graceful restart, SIGKILL again), and a workload at several levels at
    /// once (`MixedLevelWorkload`), each level's history judged by its own
    /// ChorusCheck checker:
    ///
    /// | level | checker | what must hold |
    /// |---|---|---|
    /// | `session` | `SessionChecker` | read your writes, monotonic reads, monotonic writes, writes follow reads, per session |
    /// | `bounded-staleness` K | `StalenessChecker` | no read misses more than K newer writes acknowledged before it began |
    /// | `bounded-staleness` T | `StalenessChecker` | no read's value was superseded more than T + D before it began |
    /// | `consistent-prefix` | `ConsistentPrefixChecker` | every range page is the state after some prefix of the log |
    ///
    /// D is the drift the nodes are configured to tolerate (±50 ‰ of T):
    /// the recorder's clock is one monotonic clock, so it adds nothing.
    ///
    /// That the checks can fail is shown on the same recorded histories: one
    /// read made to return an older write than it did must be caught, by
    /// each checker, as a violation of its guarantee naming that read.
    @Suite struct MixedLevelNemesisTests {
        static let loadSeconds = 10
        /// The nodes' `RaftConfiguration.clockDriftBoundPartsPerThousand` (the default, 50 ‰).
        static let clockDriftBoundPartsPerThousand = 50
        /// Each level must have completed at least this many reads, or the run proves little.
        static let completedReadsMinimum = 20
        /// Tries of each header check after healing, 100 ms apart.
        static let headerCheckAttemptsMaximum = 30

        static var lagOptions: StalenessOptions {
            let bound = Double(MixedLevelWorkload.maximumLagMilliseconds)
            return StalenessOptions(
                maximumLagMilliseconds: bound, clockDriftMilliseconds: bound * Double(clockDriftBoundPartsPerThousand) / 1_000,
                timeUnitsPerMillisecond: 1_000_000)
        }

        static var versionOptions: StalenessOptions {
            StalenessOptions(maximumVersions: Int(MixedLevelWorkload.maximumVersions), timeUnitsPerMillisecond: 1_000_000)
        }

        @Test func eachLevelHoldsUnderKillsPausesAndRestarts() async throws {
            try await ClusterHarness.withCluster(name: "mixed-levels") { harness in
                let recorder = KeyValueRecorder()
                let deadline = ContinuousClock.now + .seconds(Self.loadSeconds)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for number in 0..<MixedLevelWorkload.sessionCount {
                        group.addTask { try await MixedLevelWorkload.runSession(number, harness: harness, recorder: recorder, until: deadline) }
                    }
                    for number in 0..<MixedLevelWorkload.writerCount {
                        group.addTask { try await MixedLevelWorkload.runWriter(number, harness: harness, recorder: recorder, until: deadline) }
                    }
                    for node in harness.cluster.nodes {
                        group.addTask {
                            try await MixedLevelWorkload.runStalenessReader(node: node, harness: harness, recorder: recorder, until: deadline)
                        }
                        group.addTask {
                            try await MixedLevelWorkload.runPrefixReader(node: node, harness: harness, recorder: recorder, until: deadline)
                        }
                    }
                    group.addTask { try await NemesisTests.runNemesis(harness: harness, until: deadline) }
                    try await group.waitForAll()
                }
                try await harness.heal()
                try await Self.checkLevelHeaders(harness)
                try Self.checkEveryLevel(recorder.entries)
            }
        }

        // MARK: Checking

        /// Every node says which level served a read, that it served it,
        /// and for bounded staleness a proven staleness within the bound.
        static func checkLevelHeaders(_ harness: ClusterHarness) async throws {
            let versions = MixedLevelWorkload.maximumVersions
            let lag = MixedLevelWorkload.maximumLagMilliseconds
            let levels = [
                ("consistency=session", "session"),
                ("consistency=bounded-staleness&max-versions=\(versions)", "bounded-staleness;max-versions=\(versions)"),
                ("consistency=bounded-staleness&max-lag=\(lag)", "bounded-staleness;max-lag=\(lag)"),
            ]
            for node in harness.cluster.nodes {
                for (query, level) in levels {
                    let url = harness.cluster.httpURL(node)
                        + "/v1/kv/\(ChorusClient.encodePathSegment(MixedLevelWorkload.stalenessKeys[0]))?\(query)"
                    // A node just restarted may not know its leader yet: a few tries.
                    var response = try? await harness.client.send(.GET, url: url)
                    var attempts = 1
                    while response?.status != 200, attempts < headerCheckAttemptsMaximum {
                        try await Task.sleep(for: .milliseconds(100))
                        response = try? await harness.client.send(.GET, url: url)
                        attempts += 1
                    }
                    let answer = try #require(response, "n\(node) did not answer \(query)")
                    #expect(answer.status == 200, "n\(node) \(query): \(answer.status) \(answer.bodyText)")
                    #expect(answer.headers.first(name: ChorusHeader.consistency) == level)
                    #expect(answer.headers.first(name: ChorusHeader.servedBy) == "\(node)")
                    if let proven = answer.headers.first(name: ChorusHeader.stalenessVersions).flatMap(UInt64.init) {
                        #expect(proven <= versions, "n\(node) proved \(proven) versions for \(query)")
                    }
                    if let proven = answer.headers.first(name: ChorusHeader.stalenessMilliseconds).flatMap(UInt64.init) {
                        #expect(proven <= lag, "n\(node) proved \(proven) ms for \(query)")
                    }
                }
            }
        }

        typealias Group = MixedLevelWorkload.Group

        /// One level's history: its own operations, and the writers' writes of the keys it reads.
        static func operations(_ entries: [KeyValueRecorder.Entry], _ group: Group, writesUnder prefix: String?) -> [KeyValueOperation] {
            entries.filter { entry in
                if entry.group == group.rawValue { return true }
                guard let prefix, entry.group == Group.writer.rawValue else { return false }
                return entry.operation.key.stringValue?.hasPrefix(prefix) ?? false
            }.map(\.operation)
        }

        static func checkEveryLevel(_ entries: [KeyValueRecorder.Entry]) throws {
            let session = operations(entries, .session, writesUnder: nil)
            let versionBound = operations(entries, .versionBound, writesUnder: MixedLevelWorkload.stalenessPrefix)
            let lagBound = operations(entries, .lagBound, writesUnder: MixedLevelWorkload.stalenessPrefix)
            let prefix = operations(entries, .prefix, writesUnder: MixedLevelWorkload.prefix)
            print("mixed levels: \(summary(operations(entries, .writer, writesUnder: nil), "writer"))")

            let sessionResult = try SessionChecker.check(try KeyValueHistory(operations: session))
            report(sessionResult, session, level: "session")
            let versionResult = try StalenessChecker.check(try KeyValueHistory(operations: versionBound), options: versionOptions)
            report(versionResult, versionBound, level: "bounded-staleness K=\(MixedLevelWorkload.maximumVersions)")
            let lagResult = try StalenessChecker.check(try KeyValueHistory(operations: lagBound), options: lagOptions)
            report(lagResult, lagBound, level: "bounded-staleness T=\(MixedLevelWorkload.maximumLagMilliseconds) ms")
            let prefixResult = try ConsistentPrefixChecker.check(try KeyValueHistory(operations: prefix))
            report(prefixResult, prefix, level: "consistent-prefix")
            try printStaleness(versionBound, lagBound)

            for (operations, function, level) in [
                (session, KeyValueFunction.read, "session"), (versionBound, .read, "K"), (lagBound, .read, "T"),
                (prefix, .rangeRead, "prefix"),
            ] {
                let completed = operations.filter { $0.function == function && $0.outcome == .ok }.count
                #expect(completed >= completedReadsMinimum, "too few \(level) reads completed (\(completed)): the cluster made no progress")
            }
            try checkMutationsAreCaught(session: session, versionBound: versionBound, lagBound: lagBound, prefix: prefix)
        }

        /// Prints the level's counts and verdicts; a verdict other than
        /// satisfied is a failure, with the history kept for `chorus check`.
        static func report(_ result: PropertyCheckResult, _ operations: [KeyValueOperation], level: String) {
            let verdicts = result.properties.map { "\($0.name) \($0.verdict.rawValue) (\($0.violationCount))" }.joined(separator: ", ")
            print("mixed levels: \(summary(operations, level)); \(verdicts)")
            guard result.verdict != .satisfied else { return }
            let path = NSTemporaryDirectory() + "chorus-mixed-\(result.checker)-\(getpid()).jsonl"
            if let history = try? KeyValueHistory(operations: operations) {
                try? history.jsonLines().write(toFile: path, atomically: true, encoding: .utf8)
            }
            let examples = result.properties.flatMap(\.violations).map(\.explanation).prefix(3)
            Issue.record("\(level) is \(result.phrase): \(examples.joined(separator: " | ")); history in \(path)")
        }

        static func summary(_ operations: [KeyValueOperation], _ level: String) -> String {
            func count(_ function: KeyValueFunction, _ outcome: Outcome) -> Int {
                operations.filter { $0.function == function && $0.outcome == outcome }.count
            }
            var parts: [String] = []
            for function in [KeyValueFunction.write, .read, .rangeRead] where operations.contains(where: { $0.function == function }) {
                parts.append("\(function.rawValue)s \(count(function, .ok)) ok/\(count(function, .fail)) fail/\(count(function, .info)) info")
            }
            return "\(level): " + parts.joined(separator: ", ")
        }

        /// How stale the bounded reads really were: they must have been
        /// allowed to lag for the bound to have been tested at all.
        static func printStaleness(_ versionBound: [KeyValueOperation], _ lagBound: [KeyValueOperation]) throws {
            let versions = try StalenessChecker.measure(try KeyValueHistory(operations: versionBound), options: versionOptions)
            let lags = try StalenessChecker.measure(try KeyValueHistory(operations: lagBound), options: lagOptions)
            let lagged = lags.compactMap(\.lagMilliseconds)
            print(
                "mixed levels: K reads behind: \(versions.filter { $0.versionsBehind > 0 }.count) of \(versions.count), "
                    + "at most \(versions.map(\.versionsBehind).max() ?? 0) versions; T reads behind: "
                    + "\(lags.filter { $0.versionsBehind > 0 }.count) of \(lags.count), "
                    + "lag at most \(String(format: "%.1f", lagged.max() ?? 0)) ms")
        }

        // MARK: Negative checks

        /// Each checker, given its recorded history with one read made older,
        /// must report its guarantee violated at that read.
        static func checkMutationsAreCaught(
            session: [KeyValueOperation], versionBound: [KeyValueOperation], lagBound: [KeyValueOperation],
            prefix: [KeyValueOperation]
        ) throws {
            let bound = Int(MixedLevelWorkload.maximumVersions)
            let limitNanoseconds = (lagOptions.maximumLagMilliseconds! + lagOptions.clockDriftMilliseconds) * 1_000_000
            let cases: [(property: String, mutation: (operations: [KeyValueOperation], read: Int)?, check: (KeyValueHistory) throws -> PropertyCheckResult)] = [
                ("read-your-writes", RecordedHistoryMutations.readOlderThanOwnWrite(session), { try SessionChecker.check($0) }),
                (
                    "max-versions",
                    RecordedHistoryMutations.readOfFirstWrite(versionBound) { _, newer in newer.count > bound },
                    { try StalenessChecker.check($0, options: versionOptions) }
                ),
                (
                    "max-lag",
                    RecordedHistoryMutations.readOfFirstWrite(lagBound) { read, newer in
                        newer.contains { Double(read.invokeTime! - $0.completeTime!) > limitNanoseconds }
                    },
                    { try StalenessChecker.check($0, options: lagOptions) }
                ),
                ("consistent-prefix", RecordedHistoryMutations.rangeEntryMadeOlder(prefix), { try ConsistentPrefixChecker.check($0) }),
            ]
            for (property, mutation, check) in cases {
                let (operations, read) = try #require(mutation, "no recorded read to mutate for \(property)")
                let result = try check(try KeyValueHistory(operations: operations))
                let found = try #require(result.property(property))
                #expect(found.verdict == .violated, "\(property) missed a read made older")
                #expect(found.violations.contains { $0.operationIDs.contains(read) }, "\(property) did not name the read made older")
                print("mixed levels: negative check \(property): \(found.verdict.rawValue) (\(found.violationCount)) with operation \(read) made older")
            }
        }
    }
}
