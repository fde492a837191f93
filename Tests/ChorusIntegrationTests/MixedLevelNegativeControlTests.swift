import ChorusCheck
import ChorusLab
import ChorusLocalCluster
import Testing

extension RealProcessTests {
    /// Real-process negative controls of the mixed-level test: with the
    /// replica bug a level's guarantee rests on injected (`InjectedBug`, the
    /// same ones the simulator's campaigns must catch), the same clients,
    /// recording and checker must report violations. A follower is SIGKILLed
    /// and restarted while readers are pinned to it: it comes back behind,
    /// and the bug serves from that state instead of waiting.
    @Suite struct MixedLevelNegativeControlTests {
        static let loadSeconds = 4
        static let restarts = 3

        /// `session-read-before-catch-up`: a follower answers a session read
        /// without waiting for the token's index. Sessions are pinned to the
        /// followers (their writes redirected to the leader).
        @Test func sessionReadsBeforeCatchUpAreCaught() async throws {
            // The bug shows only when a read lands on a follower that is behind;
            // on a loaded machine one run may not produce such a read, so up to
            // three runs (a run that misses it is no false alarm).
            var caught = false
            for attempt in 1...3 where !caught {
                try await ClusterHarness.withCluster(
                    extraArguments: ["--inject-bug", "session-read-before-catch-up"], name: "negative-session"
                ) { harness in
                    let leader = try await harness.leader()
                    let followers = harness.cluster.nodes.filter { $0 != leader.node }
                    let recorder = KeyValueRecorder()
                    let deadline = ContinuousClock.now + .seconds(Self.loadSeconds)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for number in 0..<MixedLevelWorkload.sessionCount + 1 {
                            let node = followers[number % followers.count]
                            group.addTask {
                                try await MixedLevelWorkload.runSession(
                                    number, harness: harness, recorder: recorder, until: deadline,
                                    endpoints: [harness.cluster.httpURL(node)])
                            }
                        }
                        group.addTask { try await harness.crashAndRestart(followers[0], times: Self.restarts) }
                        try await group.waitForAll()
                    }
                    let session = MixedLevelNemesisTests.operations(recorder.entries, .session, writesUnder: nil)
                    let result = try SessionChecker.check(try KeyValueHistory(operations: session))
                    Self.print(result, session, level: "session")
                    let guarantees = result.properties.filter { $0.name != "integrity" && $0.verdict == .violated }
                    caught = !guarantees.isEmpty
                    if !caught { Swift.print("attempt \(attempt): no session violation yet") }
                    #expect(result.property("integrity")?.verdict == .satisfied)
                }
            }
            #expect(caught, "session reads served before catching up went unnoticed in three runs")
        }

        /// `staleness-bound-ignored`: a follower answers a bounded-staleness
        /// read at once, whatever it has applied.
        @Test func ignoredStalenessBoundsAreCaught() async throws {
            // As above: up to three runs, since a run may produce no read past the bounds.
            var caught = (versions: false, lags: false)
            for attempt in 1...3 where !(caught.versions && caught.lags) {
                try await ClusterHarness.withCluster(
                    extraArguments: ["--inject-bug", "staleness-bound-ignored"], name: "negative-staleness"
                ) { harness in
                    let leader = try await harness.leader()
                    let follower = harness.cluster.nodes.first { $0 != leader.node }!
                    let recorder = KeyValueRecorder()
                    let deadline = ContinuousClock.now + .seconds(Self.loadSeconds)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for number in 0..<MixedLevelWorkload.stalenessWriterCount {
                            group.addTask { try await MixedLevelWorkload.runWriter(number, harness: harness, recorder: recorder, until: deadline) }
                        }
                        for _ in 0..<2 {
                            group.addTask {
                                try await MixedLevelWorkload.runStalenessReader(
                                    node: follower, harness: harness, recorder: recorder, until: deadline, operationTimeoutMilliseconds: 300)
                            }
                        }
                        group.addTask { try await harness.crashAndRestart(follower, times: Self.restarts) }
                        try await group.waitForAll()
                    }
                    let entries = recorder.entries
                    let versionBound = MixedLevelNemesisTests.operations(entries, .versionBound, writesUnder: MixedLevelWorkload.stalenessPrefix)
                    let lagBound = MixedLevelNemesisTests.operations(entries, .lagBound, writesUnder: MixedLevelWorkload.stalenessPrefix)
                    let versions = try StalenessChecker.check(
                        try KeyValueHistory(operations: versionBound), options: MixedLevelNemesisTests.versionOptions)
                    let lags = try StalenessChecker.check(try KeyValueHistory(operations: lagBound), options: MixedLevelNemesisTests.lagOptions)
                    Self.print(versions, versionBound, level: "bounded-staleness K=\(MixedLevelWorkload.maximumVersions)")
                    Self.print(lags, lagBound, level: "bounded-staleness T=\(MixedLevelWorkload.maximumLagMilliseconds) ms")
                    caught = (
                        caught.versions || versions.property("max-versions")?.verdict == .violated,
                        caught.lags || lags.property("max-lag")?.verdict == .violated)
                    if !(caught.versions && caught.lags) { Swift.print("attempt \(attempt): not both bounds broken yet") }
                }
            }
            #expect(caught.versions, "reads past K went unnoticed in three runs")
            #expect(caught.lags, "reads past T went unnoticed in three runs")
        }

        static func print(_ result: PropertyCheckResult, _ operations: [KeyValueOperation], level: String) {
            let verdicts = result.properties.map { "\($0.name) \($0.verdict.rawValue) (\($0.violationCount))" }.joined(separator: ", ")
            Swift.print("mixed levels, negative control: \(MixedLevelNemesisTests.summary(operations, level)); \(verdicts)")
            if let example = result.properties.flatMap(\.violations).first { Swift.print("  e.g. \(example.explanation)") }
        }
    }
}
