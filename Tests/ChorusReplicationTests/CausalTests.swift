import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication
import Testing

@Suite struct CausalTests {
    let causalKeyspace = KeyspaceID(7)

    func causalCluster() -> SimulatedCluster {
        var keyspace = KeyspaceConfiguration(id: causalKeyspace, mode: .causal)
        keyspace.replicationFactor = 3
        return SimulatedCluster(members: [1, 2, 3], keyspaces: [keyspace], seed: 5, failureDetection: false)
    }

    /// COPS's example (Lloyd et al. §2): a photo, then an album entry that
    /// refers to it, written in one session. A replica that has the album
    /// entry but not the photo keeps the entry invisible until the photo is
    /// visible there; a causal read never shows the entry without the photo.
    @Test func aWriteBecomesVisibleOnlyAfterItsDependencies() throws {
        let cluster = causalCluster()
        let photo = ObjectKey(keyspace: causalKeyspace, kind: .versioned, key: Array("photo".utf8))
        let album = ObjectKey(keyspace: causalKeyspace, kind: .versioned, key: Array("album".utf8))
        cluster.blocked = [[1, 3]]
        var session = RequestOptions()
        let wrotePhoto = try #require(cluster.perform(put("beach.jpg", key: photo), at: 1, options: session)?.write)
        session.session = wrotePhoto.session
        #expect(session.session?.dependencies[ReplicaID(1)] == wrotePhoto.minted.causalSequence)
        let wroteAlbum = try #require(cluster.perform(put("see beach.jpg", key: album), at: 2, options: session)?.write)
        session.session = wroteAlbum.session
        cluster.run(ticks: 10)
        let third = cluster.replica(3)
        #expect(third.store.entries[album]?.pending.count == 1, "the album entry waits at node 3")
        #expect(third.store.value(of: album)?.isEmptyForReaders ?? true)
        #expect(third.store.value(of: photo) == nil, "node 3 never heard of the photo")

        // A causal read of the photo by the session must not be served by
        // node 3: it parks there; node 2 serves it.
        var one = RequestOptions()
        one.readQuorum = 1
        one.session = session.session
        let photoRead = try #require(cluster.perform(.get(photo), at: 3, options: one)?.read)
        #expect(photoRead.value?.siblingValues == [Array("beach.jpg".utf8)])
        #expect(cluster.replica(3).metrics.causalReadsParked <= 1)

        cluster.blocked = []
        var albumVisibleWithoutPhoto = false
        for _ in 0..<40 {
            cluster.step()
            let node = cluster.replica(3)
            let albumVisible = !(node.store.value(of: album)?.isEmptyForReaders ?? true)
            let photoVisible = !(node.store.value(of: photo)?.isEmptyForReaders ?? true)
            if albumVisible && !photoVisible { albumVisibleWithoutPhoto = true }
        }
        #expect(!albumVisibleWithoutPhoto)
        #expect(cluster.replica(3).store.value(of: album)?.siblingValues == [Array("see beach.jpg".utf8)])
        #expect(cluster.replica(3).store.pendingUnitCount == 0)
        #expect(cluster.replica(1).metrics.causalRetransmissions >= 1, "the origin retransmitted the photo to node 3")
        #expect(cluster.members.allSatisfy { cluster.replica($0).metrics.originLogCount == 0 }, "every causal write acknowledged everywhere")
        let stable = cluster.replica(2).stableFrontier
        #expect(stable[ReplicaID(1)] >= wrotePhoto.minted.causalSequence!)
        #expect(session.session!.pruned(stableFrontier: stable).isEmpty, "a stable dependency need not be carried")
    }

    @Test func readYourWritesAcrossCoordinatorsInACausalSession() throws {
        let cluster = causalCluster()
        let key = ObjectKey(keyspace: causalKeyspace, kind: .counter, key: Array("likes".utf8))
        var options = RequestOptions()
        options.readQuorum = 1
        for round in 1...5 {
            let coordinator = NodeID(UInt64(round % 3 + 1))
            let wrote = try #require(cluster.perform(.update(key, .counterIncrement(1)), at: coordinator, options: options)?.write)
            options.session = wrote.session
            let reader = NodeID(UInt64((round + 1) % 3 + 1))
            let read = try #require(cluster.perform(.get(key), at: reader, options: options)?.read)
            guard case .counter(let counter)? = read.value else { Issue.record("no counter"); return }
            #expect(counter.value == Int64(round), "round \(round) reads its own increments")
            options.session = read.session
        }
    }

