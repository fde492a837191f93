import ChorusCheck
import ChorusClient
import ChorusCore
import ChorusLocalCluster
import ChorusNemesis
import Foundation
import NIOHTTP1
import Synchronization
import Testing

extension RealProcessTests {
    /// The network nemesis against real processes (issue 15): every node in
    /// a network namespace of its own (`NodeNetwork`), the links between
    /// them cut by packet filters, the clients on the host seeing every node.
    @Suite(.enabled(if: NodeNetwork.unavailableReason == nil, Comment(rawValue: NodeNetwork.unavailableReason ?? "")))
    struct PartitionNemesisTests {
        /// Five nodes under six concurrent clients (`RegisterWorkload`: reads,
        /// writes, compare-and-set, write-once keys) for 30 s while the nemesis
        /// (`PartitionCampaign`, as `chorus nemesis partitions` runs it) applies
        /// every fault once: the leader isolated (a client pinned to it keeps
        /// writing), the leader in a 2-of-5 minority, two halves bridged through
        /// one node, the leader's outgoing packets dropped, 30% loss on every
        /// link, an isolated leader killed. The history must be linearizable,
        /// every acknowledged write-once key readable after healing, and the
        /// isolated old leader must acknowledge no write invoked once it was
        /// cut off for an election timeout and a lease.
        @Test func fiveNodesStayLinearizableThroughPartitionsBridgesOneWayCutsLossAndAKilledIsolatedLeader() async throws {
            try await ClusterHarness.withCluster(nodes: 5, name: "partitions", partitionable: true) { harness in
                let network = try #require(harness.network)
                var options = PartitionCampaign.Options()
                options.schedule = PartitionFault.allCases
                options.durationSeconds = 30
                let report = try await PartitionCampaign.run(
                    .init(
                        cluster: harness.cluster, network: network,
                        makeClient: { endpoints, operation, request in
                            try harness.loadClient(
                                endpoints: endpoints, operationTimeoutMilliseconds: operation, requestTimeoutMilliseconds: request)
                        }), options: options
                ) { line in print("partition \(line)") }
                print("partition nemesis: \(report.summary)")
                #expect(report.faultsApplied.count == PartitionFault.allCases.count, "the nemesis did not run every fault: \(report.faultsApplied)")
                #expect(report.completed >= 100, "too few operations completed (\(report.completed)): the cluster made no progress")
                #expect(report.isolatedLeaderProbes >= 3, "the isolated leader was hardly probed")
                #expect(report.isolatedLeaderAcknowledged.isEmpty, "the isolated old leader acknowledged \(report.isolatedLeaderAcknowledged)")
                #expect(report.lostFreshWrites.isEmpty, "acknowledged writes lost: \(report.lostFreshWrites)")
                if report.verdict != .satisfied, let history = report.history {
                    let path = harness.directory + "/history.jsonl"
                    try? HistoryFormat.jsonLines(history).write(toFile: path, atomically: true, encoding: .utf8)
                    Issue.record("history is \(report.verdict): \(report.counterexample ?? "?"); history in \(path)")
                }
                #expect(report.verdict == .satisfied)
            }
        }

