import ChorusCheck
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import ChorusNemesis
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension RealProcessTests {
    /// Three `chorus node` processes, concurrent clients doing put / get / cas on
    /// a few keys, and a nemesis that SIGKILLs the leader, SIGSTOPs a node and
    /// restarts nodes. The recorded history must be linearizable (ChorusCheck's
    /// cas-register model, one register per key), and every acknowledged write
    /// must be readable afterwards.
    ///
    /// Mapping onto the register model: every write writes a unique value, so a
    /// version names exactly one value; a compare-and-set by version V is
    /// recorded as `cas [value written at V, new value]` (V = 0: `[nil, new]`).
    /// A failed condition (412) is `:fail`; a write whose outcome the client
    /// could not learn is `:info` (indeterminate), after which the client takes
    /// a new process id, as Jepsen does. Bounded: 10 s of load, 4 nemesis actions.
    @Suite struct NemesisTests {
        static let clientCount = 6
        static let loadSeconds = 10

        @Test func historyIsLinearizableUnderKillsPausesAndRestarts() async throws {
            try await ClusterHarness.withCluster(name: "nemesis") { harness in
                let recorder = RegisterWorkload.Recorder()
                let deadline = ContinuousClock.now + .seconds(Self.loadSeconds)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for number in 0..<Self.clientCount {
                        group.addTask {
                            let client = try harness.loadClient(endpoints: harness.cluster.httpURLs)
                            defer { client.shutdown() }
                            await RegisterWorkload.runClient(number, of: Self.clientCount, client: client, recorder: recorder, until: deadline)
                        }
                    }
                    group.addTask { try await Self.runNemesis(harness: harness, until: deadline) }
                    try await group.waitForAll()
                }

                // Heal: every node up, a leader, then every acknowledged fresh write is there.
                try await harness.heal()
                let lost = try await RegisterWorkload.lostFreshWrites(recorder, client: harness.client)
                #expect(lost.isEmpty, "acknowledged writes lost: \(lost)")
                let state = recorder.snapshot
                print(
                    "nemesis run: \(state.completed) operations completed, \(state.indeterminate) indeterminate, \(state.acknowledgedFreshWrites.count) fresh keys verified"
                )
                #expect(state.completed >= 50, "too few operations completed (\(state.completed)): the cluster made no progress")
                let result = try await RegisterWorkload.check(recorder)
                if result.verdict != .satisfied {
                    let path = harness.directory + "/history.jsonl"
                    try? HistoryFormat.jsonLines(try History(events: state.events)).write(toFile: path, atomically: true, encoding: .utf8)
                    Issue.record("history is \(result.verdict): \(String(describing: result.counterexample)); history in \(path)")
                }
                #expect(result.verdict == .satisfied)
            }
        }

        /// `chorus nemesis kill9`'s rounds, short: the leader, a follower and
        /// then every node SIGKILLed under 16 writers, each restart followed by
        /// a linearizable range read that must hold every acknowledged write.
        @Test func killNineRoundsUnderHeavyWritesLoseNoAcknowledgedWrite() async throws {
            try await ClusterHarness.withCluster(name: "kill9") { harness in
                var options = KillCampaign.Options()
                options.rounds = 3
                let report = try await KillCampaign.run(
                    cluster: harness.cluster,
                    makeClient: { endpoints, operation, request in
                        try harness.loadClient(
                            endpoints: endpoints, operationTimeoutMilliseconds: operation, requestTimeoutMilliseconds: request)
                    }, options: options
                ) { line in print("kill9: \(line)") }
                print("kill9: \(report.summary)")
                #expect(report.rounds.map(\.killed.count) == [1, 1, 3], "the leader, a follower, every node")
                #expect(report.acknowledged >= 100, "too few writes acknowledged: \(report.acknowledged)")
                #expect(report.passed, "lost: \(report.lost.prefix(20))")
            }
        }

        // MARK: Nemesis

        static func runNemesis(harness: ClusterHarness, until deadline: ContinuousClock.Instant) async throws {
            let cluster = harness.cluster
            try await Task.sleep(for: .milliseconds(1_200))
            // 1. SIGKILL the leader, restart it a second later.
            let first = try await harness.leader()
            print("nemesis: kill -9 leader n\(first.node)")
            await cluster.crash(first.node)
            try await Task.sleep(for: .milliseconds(1_000))
            try cluster.start(first.node)
            try await Task.sleep(for: .milliseconds(1_500))

            // 2. SIGSTOP a node (the leader, if one is known: the hardest case) for 1.5 s.
            let paused = await cluster.waitForLeader(client: harness.client, timeoutMilliseconds: 3_000)?.node ?? 2
            print("nemesis: SIGSTOP n\(paused)")
            cluster.pause(paused)
            try await Task.sleep(for: .milliseconds(1_500))
            cluster.resume(paused)
            print("nemesis: SIGCONT n\(paused)")
            try await Task.sleep(for: .milliseconds(1_000))

            // 3. Restart a follower gracefully (SIGTERM, then start).
            let leader = await cluster.waitForLeader(client: harness.client, timeoutMilliseconds: 3_000)?.node ?? 1
            let follower = cluster.nodes.first { $0 != leader } ?? 1
            print("nemesis: restart n\(follower)")
            await cluster.stop(follower)
            try await Task.sleep(for: .milliseconds(500))
            try cluster.start(follower)

            // 4. Once more: SIGKILL whoever leads now, restart after the load ends.
            try await Task.sleep(for: .milliseconds(1_000))
            if let last = await cluster.waitForLeader(client: harness.client, timeoutMilliseconds: 3_000) {
                print("nemesis: kill -9 leader n\(last.node)")
                await cluster.crash(last.node)
            }
            while ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        }
    }
}

