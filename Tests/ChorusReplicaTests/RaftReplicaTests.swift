import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusRaft
import Testing

@testable import ChorusReplica

/// The replica driver on its own: a single-voter group (which commits alone)
/// driven by hand, every effect looked at.
@Suite struct RaftReplicaTests {
    typealias Replica = RaftReplica<ReplicatedMachines>

    /// A leader of a one-voter group, its election's Readies already carried out.
    static func leader(_ configuration: ReplicaConfiguration = ReplicaConfiguration()) throws -> Replica {
        var raftConfiguration = RaftConfiguration(nodeID: 1)
        raftConfiguration.electionTimeoutTicks = 3
        raftConfiguration.heartbeatIntervalTicks = 1
        let state = RaftPersistentState.bootstrap(voters: [1])
        let raft = try RaftNode(configuration: raftConfiguration, persistentState: state, randomSeed: 7)
        var replica = try Replica(configuration: configuration, raft: raft, machine: ReplicatedMachines(), durable: state)
        for _ in 0..<10 { replica.tick() }
        settle(&replica)
        #expect(replica.raft.role == .leader)
        return replica
    }

    /// Pumps and acknowledges every persist at once (a perfect disk), returning every effect.
    @discardableResult
    static func settle(_ replica: inout Replica) -> [ReplicaEffect<ReplicatedMachines>] {
        var all: [ReplicaEffect<ReplicatedMachines>] = []
        for _ in 0..<64 {
            replica.pump()
            let effects = replica.takeEffects()
            if effects.isEmpty { return all }
            all += effects
            for case .persist(let request) in effects { replica.persisted(request.ticket) }
            for case .prepareSnapshot(let machines, let index) in effects {
                replica.snapshotPrepared(index: index, data: machines.snapshot())
            }
            for effect in effects { if case .saveCheckpoint = effect { replica.checkpointSaved() } }
        }
        Issue.record("the replica did not settle")
        return all
    }

    static func put(_ key: String, client: UInt64 = 0, sequence: UInt64 = 0) -> [UInt8] {
        ReplicatedMachines.Command.keyValue(
            KeyValueCommand(clientID: client, sequence: sequence, operation: .put(key: key, value: [1, 2]))
        ).encoded()
    }

    static func writes(_ effects: [ReplicaEffect<ReplicatedMachines>])
        -> [(RequestToken, Result<WriteResult<ReplicatedMachines.Output>, ReplicaError>)]
    {
        effects.compactMap { if case .writeCompleted(let token, let result) = $0 { (token, result) } else { nil } }
    }

    @Test func aWriteIsPersistedThenAppliedThenAnswered() throws {
        var replica = try Self.leader()
        replica.submitWrite(Self.put("a"), token: RequestToken(1))
        replica.pump()
        let first = replica.takeEffects()
        // The Ready is taken and persisted; nothing is answered before it is durable.
        guard case .proposed(count: 1) = first.first, case .readyTaken = first.dropFirst().first,
            case .persist(let request) = first.last
        else {
            Issue.record("expected proposed, readyTaken … persist, got \(first)")
            return
        }
        #expect(request.mustSync && request.entries.count == 1)
        #expect(Self.writes(first).isEmpty)
        #expect(replica.isPersisting)
        replica.persisted(request.ticket)
        let answered = Self.writes(replica.takeEffects() + Self.settle(&replica))
        #expect(answered.count == 1)
        guard case .success(let written)? = answered.first?.1, case .keyValue(let applied) = written.output else {
            Issue.record("expected a success, got \(answered)")
            return
        }
        #expect(applied.result == .written(version: written.index))
        #expect(replica.machine.keyValue.get("a")?.version == written.index)
    }

    @Test func writesOfOnePumpFormOneBatchAndRetriesJoinTheirOriginal() throws {
        var replica = try Self.leader()
        for token in 1...3 { replica.submitWrite(Self.put("k\(token)"), token: RequestToken(UInt64(token))) }
        // A retry of a session write joins it while it is in flight: once queued, once proposed.
        replica.submitWrite(Self.put("s", client: 9, sequence: 1), key: IdempotencyKey(client: 9, sequence: 1), token: RequestToken(10))
        replica.submitWrite(Self.put("s", client: 9, sequence: 1), key: IdempotencyKey(client: 9, sequence: 1), token: RequestToken(11))
        replica.pump()
        var effects = replica.takeEffects()
        let proposed = effects.compactMap { if case .proposed(let count) = $0 { count } else { nil } }
        #expect(proposed == [4], "three writes and one session write, its retry joined")
        replica.submitWrite(Self.put("s", client: 9, sequence: 1), key: IdempotencyKey(client: 9, sequence: 1), token: RequestToken(12))
        for case .persist(let request) in effects { replica.persisted(request.ticket) }
        effects = replica.takeEffects() + Self.settle(&replica)
        let answers = Self.writes(effects)
        #expect(answers.count == 6)
        let sessionIndexes = answers.filter { $0.0.rawValue >= 10 }.compactMap { try? $0.1.get().index }
        #expect(sessionIndexes.count == 3 && Set(sessionIndexes).count == 1, "one entry answers the write and both retries")
        #expect(replica.raft.lastIndex == replica.machine.appliedIndex)
    }