    @Test func sessionStateMergesPrunesAndDecodesBounded() throws {
        var a = LeaderlessSessionState(dependencies: VersionVector([(ReplicaID(1), UInt64(5)), (ReplicaID(2), UInt64(3))]))
        let b = LeaderlessSessionState(dependencies: VersionVector([(ReplicaID(2), UInt64(9)), (ReplicaID(4), UInt64(1))]))
        a.merge(b)
        #expect(a.dependencies == VersionVector([(ReplicaID(1), UInt64(5)), (ReplicaID(2), UInt64(9)), (ReplicaID(4), UInt64(1))]))
        #expect(a.merging(b) == a && b.merging(a) == a)
        let pruned = a.pruned(stableFrontier: VersionVector([(ReplicaID(1), UInt64(5)), (ReplicaID(2), UInt64(8))]))
        #expect(pruned.dependencies == VersionVector([(ReplicaID(2), UInt64(9)), (ReplicaID(4), UInt64(1))]))
        let bytes = a.encodedBytes
        #expect(try LeaderlessSessionState(decodingAll: bytes) == a)
        #expect(bytes.count <= 16)
        var oversized = ByteWriter()
        oversized.write(UInt8(1))
        VersionVector((1...1100).map { (ReplicaID(UInt64($0)), 1) }).encode(into: &oversized)
        #expect(throws: BinaryDecodingError.self) { try LeaderlessSessionState(decodingAll: oversized.bytes) }
        #expect(throws: BinaryDecodingError.self) { try LeaderlessSessionState(decodingAll: [2, 0]) }
        for cut in 0..<bytes.count {
            #expect(throws: BinaryDecodingError.self) { try LeaderlessSessionState(decodingAll: Array(bytes.prefix(cut))) }
        }
    }
}

@Suite struct ProbabilisticBoundedStalenessTests {
    @Test func closedFormMatchesThePaperAndAMonteCarloEstimate() {
        #expect(abs(ProbabilisticBoundedStaleness.probabilityOfConsistentRead(replicas: 3, readQuorum: 1, writeQuorum: 1, versions: 1) - 1.0 / 3) < 1e-12)
        let twoVersions = ProbabilisticBoundedStaleness.probabilityOfConsistentRead(replicas: 3, readQuorum: 1, writeQuorum: 1, versions: 2)
        #expect(abs(twoVersions - 5.0 / 9) < 1e-12)
        #expect(ProbabilisticBoundedStaleness.probabilityOfConsistentRead(replicas: 3, readQuorum: 2, writeQuorum: 2, versions: 1) == 1)
        #expect(ProbabilisticBoundedStaleness.binomial(5, 2) == 10 && ProbabilisticBoundedStaleness.binomial(2, 3) == 0)
        // Sample: K writes each to W random replicas of N, a read of R random
        // replicas; consistent if it meets any write's replicas.
        var generator = SeededGenerator(seed: 12)
        for (n, r, w, k) in [(3, 1, 1, 2), (5, 2, 1, 3), (5, 1, 2, 1)] {
            var hits = 0
            let trials = 20_000
            for _ in 0..<trials {
                let read = Set((0..<n).shuffled(using: &generator).prefix(r))
                var consistent = false
                for _ in 0..<k where !Set((0..<n).shuffled(using: &generator).prefix(w)).isDisjoint(with: read) { consistent = true }
                if consistent { hits += 1 }
            }
            let expected = ProbabilisticBoundedStaleness.probabilityOfConsistentRead(replicas: n, readQuorum: r, writeQuorum: w, versions: k)
            #expect(abs(Double(hits) / Double(trials) - expected) < 0.015, "N=\(n) R=\(r) W=\(w) K=\(k)")
        }
    }
}

/// Two causal-delivery bugs the leaderless simulator found (`chorus simulate
/// leaderless --seeds 2000`), pinned on one bare node each.
@Suite struct CausalVisibilityTests {
    let causalKeyspace = KeyspaceID(7)
    let key = ObjectKey(keyspace: KeyspaceID(7), kind: .versioned, key: Array("k".utf8))

    func node() throws -> ReplicationNode {
        var keyspace = KeyspaceConfiguration(id: causalKeyspace, mode: .causal)
        keyspace.replicationFactor = 3
        return try ReplicationNode(configuration: ReplicationConfiguration(myself: 1, members: [1, 2, 3], keyspaces: [keyspace]))
    }