        /// The issue's report: a follower cut off (its veth taken off the
        /// bridge) stayed without a leader for ~22 s after the heal, and
        /// clients of an isolated old leader got 503 for 4.7 s. Here both are
        /// cut off for 8 s (long enough for TCP's retransmission backoff to
        /// pass 6 s) while the others take writes, and each must be back —
        /// following the leader, applied up to what was committed at the
        /// heal, serving a write through its own address — within two
        /// election timeouts (600 ms) and the polling.
        @Test func aNodeCutOffForEightSecondsRejoinsWithinTwoElectionTimeoutsOfTheHeal() async throws {
            try await ClusterHarness.withCluster(nodes: 3, name: "rejoin", partitionable: true) { harness in
                let network = try #require(harness.network)
                let poller = try harness.loadClient(
                    endpoints: harness.cluster.httpURLs, operationTimeoutMilliseconds: 200, requestTimeoutMilliseconds: 200)
                defer { poller.shutdown() }
                var rejoinTimes: [Duration] = []
                for round in ["follower", "leader"] {
                    let leader = try await harness.leader()
                    let cut = round == "leader" ? leader.node : harness.cluster.nodes.first { $0 != leader.node }!
                    try network.detach(cut)
                    print("partition nemesis: the \(round) n\(cut) off the bridge for 8 s")
                    let writeDeadline = ContinuousClock.now + .seconds(8)
                    var written = 0
                    while ContinuousClock.now < writeDeadline {
                        if (try? await harness.client.put("while-\(round)-cut-\(written)", Array("x".utf8))) != nil { written += 1 }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    let current = try await harness.leader(excluding: [cut])
                    #expect(written >= 20, "the majority took \(written) writes while n\(cut) was cut off")
                    let committedAtHeal = current.commitIndex
                    try network.attach(cut)
                    let healed = ContinuousClock.now
                    let own = try harness.loadClient(
                        endpoints: [harness.cluster.httpURL(cut)], operationTimeoutMilliseconds: 300, requestTimeoutMilliseconds: 300)
                    defer { own.shutdown() }
                    var back = false
                    while !back && ContinuousClock.now - healed < .seconds(30) {
                        if let view = await harness.cluster.view(of: cut, client: poller), view.leader == current.node,
                            view.role == "follower", view.appliedIndex >= committedAtHeal,
                            (try? await own.put("back-\(round)", Array("x".utf8))) != nil
                        {
                            back = true
                        } else {
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    let elapsed = ContinuousClock.now - healed
                    rejoinTimes.append(elapsed)
                    print("partition nemesis: the \(round) n\(cut) rejoined \(elapsed) after the heal (\(written) writes while cut off)")
                    #expect(back, "n\(cut) did not rejoin within 30 s")
                    #expect(elapsed < .milliseconds(1_200), "n\(cut) took \(elapsed) to rejoin (two election timeouts: 600 ms)")
                }
            }
        }

        /// The negative control of the partition nemesis: with the Raft core's
        /// `follower-read` bug injected (a replica answers a linearizable read
        /// from its own commit index), a follower cut off from the others goes
        /// on answering reads while the majority takes writes, and the same
        /// recording and checking must find the history not linearizable.
        @Test func anIsolatedFollowersStaleReadsAreCaughtWhenTheBugIsInjected() async throws {
            try await ClusterHarness.withCluster(
                nodes: 3, extraArguments: ["--inject-bug", "follower-read"], name: "partition-negative", partitionable: true
            ) { harness in
                let network = try #require(harness.network)
                let leader = try await harness.leader()
                let follower = harness.cluster.nodes.first { $0 != leader.node }!
                try network.apply(.isolate(follower, in: harness.cluster.nodes))
                let recorder = RegisterWorkload.Recorder()
                let deadline = ContinuousClock.now + .seconds(3)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            let isReader = worker >= 2
                            let client = try harness.loadClient(
                                endpoints: [harness.cluster.httpURL(isReader ? follower : leader.node)],
                                operationTimeoutMilliseconds: 500, requestTimeoutMilliseconds: 500)
                            defer { client.shutdown() }
                            await RegisterWorkload.runOneKey(
                                worker, of: 4, reads: isReader, client: client, recorder: recorder, until: deadline)
                        }
                    }
                    try await group.waitForAll()
                }
                let events = recorder.state.withLock { $0.events }
                let result = try await Checker.checkConcurrently(
                    try History(events: events), model: CASRegisterModel(), condition: .linearizable,
                    options: CheckOptions(timeout: .seconds(60)))
                print("partition nemesis negative control: \(events.count / 2) operations, verdict \(result.verdict)")
                #expect(result.verdict == .violated, "an isolated follower's stale reads went unnoticed")
            }
        }

