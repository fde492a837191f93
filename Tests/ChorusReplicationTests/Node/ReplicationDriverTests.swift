import ChorusClocks
import ChorusCore
import ChorusReplication
import Testing

/// `ReplicationDriver`'s ordering rule, input by input: what a batch that
/// must be synced holds, what never waits, and what `persisted(through:)`
/// releases. The simulator's campaigns check the rule end to end (the
/// `outputs-before-durable` negative control); these pin it exactly.
@Suite struct ReplicationDriverTests {
    static let members: [NodeID] = [1, 2, 3]

    static func driver(injectedBug: InjectedBug? = nil) -> ReplicationDriver {
        var configuration = ReplicationConfiguration(myself: 1, members: members, keyspaces: [KeyspaceConfiguration(id: keyspace0)])
        configuration.virtualNodesPerMember = 8
        configuration.injectedBug = injectedBug
        let replication = try! ReplicationNode(configuration: configuration)
        return ReplicationDriver(replication: replication, membership: SwimMembership(myself: 1, members: members, seed: 7))
    }

    /// A key node 1 coordinates (its first primary), so a put mints there.
    static func keyMintedByNodeOne(_ driver: ReplicationDriver, after skipping: Int = 0) -> ObjectKey {
        let keys = (0..<200).map { ObjectKey(kind: .versioned, "key-\($0)") }.filter { driver.replication.primaries(of: $0).first == 1 }
        return keys[skipping]
    }

    static func putRequest(_ id: UInt64, _ key: ObjectKey) -> ClientRequest {
        ClientRequest(id: ClientRequestID(id), operation: put("value-\(id)", key: key))
    }

    static func replicationDestinations(_ output: ReplicationDriver.Output) -> [NodeID] {
        output.messages.compactMap { if case .replication = $0.message { $0.to } else { nil } }
    }

    @Test func aSyncedBatchHoldsItsMessagesUntilThatBatchIsDurable() {
        var driver = Self.driver()
        let key = Self.keyMintedByNodeOne(driver)
        let submitted = driver.submit(Self.putRequest(1, key))
        #expect(!submitted.records.isEmpty && submitted.persistBatch == 1 && submitted.syncRequested)
        #expect(submitted.messages.isEmpty && submitted.responses.isEmpty, "the boot and mint records are not durable yet")
        let held = driver.heldOutputCount
        #expect(held == 2, "the replication to each other primary waits")
        #expect(driver.releaseAfterBatch == 1)
        let early = driver.persisted(through: 0)
        #expect(early.isEmpty && driver.heldOutputCount == held, "an earlier batch releases nothing")
        let released = driver.persisted(through: 1)
        #expect(Self.replicationDestinations(released).sorted() == [2, 3])
        #expect(released.records.isEmpty && released.persistBatch == nil)
        #expect(driver.heldOutputCount == 0 && driver.releaseAfterBatch == nil)
        #expect(driver.persisted(through: 1).isEmpty, "nothing is released twice")
    }

    @Test func aLaterSyncedBatchMovesTheReleasePointAndKeepsTheOrder() {
        var driver = Self.driver()
        let first = Self.keyMintedByNodeOne(driver)
        let second = Self.keyMintedByNodeOne(driver, after: 1)
        _ = driver.submit(Self.putRequest(1, first))
        let later = driver.submit(Self.putRequest(2, second))
        #expect(later.persistBatch == 2 && later.syncRequested && later.messages.isEmpty)
        #expect(driver.releaseAfterBatch == 2 && driver.heldOutputCount == 4)
        #expect(driver.persisted(through: 1).isEmpty, "the second batch's outputs may depend on the first's records and on their own")
        let released = driver.persisted(through: 2)
        let keys: [ObjectKey] = released.messages.compactMap {
            if case .replication(.replicate(let unit)) = $0.message { unit.key } else { nil }
        }
        #expect(keys == [first, first, second, second], "released in the order they were produced")
    }