extension RealProcessTests {
    /// The negative control: with the Raft core's `follower-read` bug injected
    /// (a follower answers a linearizable read at its own commit index,
    /// without asking the leader), the same recording and checking must find
    /// the history not linearizable.
    ///
    /// The scenario gives the bug a wide window: writers keep writing one key
    /// through the leader while a follower is SIGKILLed and restarted, three
    /// times, and readers hammer that follower. After each restart the
    /// follower hears a heartbeat (so it knows the leader) well before it has
    /// caught up with the writes it missed, and the bug answers from its stale
    /// commit index, for reads invoked after newer writes were acknowledged.
    @Suite struct NegativeControlTests {
        @Test func staleFollowerReadsAreCaught() async throws {
            try await ClusterHarness.withCluster(extraArguments: ["--inject-bug", "follower-read"], name: "negative") { harness in
                let leader = try await harness.leader()
                let follower = harness.cluster.nodes.first { $0 != leader.node }!
                let recorder = RegisterWorkload.Recorder()
                let deadline = ContinuousClock.now + .seconds(5)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<6 {
                        group.addTask {
                            let isReader = worker >= 2
                            let client = try harness.client(for: isReader ? follower : leader.node, timeoutMilliseconds: 500)
                            defer { client.shutdown() }
                            var sequence = 0
                            var process = Int64(worker)
                            while ContinuousClock.now < deadline {
                                sequence += 1
                                if isReader {
                                    recorder.record(HistoryEvent(process: ProcessID(process), type: .invoke, function: "read", key: .string("k")))
                                    do {
                                        let value = try await client.get("k").map { String(decoding: $0.value, as: UTF8.self) }
                                        recorder.record(
                                            HistoryEvent(
                                                process: ProcessID(process), type: .ok, function: "read", key: .string("k"),
                                                value: value.map(HistoryValue.string) ?? .null))
                                    } catch {
                                        recorder.record(HistoryEvent(process: ProcessID(process), type: .fail, function: "read", key: .string("k")))
                                        try await Task.sleep(for: .milliseconds(5))
                                    }
                                } else {
                                    let value = HistoryValue.string("w\(worker)-\(sequence)")
                                    recorder.record(
                                        HistoryEvent(process: ProcessID(process), type: .invoke, function: "write", key: .string("k"), value: value))
                                    do {
                                        try await client.put("k", Array("w\(worker)-\(sequence)".utf8))
                                        recorder.record(
                                            HistoryEvent(process: ProcessID(process), type: .ok, function: "write", key: .string("k"), value: value))
                                    } catch {
                                        recorder.record(
                                            HistoryEvent(process: ProcessID(process), type: .info, function: "write", key: .string("k"), value: value))
                                        process += 6
                                    }
                                }
                            }
                        }
                    }
                    group.addTask { try await harness.crashAndRestart(follower, times: 3) }
                    try await group.waitForAll()
                }
                let events = recorder.state.withLock { $0.events }
                let result = try await Checker.checkConcurrently(
                    try History(events: events), model: CASRegisterModel(), condition: .linearizable,
                    options: CheckOptions(timeout: .seconds(60)))
                print("negative control: \(events.count / 2) operations, verdict \(result.verdict)")
                #expect(result.verdict == .violated, "stale follower reads went unnoticed")
            }
        }
    }
}