        /// Lease reads (`chorus node --read-mode lease`: the leader answers a
        /// linearizable read without a quorum round while its lease holds) are
        /// safe while clocks drift within the configured bound (±5%): three
        /// nodes whose clocks run at 0.96, 1.00 and 1.04 of real time
        /// (`--clock-rate`, a test-only flag) stay linearizable while the
        /// leader is isolated, cut one way and put in a minority.
        @Test func leaseReadsStayLinearizableWhileClocksDriftWithinTheBound() async throws {
            try await ClusterHarness.withCluster(
                nodes: 3, extraArguments: ["--read-mode", "lease"],
                nodeArguments: [1: ["--clock-rate", "0.96"], 3: ["--clock-rate", "1.04"]], name: "lease-skew", partitionable: true
            ) { harness in
                let network = try #require(harness.network)
                var options = PartitionCampaign.Options()
                options.schedule = [.isolateLeader, .oneWayLeader, .minorityLeader, .isolateLeader]
                options.durationSeconds = 18
                let report = try await PartitionCampaign.run(
                    .init(
                        cluster: harness.cluster, network: network,
                        makeClient: { endpoints, operation, request in
                            try harness.loadClient(
                                endpoints: endpoints, operationTimeoutMilliseconds: operation, requestTimeoutMilliseconds: request)
                        }), options: options
                ) { line in print("lease skew \(line)") }
                print("lease skew within the bound: \(report.summary)")
                #expect(report.faultsApplied.count == 4, "\(report.faultsApplied)")
                #expect(report.completed >= 100, "too few operations completed (\(report.completed))")
                #expect(report.passed, "\(report.summary); \(report.counterexample ?? "")")
            }
        }

        /// The lease bound's negative control: the leader's clock at a quarter
        /// of real time (far beyond ±5%), so its 200 ms lease lasts 800 ms of
        /// real time while the others elect a new leader in 300–600 ms. The
        /// leader is isolated; a reader pinned to it keeps reading a key the
        /// new majority keeps writing: the history must not be linearizable.
        @Test func leaseReadsOfASlowClockedIsolatedLeaderAreCaught() async throws {
            try await ClusterHarness.withCluster(
                nodes: 3, extraArguments: ["--read-mode", "lease"], nodeArguments: [1: ["--clock-rate", "0.25"]],
                name: "lease-slow", partitionable: true
            ) { harness in
                let network = try #require(harness.network)
                // Up to four rounds: the stale window (the new leader's first
                // commits before the old lease ends) is a few hundred ms wide
                // and depends on where the isolation falls between heartbeats.
                var verdicts: [Verdict] = []
                for _ in 0..<4 where !verdicts.contains(.violated) {
                    verdicts.append(try await Self.slowLeaderRound(harness, network: network, round: verdicts.count))
                    try network.heal()
                }
                print("lease skew beyond the bound: verdicts by round \(verdicts)")
                #expect(verdicts.contains(.violated), "a lease outliving its leader's authority went unnoticed in \(verdicts.count) rounds")
            }
        }