    @Test func limitsAndLeadershipAreEnforcedAtSubmission() throws {
        var replica = try Self.leader(ReplicaConfiguration(maximumPendingWrites: 2, maximumProposalBatch: 2))
        for token in 1...3 { replica.submitWrite(Self.put("k"), token: RequestToken(UInt64(token))) }
        let refused = Self.writes(replica.takeEffects())
        #expect(refused.count == 1 && refused[0].0 == RequestToken(3))
        #expect(refused.first.map { if case .failure(.overloaded(.pendingWrites(limit: 2))) = $0.1 { true } else { false } } == true)
        Self.settle(&replica)

        // A follower refuses at once, naming no leader it does not know.
        var raftConfiguration = RaftConfiguration(nodeID: 2)
        raftConfiguration.electionTimeoutTicks = 3
        raftConfiguration.heartbeatIntervalTicks = 1
        let state = RaftPersistentState.bootstrap(voters: [1, 2, 3])
        var follower = try Replica(
            configuration: ReplicaConfiguration(),
            raft: try RaftNode(configuration: raftConfiguration, persistentState: state, randomSeed: 1),
            machine: ReplicatedMachines(), durable: state)
        follower.submitWrite(Self.put("k"), token: RequestToken(1))
        #expect(Self.writes(follower.takeEffects()).first.map { if case .failure(.noLeader) = $0.1 { true } else { false } } == true)
    }

    @Test func readsWaitForTheirIndexAndTimeOut() throws {
        var replica = try Self.leader(ReplicaConfiguration(catchUpWaitTicks: 3, expiryIntervalTicks: 1))
        replica.submitRead(.keyValue(.get(key: "a")), requirement: .linearizable, token: RequestToken(1))
        let linearizable = Self.settle(&replica).compactMap { effect -> Bool? in
            if case .readCompleted(RequestToken(1), .success) = effect { true } else { nil }
        }
        #expect(linearizable == [true])
        let far = replica.machine.appliedIndex.rawValue + 100
        replica.submitRead(.keyValue(.get(key: "a")), requirement: .appliedAtLeast(LogIndex(far)), token: RequestToken(2))
        #expect(replica.takeEffects().isEmpty, "it waits")
        for _ in 0..<3 { replica.tick() }
        let timedOut = Self.settle(&replica).contains {
            if case .readCompleted(RequestToken(2), .failure(.notCaughtUp)) = $0 { true } else { false }
        }
        #expect(timedOut)
    }

    @Test func aWriteNotAppliedInTimeIsOfUnknownOutcome() throws {
        var replica = try Self.leader(ReplicaConfiguration(writeTimeoutTicks: 2, expiryIntervalTicks: 1))
        replica.submitWrite(Self.put("slow"), token: RequestToken(1))
        replica.pump()
        _ = replica.takeEffects()
        // The disk never answers; time passes.
        for _ in 0..<2 { replica.tick() }
        let answer = Self.writes(replica.takeEffects())
        #expect(answer.count == 1)
        #expect(answer.first.map { if case .failure(.outcomeUnknown(.timedOut)) = $0.1 { true } else { false } } == true)
    }

    @Test func compactionAsksForASnapshotThenACheckpoint() throws {
        var replica = try Self.leader(ReplicaConfiguration(snapshotThresholdEntries: 3))
        for token in 1...4 { replica.submitWrite(Self.put("k\(token)"), token: RequestToken(UInt64(token))) }
        let effects = Self.settle(&replica)
        let prepared = effects.contains { if case .prepareSnapshot = $0 { true } else { false } }
        let checkpoint = effects.compactMap { if case .saveCheckpoint(let request) = $0 { request } else { nil } }.first
        #expect(prepared)
        #expect(checkpoint.map { $0.snapshot.metadata.index == replica.raft.snapshotMetadata.index } == true)
        var restored = ReplicatedMachines()
        try restored.restore(from: try #require(checkpoint).snapshot.data, at: checkpoint!.snapshot.metadata.index)
        #expect(restored.keyValue.keyCount == 4)
    }

    @Test func stoppingAnswersEveryWaitingRequest() throws {
        var replica = try Self.leader()
        replica.submitWrite(Self.put("a"), token: RequestToken(1))
        replica.pump()
        _ = replica.takeEffects()
        replica.submitWrite(Self.put("b"), token: RequestToken(2))
        replica.submitRead(.keyValue(.get(key: "a")), requirement: .appliedAtLeast(LogIndex(1_000)), token: RequestToken(3))
        replica.stop(reason: "test")
        let effects = replica.takeEffects()
        #expect(Self.writes(effects).map(\.0.rawValue).sorted() == [1, 2])
        #expect(effects.contains { if case .readCompleted(RequestToken(3), .failure(.stopped)) = $0 { true } else { false } })
        replica.submitWrite(Self.put("c"), token: RequestToken(4))
        #expect(Self.writes(replica.takeEffects()).first.map { if case .failure(.stopped) = $0.1 { true } else { false } } == true)
    }
}