    /// A unit of one sibling minted at `origin` as `sequence`, by a session that depended on `dependencies`.
    func unit(_ text: String, origin: NodeID, sequence: UInt64, dependencies: VersionVector) -> ReplicationMessage {
        var siblings = SiblingSet()
        _ = siblings.update(
            value: Array(text.utf8), timestamp: .zero, clientContext: VersionVector(), replica: ReplicaID(origin.rawValue), counter: sequence)
        return .replicate(Replication(
            request: nil, coordinator: nil, key: key, value: .versioned(siblings), hintFor: nil, requireDurable: true,
            causal: CausalTag(origin: origin, sequence: sequence, dependencies: dependencies)))
    }

    /// The whole object travels, pending siblings included, so a write
    /// depends on everything its object carries, not only on its writer's
    /// session: its causal tag (a replica shows it, and the carried sibling,
    /// only once their causes are visible there), its mint record and what
    /// its writer's session inherits. With the session's dependencies alone,
    /// a replica showed a carried sibling before its causes (seed 248).
    @Test func aWriteDependsOnEverythingItsObjectCarries() throws {
        var node = try node()
        // x, minted at n2 by a session that had seen n3's write 5: pending here.
        _ = node.receive(unit("x", origin: 2, sequence: 4, dependencies: VersionVector([(ReplicaID(3), UInt64(5))])), from: 2)
        #expect(node.store.entries[key]?.pending.count == 1)
        let effects = node.receive(.mint(MintRequest(
            request: RequestID(coordinator: 2, boot: 1, sequence: 1), key: key,
            operation: .put(value: Array("y".utf8), context: .client(VersionVector()), timestamp: .zero),
            targets: [WriteTarget(node: 1, hintFor: nil), WriteTarget(node: 3, hintFor: nil)], requireDurable: true,
            dependencies: VersionVector(), returnValue: true)), from: 2)
        let carried = VersionVector([(ReplicaID(2), UInt64(4)), (ReplicaID(3), UInt64(5))])
        let replicated = effects.messages.compactMap { sent -> Replication? in
            if case .replicate(let replication) = sent.message { replication } else { nil }
        }
        #expect(replicated.map { Set($0.value.siblingValues) } == [[Array("x".utf8), Array("y".utf8)]], "x travels with y")
        #expect(replicated.map(\.causal?.dependencies) == [carried])
        let acknowledged = effects.messages.compactMap { sent -> MintResult? in
            if case .writeAcknowledged(_, _, _, let minted?) = sent.message { minted } else { nil }
        }
        #expect(acknowledged.map(\.causalDependencies) == [carried], "the writer's session inherits what y carries")
        #expect(node.store.value(of: key)?.isEmptyForReaders ?? true, "y waits here with x, for n3's write 5")
    }

    /// Recovery decides visibility from each unit's condition (its causes),
    /// as the runtime did, not from its summary (which holds the unit's own
    /// stamp): what was visible before a crash is visible after it, and what
    /// was pending is pending on the same condition, from the log and from a
    /// compacted snapshot alike. Recovering on the summary hid a visible
    /// value whose own stamp was ahead of the frontier, and with it the older
    /// writes it had superseded, from sessions the frontier still served
    /// (seed 657).
    @Test func recoveryRestoresExactlyWhatWasVisibleAndPending() throws {
        var node = try node()
        var log: [[UInt8]] = []
        // x depends on nothing: visible at once, although n2 has attested nothing yet.
        log += node.receive(unit("x", origin: 2, sequence: 4, dependencies: VersionVector()), from: 2).persist.map(\.bytes)
        // z waits for n1's write 9, which never came.
        log += node.receive(unit("z", origin: 3, sequence: 2, dependencies: VersionVector([(ReplicaID(2), UInt64(9))])), from: 3)
            .persist.map(\.bytes)
        #expect(node.store.value(of: key)?.siblingValues == [Array("x".utf8)])
        #expect(node.store.entries[key]?.pending.count == 1)
        #expect(node.frontier[ReplicaID(2)] == 0 && node.frontier[ReplicaID(3)] == 0)
        let fromLog = try ReplicationNode(configuration: node.configuration, recovering: log)
        #expect(fromLog.store.entries == node.store.entries)
        let fromSnapshot = try ReplicationNode(configuration: node.configuration, recovering: node.durableSnapshot())
        #expect(fromSnapshot.store.entries == node.store.entries)
    }
}
