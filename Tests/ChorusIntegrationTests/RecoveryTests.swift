import ChorusAPI
import ChorusClient
import ChorusLocalCluster
import Foundation
import Testing

extension RealProcessTests {
    /// Snapshots, log compaction, InstallSnapshot and whole-cluster restarts, on
    /// real processes with a small snapshot threshold.
    @Suite struct RecoveryTests {
        @Test func aLaggingFollowerCatchesUpBySnapshotAndAllNodesSurviveSIGKILL() async throws {
            try await ClusterHarness.withCluster(extraArguments: ["--snapshot-entries", "40"], name: "recovery") { harness in
                let cluster = harness.cluster
                let client = harness.client
                var written: [String: String] = [:]
                func writeMany(_ prefix: String, _ count: Int) async throws {
                    try await withThrowingTaskGroup(of: (String, String).self) { group in
                        for index in 0..<count {
                            group.addTask {
                                let key = "\(prefix)-\(index)"
                                let value = "value-\(prefix)-\(index)"
                                try await client.put(key, Array(value.utf8))
                                return (key, value)
                            }
                            if index % 16 == 15 {
                                for try await (key, value) in group { written[key] = value }
                            }
                        }
                        for try await (key, value) in group { written[key] = value }
                    }
                }
                try await writeMany("first", 150)

                // Stop a follower, write enough for the leader to compact past it.
                let leader = try await harness.leader()
                let lagging = cluster.nodes.first { $0 != leader.node }!
                await cluster.crash(lagging)
                try await writeMany("second", 200)
                let leaderSnapshots = try await harness.metric("chorus_snapshots_taken_total", node: leader.node) ?? 0
                #expect(leaderSnapshots >= 2, "the leader should have compacted its log")

                // The follower comes back and must catch up through InstallSnapshot.
                try cluster.start(lagging)
                let laggingClient = try harness.client(for: lagging)
                defer { laggingClient.shutdown() }
                let token = client.sessionIndex
                var caughtUp = false
                let deadline = ContinuousClock.now + .seconds(15)
                while !caughtUp && ContinuousClock.now < deadline {
                    if let value = try? await laggingClient.get("second-199", consistency: .sequential, minimumIndexOverride: token) {
                        caughtUp = value.value == Array("value-second-199".utf8)
                    }
                    if !caughtUp { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(caughtUp, "the restarted follower did not catch up; logs in \(harness.directory)")
                let installed = try await harness.metric("chorus_snapshots_installed_total", node: lagging) ?? 0
                #expect(installed >= 1, "the follower should have installed the leader's snapshot")

                // SIGTERM is a graceful shutdown: the node drains and exits with status 0.
                let exited = await cluster.terminate(lagging)
                #expect(exited, "n\(lagging) did not exit within 5 s of SIGTERM")
                #expect(cluster.termination(lagging) == "exit 0")
                try cluster.start(lagging)
                _ = try await laggingClient.get("second-199", consistency: .sequential, minimumIndexOverride: client.sessionIndex)

                // A leader stopped gracefully hands leadership over first.
                let current = try await harness.leader()
                #expect(await cluster.terminate(current.node), "the leader did not exit within 5 s of SIGTERM")
                let log = try String(contentsOfFile: cluster.logFile(current.node), encoding: .utf8)
                #expect(log.contains("leadership handed over"), "no handover in \(cluster.logFile(current.node))")
                _ = try await harness.leader(excluding: [current.node])
                try cluster.start(current.node)

                // Every node dies at once; on restart everything acknowledged is back.
                for node in cluster.nodes { await cluster.crash(node) }
                try cluster.startAll()
                _ = try await harness.leader()
                for (key, value) in written.sorted(by: { $0.key < $1.key }) {
                    let read = try await client.get(key)
                    #expect(read?.value == Array(value.utf8), "acknowledged \(key) lost after a full-cluster SIGKILL")
                }
                // Snapshot files exist and old log segments were released.
                let snapshots = try FileManager.default.contentsOfDirectory(atPath: cluster.dataDirectory(leader.node) + "/snapshots")
                #expect(snapshots.contains { $0.hasSuffix(".snap") })
            }
        }
    }
}
