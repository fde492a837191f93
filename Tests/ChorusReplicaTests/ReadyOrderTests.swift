import ChorusKeyValue
import ChorusCore
import ChorusMachines
import ChorusRaft
import Foundation
import Testing

@testable import ChorusReplica

/// When messages leave relative to the disk: a leader's before its own
/// fsync (thesis §10.2.1), everyone else's only after.
@Suite struct ReadyOrderTests {
    typealias Replica = RaftReplica<ReplicatedMachines>

    struct Cluster {
        var replicas: [NodeID: Replica] = [:]
        var mailbox: [RaftMessage] = []
        /// Each replica's effects in order, with persists acknowledged at once.
        var log: [NodeID: [ReplicaEffect<ReplicatedMachines>]] = [:]

        init() throws {
            let state = RaftPersistentState.bootstrap(voters: [1, 2, 3])
            for id in [NodeID(1), 2, 3] {
                var configuration = RaftConfiguration(nodeID: id)
                configuration.preVoteEnabled = false
                let raft = try RaftNode(configuration: configuration, persistentState: state, randomSeed: id.rawValue)
                replicas[id] = try Replica(
                    configuration: ReplicaConfiguration(), raft: raft, machine: ReplicatedMachines(), durable: state)
            }
        }

        mutating func stabilize() {
            for _ in 0..<100 {
                var progressed = false
                for id in replicas.keys.sorted() {
                    replicas[id]!.pump()
                    let effects = replicas[id]!.takeEffects()
                    if effects.isEmpty { continue }
                    progressed = true
                    log[id, default: []] += effects
                    for effect in effects {
                        switch effect {
                        case .send(let messages): mailbox += messages
                        case .persist(let request): replicas[id]!.persisted(request.ticket)
                        default: break
                        }
                    }
                    // Messages released by `persisted` come in the next round of effects.
                    let after = replicas[id]!.takeEffects()
                    log[id, default: []] += after
                    for case .send(let messages) in after { mailbox += messages }
                }
                let delivering = mailbox
                mailbox = []
                for message in delivering {
                    replicas[message.to]!.receive(message)
                    progressed = true
                }
                if !progressed { return }
            }
        }
    }

    /// The positions of `send` and `persist` effects in one replica's log, by Ready.
    static func orders(_ effects: [ReplicaEffect<ReplicatedMachines>]) -> [(ready: Ready, sendBeforePersist: Bool?)] {
        var result: [(Ready, Bool?)] = []
        var current: Ready?
        var sawSend = false
        var sawPersist = false
        var verdict: Bool?
        func close() { if let current { result.append((current, verdict)) } }
        for effect in effects {
            switch effect {
            case .readyTaken(let ready):
                close()
                current = ready
                sawSend = false
                sawPersist = false
                verdict = nil
            case .send where current != nil:
                if verdict == nil { verdict = !sawPersist }
                sawSend = true
            case .persist:
                sawPersist = true
            default: break
            }
        }
        close()
        _ = sawSend
        return result
    }

    @Test func aLeaderSendsBeforeItsFsyncAndFollowersOnlyAfter() throws {
        var cluster = try Cluster()
        cluster.replicas[1]!.raft.campaign()
        cluster.stabilize()
        #expect(cluster.replicas[1]!.raft.role == .leader)
        cluster.replicas[1]!.submitWrite(
            ReplicatedMachines.Command.keyValue(.init(clientID: 0, sequence: 0, operation: .put(key: "a", value: [1]))).encoded(),
            token: RequestToken(1))
        cluster.stabilize()
        var leaderEarly = 0
        for (ready, sendFirst) in Self.orders(cluster.log[1]!) where !ready.messages.isEmpty {
            #expect(sendFirst == ready.messagesMayPrecedePersistence, "the leader follows the Ready's permission")
            if sendFirst == true && !ready.entries.isEmpty { leaderEarly += 1 }
        }
        #expect(leaderEarly >= 1, "the leader's entries left before its own fsync")
        for follower in [NodeID(2), 3] {
            for (ready, sendFirst) in Self.orders(cluster.log[follower]!) where !ready.messages.isEmpty {
                #expect(sendFirst == false, "a follower acknowledges only what is durable: \(ready)")
            }
        }
        // Every replica applied the write.
        for id in [NodeID(1), 2, 3] { #expect(cluster.replicas[id]!.machine.keyValue.get("a") != nil) }
    }
}

/// The architecture, checked: `Ready`s are taken and advanced only by the
/// replica driver, so the node and the simulator cannot drift apart again.
@Suite struct ArchitectureTests {
    @Test func onlyTheReplicaDriverRunsTheReadyLoop() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        var offenders: [String] = []
        var driverUses = 0
        for case let url as URL in enumerator where url.pathExtension == "swift" {
            let module = url.pathComponents[url.pathComponents.firstIndex(of: "Sources")! + 1]
            let text = try String(contentsOf: url, encoding: .utf8)
            if module == "ChorusReplica" {
                driverUses += text.components(separatedBy: "raft.ready()").count - 1
                continue
            }
            guard module != "ChorusRaft" else { continue }
            for needle in [".ready()", ".advance(", "hasReady"] where text.contains(needle) {
                offenders.append("\(module)/\(url.lastPathComponent) uses \(needle)")
            }
        }
        #expect(offenders.isEmpty, "a second Ready loop: \(offenders)")
        #expect(driverUses == 1, "the driver takes Readies in one place")
    }

    @Test func theNodeAndTheSimulatorHostTheSameDriver() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let node = try String(contentsOf: sources.appendingPathComponent("ChorusNode/NodeCore.swift"), encoding: .utf8)
        let server = try String(
            contentsOf: sources.appendingPathComponent("ChorusSimulation/SimulatedServer.swift"), encoding: .utf8)
        #expect(node.contains("var replica: RaftReplica<ReplicatedMachines>"))
        #expect(server.contains("var replica: RaftReplica<ReplicatedMachines>?"))
        #expect(!node.contains("var raft: RaftNode\n") && !server.contains("var raft: RaftNode?\n"), "no core held beside the driver")
    }
}