        /// Makes node 1 (the slow clock) the leader — a leader stopped with
        /// SIGTERM hands over to its lowest-numbered caught-up follower — then
        /// isolates it while two writers write one key through the others and
        /// two readers read it from node 1; the verdict of that history.
        static func slowLeaderRound(_ harness: ClusterHarness, network: NodeNetwork, round: Int) async throws -> Verdict {
            for _ in 0..<4 {
                let leader = try await harness.leader()
                if leader.node == 1 { break }
                await harness.cluster.stop(leader.node)
                try harness.cluster.start(leader.node)
                _ = await harness.cluster.waitUntilServing(client: harness.client, timeoutMilliseconds: 30_000)
            }
            try #require(try await harness.leader().node == 1, "node 1 did not take the lead")
            let recorder = RegisterWorkload.Recorder()
            let stop = ContinuousClock.now + .seconds(3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        let isReader = worker >= 2
                        let client = try harness.loadClient(
                            endpoints: isReader ? [harness.cluster.httpURL(1)] : [harness.cluster.httpURL(2), harness.cluster.httpURL(3)],
                            operationTimeoutMilliseconds: 300, requestTimeoutMilliseconds: 300)
                        defer { client.shutdown() }
                        await RegisterWorkload.runOneKey(
                            worker, of: 4, reads: isReader, tag: "-\(round)", client: client, recorder: recorder, until: stop)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(500))
                    try network.apply(.isolate(1, in: harness.cluster.nodes))
                }
                try await group.waitForAll()
            }
            let result = try await RegisterWorkload.check(recorder)
            print("lease skew: node 1 (clock at 0.25) isolated while leading: \(recorder.snapshot.events.count / 2) operations, \(result.verdict)")
            return result.verdict
        }

        /// Leaderless keyspaces stay writable on both sides of a partition (W=1)
        /// and converge after it: node 3 isolated while adds go to one set
        /// through all three nodes, then node 1's packets to node 2 dropped
        /// with 30% loss elsewhere; every add acknowledged on either side is
        /// read back from every node with all three replicas answering, and no
        /// hints remain.
        @Test func leaderlessWritesSucceedOnBothSidesOfAPartitionAndConvergeAfterIt() async throws {
            try await ClusterHarness.withCluster(nodes: 3, name: "leaderless-partition", partitionable: true) { harness in
                let network = try #require(harness.network)
                let client = harness.client
                try await client.createKeyspace(
                    "carts", replication: "leaderless", defaultLevel: "eventual", replicas: 3, readQuorum: 1, writeQuorum: 1)
                let urls = harness.cluster.httpURLs
                let auth = [("Authorization", "Bearer \(harness.token)")]
                var acknowledged: Set<String> = []
                var attempted = 0
                func add(_ item: String, on node: Int) async {
                    attempted += 1
                    let answer = try? await client.send(
                        .POST, url: urls[node - 1] + "/v1/crdt/carts/set/cart", headers: auth, body: Array(#"{"add":["\#(item)"]}"#.utf8))
                    if answer?.status == 200 { acknowledged.insert(item) }
                }
                try network.apply(.isolate(3, in: harness.cluster.nodes))
                for index in 0..<60 { await add("isolated-\(index)", on: 1 + index % 3) }
                // The minority side reads its own adds.
                let minority = try await client.send(.GET, url: urls[2] + "/v1/crdt/carts/set/cart?r=1", headers: auth)
                #expect(minority.status == 200 && minority.bodyText.contains("\"isolated-2\""), "\(minority.status) \(minority.bodyText.prefix(200))")
                var asymmetric = NetworkFaults.lossy(0.3, in: harness.cluster.nodes)
                asymmetric.blocked.insert(.init(from: 1, to: 2))
                try network.apply(asymmetric)
                for index in 0..<30 { await add("lossy-\(index)", on: 1 + index % 3) }
                #expect(acknowledged.count >= 85, "\(acknowledged.count) of \(attempted) adds acknowledged with W=1")
                try network.heal()
                let healed = ContinuousClock.now
                var problems: [String] = ["not read yet"]
                while !problems.isEmpty, ContinuousClock.now - healed < .seconds(60) {
                    problems = []
                    for node in 1...3 {
                        let read = try? await client.send(.GET, url: urls[node - 1] + "/v1/crdt/carts/set/cart?r=3", headers: auth)
                        guard read?.status == 200, let body = read?.bodyText else {
                            problems.append("n\(node): \(read?.status ?? 0)")
                            continue
                        }
                        let missing = acknowledged.filter { !body.contains("\"\($0)\"") }
                        if !missing.isEmpty { problems.append("n\(node) misses \(missing.count)") }
                        let cluster = try? await client.send(.GET, url: urls[node - 1] + "/v1/cluster", headers: auth)
                        if cluster?.bodyText.contains("\"hintsPending\":0,") != true { problems.append("n\(node) has hints pending") }
                    }
                    if !problems.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(problems.isEmpty, "not converged 60 s after the heal: \(problems)")
                print(
                    "partition nemesis (leaderless): \(acknowledged.count) of \(attempted) adds acknowledged across an isolation and a one-way cut with loss; converged \(ContinuousClock.now - healed) after the heal"
                )
            }
        }
    }
}
