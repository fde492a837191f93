import ChorusCheck
import ChorusClient
import ChorusCore
import ChorusLocalCluster
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
        static let keys = ["a", "b", "c", "d"]
        static let loadSeconds = 10

        /// The history, appended in real-time order under one lock.
        final class Recorder: Sendable {
            struct State {
                var events: [HistoryEvent] = []
                var acknowledgedFreshWrites: [(key: String, value: String)] = []
                var completed = 0
                var indeterminate = 0
            }
            let state = Mutex(State())

            func record(_ event: HistoryEvent) { state.withLock { $0.events.append(event) } }
        }

        @Test func historyIsLinearizableUnderKillsPausesAndRestarts() async throws {
            try await ClusterHarness.withCluster(name: "nemesis") { harness in
                let recorder = Recorder()
                let deadline = ContinuousClock.now + .seconds(Self.loadSeconds)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<Self.clientCount {
                        group.addTask {
                            try await Self.runClient(client, harness: harness, recorder: recorder, until: deadline)
                        }
                    }
                    group.addTask { try await Self.runNemesis(harness: harness, until: deadline) }
                    try await group.waitForAll()
                }

                // Heal: every node up, a leader, then every acknowledged fresh write is there.
                try await harness.heal()
                let fresh = recorder.state.withLock { $0.acknowledgedFreshWrites }
                for (key, value) in fresh {
                    let read = try await harness.client.get(key)
                    #expect(read.map { String(decoding: $0.value, as: UTF8.self) } == value, "acknowledged write \(key) lost")
                }

                let (events, completed, indeterminate) = recorder.state.withLock { ($0.events, $0.completed, $0.indeterminate) }
                print("nemesis run: \(completed) operations completed, \(indeterminate) indeterminate, \(fresh.count) fresh keys verified")
                #expect(completed >= 50, "too few operations completed (\(completed)): the cluster made no progress")
                let history = try History(events: events)
                let result = try await Checker.checkConcurrently(
                    history, model: CASRegisterModel(), condition: .linearizable, options: CheckOptions(timeout: .seconds(60)))
                if result.verdict != .satisfied {
                    let path = harness.directory + "/history.jsonl"
                    try? HistoryFormat.jsonLines(history).write(toFile: path, atomically: true, encoding: .utf8)
                    Issue.record("history is \(result.verdict): \(String(describing: result.counterexample)); history in \(path)")
                }
                #expect(result.verdict == .satisfied)
            }
        }

        // MARK: Clients

        static func runClient(_ number: Int, harness: ClusterHarness, recorder: Recorder, until deadline: ContinuousClock.Instant)
            async throws
        {
            let client = try harness.loadClient(endpoints: harness.cluster.httpURLs)
            defer { client.shutdown() }
            var random = SeededGenerator(seed: UInt64(number) &* 7_919 &+ 17)
            var process = Int64(number)
            var sequence = 0
            // What this client last saw of each key: (version, value).
            var observed: [String: (version: UInt64, value: String?)] = [:]
            while ContinuousClock.now < deadline {
                sequence += 1
                let key = keys[Int(random.next() % UInt64(keys.count))]
                let choice = random.next() % 10
                let unique = "c\(number)-\(sequence)"
                func event(_ type: EventType, _ function: String, _ value: HistoryValue, key: String = key) {
                    recorder.record(
                        HistoryEvent(process: ProcessID(process), type: type, function: function, key: .string(key), value: value))
                }
                func indeterminate(_ function: String, _ value: HistoryValue, key: String = key) {
                    event(.info, function, value, key: key)
                    recorder.state.withLock { $0.indeterminate += 1 }
                    // An indeterminate operation stays open forever: continue as a new process.
                    process += Int64(clientCount)
                }
                switch choice {
                case 0...3:
                    event(.invoke, "read", .null)
                    do {
                        let read = try await client.get(key)
                        let value = read.map { String(decoding: $0.value, as: UTF8.self) }
                        event(.ok, "read", value.map(HistoryValue.string) ?? .null)
                        observed[key] = (read?.version ?? 0, value)
                        recorder.state.withLock { $0.completed += 1 }
                    } catch {
                        event(.fail, "read", .null)
                    }
                case 4...6:
                    event(.invoke, "write", .string(unique))
                    do {
                        let version = try await client.put(key, Array(unique.utf8))
                        event(.ok, "write", .string(unique))
                        observed[key] = (version, unique)
                        recorder.state.withLock { $0.completed += 1 }
                    } catch {
                        indeterminate("write", .string(unique))
                    }
                case 7...8:
                    let (expectedVersion, expectedValue) = observed[key] ?? (0, nil)
                    let pair = HistoryValue.list([expectedValue.map(HistoryValue.string) ?? .null, .string(unique)])
                    event(.invoke, "cas", pair)
                    do {
                        let version = try await client.put(key, Array(unique.utf8), expectedVersion: expectedVersion)
                        event(.ok, "cas", pair)
                        observed[key] = (version, unique)
                        recorder.state.withLock { $0.completed += 1 }
                    } catch ChorusClientError.versionMismatch {
                        event(.fail, "cas", pair)
                        observed[key] = nil
                        recorder.state.withLock { $0.completed += 1 }
                    } catch {
                        indeterminate("cas", pair)
                    }
                default:
                    // A key written once: it must survive everything once acknowledged.
                    let freshKey = "fresh-\(unique)"
                    event(.invoke, "write", .string(unique), key: freshKey)
                    do {
                        _ = try await client.put(freshKey, Array(unique.utf8))
                        event(.ok, "write", .string(unique), key: freshKey)
                        recorder.state.withLock {
                            $0.acknowledgedFreshWrites.append((freshKey, unique))
                            $0.completed += 1
                        }
                    } catch {
                        indeterminate("write", .string(unique), key: freshKey)
                    }
                }
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
                let recorder = NemesisTests.Recorder()
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