    @Test func outputsWithoutASyncedRecordLeaveAtOnce() {
        var driver = Self.driver()
        let key = Self.keyMintedByNodeOne(driver)
        _ = driver.submit(Self.putRequest(1, key))
        _ = driver.persisted(through: 1)
        let read = driver.submit(ClientRequest(id: ClientRequestID(2), operation: .get(key)))
        #expect(read.records.isEmpty && read.persistBatch == nil && !read.syncRequested)
        #expect(Self.replicationDestinations(read).sorted() == [2, 3], "the read asks the other replicas now")
        #expect(driver.heldOutputCount == 0)
    }

    /// Nothing of SWIM is persisted, so its pings leave while replication
    /// output waits; the replication core's own timers (the write's timeout
    /// response) stay held behind the batch.
    @Test func membershipMessagesNeverWaitForTheDisk() {
        var driver = Self.driver()
        _ = driver.submit(Self.putRequest(1, Self.keyMintedByNodeOne(driver)))
        var membershipMessages = 0
        for _ in 0..<60 {
            let output = driver.tick()
            #expect(Self.replicationDestinations(output).isEmpty && output.responses.isEmpty)
            membershipMessages += output.messages.count
        }
        #expect(membershipMessages > 0)
        #expect(driver.releaseAfterBatch == 1)
        let released = driver.persisted(through: driver.lastBatch)
        #expect(released.responses.map(\.id) == [ClientRequestID(1)], "the write timed out meanwhile; its answer waited too")
        #expect(released.responses.first?.failure == .timeout(replies: 1, required: 2))
    }

    /// The negative control's hook: the sync is still asked for, but the
    /// outputs leave with the records.
    @Test func theInjectedBugReleasesBeforeTheSync() {
        var driver = Self.driver(injectedBug: .outputsBeforeDurable)
        let submitted = driver.submit(Self.putRequest(1, Self.keyMintedByNodeOne(driver)))
        #expect(submitted.syncRequested && submitted.persistBatch == 1)
        #expect(Self.replicationDestinations(submitted).sorted() == [2, 3] && driver.heldOutputCount == 0)
    }

    @Test func defineAddsAKeyspaceOnceAndRefusesAnotherConfiguration() throws {
        var driver = Self.driver()
        var late = KeyspaceConfiguration(id: KeyspaceID(naming: "late"), mode: .causal)
        late.writeQuorum = 1
        try driver.define(late)
        try driver.define(late)
        #expect(driver.replication.configuration.keyspaces.map(\.id) == [keyspace0, late.id])
        var changed = late
        changed.writeQuorum = 2
        #expect(throws: ConfigurationError.self) { try driver.define(changed) }
        var tooWide = KeyspaceConfiguration(id: KeyspaceID(9))
        tooWide.replicationFactor = 5
        #expect(throws: ConfigurationError.self) { try driver.define(tooWide) }
        #expect(driver.replication.configuration.keyspaces.count == 2)
    }

    /// The regression for the bug the simulator's late catalog found: a
    /// keyspace defined after start was left out of the Merkle trees a node
    /// shares with each peer, so a replica that dropped a write while it did
    /// not know the keyspace was never repaired by anti-entropy.
    @Test func aKeyspaceDefinedLateIsRepairedByAntiEntropy() throws {
        var late = KeyspaceConfiguration(id: KeyspaceID(1))
        late.readQuorum = 1
        late.writeQuorum = 2
        let cluster = SimulatedCluster(
            members: Self.members, keyspaces: [KeyspaceConfiguration(id: keyspace0), late], seed: 3, failureDetection: false)
        var withoutLate = cluster.configurationTemplate
        withoutLate.myself = 3
        withoutLate.keyspaces = [KeyspaceConfiguration(id: keyspace0)]
        cluster.nodes[3]!.replication = try ReplicationNode(configuration: withoutLate)
        let key = ObjectKey(keyspace: late.id, kind: .versioned, "late-key")
        let written = try #require(cluster.perform(put("one", key: key), at: 1)?.write)
        #expect(written.acknowledgements == 2)
        cluster.run(ticks: 5)
        #expect(cluster.replica(3).store.value(of: key) == nil, "node 3 did not know the keyspace: it dropped the write")
        try cluster.nodes[3]!.replication.define(late)
        cluster.run(ticks: 10 * Int(cluster.configurationTemplate.antiEntropyIntervalTicks))
        #expect(cluster.replica(3).store.value(of: key)?.siblingValues == [Array("one".utf8)])
    }
}
