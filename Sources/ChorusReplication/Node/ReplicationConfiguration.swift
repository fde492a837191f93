import ChorusCore

/// How a keyspace replicates. `causal` adds delayed visibility and session
/// dependencies on top of `eventual` (see `LeaderlessSessionState`).
public enum ReplicationMode: UInt8, Hashable, Sendable {
    case eventual = 0
    case causal = 1
}

/// A leaderless keyspace's replication factor and request defaults (Riak's
/// bucket properties; Dynamo's N, R, W).
///
///     1 ≤ readQuorum, writeQuorum ≤ replicationFactor
///     primaryReadQuorum ≤ readQuorum,  primaryWriteQuorum, durableWriteQuorum ≤ writeQuorum
public struct KeyspaceConfiguration: Hashable, Sendable {
    public var id: KeyspaceID
    public var mode: ReplicationMode
    /// N: replicas of every key.
    public var replicationFactor: Int = 3
    public var readQuorum: Int = 2
    public var writeQuorum: Int = 2
    /// pr: replies that must come from primaries (not fallbacks).
    public var primaryReadQuorum: Int = 0
    /// pw: acknowledgements that must come from primaries.
    public var primaryWriteQuorum: Int = 0
    /// dw: acknowledgements from replicas that made the write durable first.
    public var durableWriteQuorum: Int = 0
    /// Whether writes and reads meant for an unreachable primary go to the
    /// next node on the ring, with a hint (Dynamo §4.6). Causal keyspaces
    /// never do: their coordinating replica retransmits until every primary
    /// has the write, which is what their frontier needs.
    public var sloppyQuorum: Bool = true

    public init(id: KeyspaceID, mode: ReplicationMode = .eventual) {
        self.id = id
        self.mode = mode
    }

    public func validate(memberCount: Int) throws(ConfigurationError) {
        guard replicationFactor >= 1, replicationFactor <= memberCount else {
            throw .invalid("keyspace \(id): replication factor \(replicationFactor) outside 1...\(memberCount)")
        }
        guard (1...replicationFactor).contains(readQuorum), (1...replicationFactor).contains(writeQuorum) else {
            throw .invalid("keyspace \(id): R and W must be in 1...N")
        }
        guard (0...readQuorum).contains(primaryReadQuorum), (0...writeQuorum).contains(primaryWriteQuorum),
            (0...writeQuorum).contains(durableWriteQuorum)
        else { throw .invalid("keyspace \(id): pr ≤ R, pw ≤ W and dw ≤ W") }
    }
}

/// Every limit and interval of one node's leaderless replication, in one
/// place, checked by `validate()` before the node starts. Time is in ticks.
public struct ReplicationConfiguration: Hashable, Sendable {
    public var myself: NodeID
    public var members: [NodeID]
    public var virtualNodesPerMember: Int = 64
    public var keyspaces: [KeyspaceConfiguration]

    /// A request not answered by then fails with `.timeout` (its write may
    /// still have happened: a timed-out write is indeterminate).
    public var requestTimeoutTicks: UInt64 = 20
    public var maximumPendingRequests: Int = 4096
    /// Mint requests remembered to answer duplicates without applying them
    /// twice (at-least-once delivery made exactly-once within this window).
    public var maximumRememberedMints: Int = 65_536

    /// Riak's defaults: warn past 25 siblings, refuse a write past 100.
    public var siblingWarningThreshold: Int = 25
    public var siblingLimit: Int = 100

    public var maximumHintCount: Int = 100_000
    public var maximumHintBytes: Int = 256 << 20
    public var maximumHintAgeTicks: UInt64 = 100_000
    public var hintDeliveryIntervalTicks: UInt64 = 5
    public var maximumHintsPerDelivery: Int = 256

    public var readRepairEnabled: Bool = true

    public var antiEntropyIntervalTicks: UInt64 = 50
    public var merkleBranching: Int = 16
    public var merkleDepth: Int = 2
    public var maximumAntiEntropyEntriesPerMessage: Int = 4096

    public var causalFrontierIntervalTicks: UInt64 = 5
    public var causalRetransmitAfterTicks: UInt64 = 10
    public var maximumCausalRetransmissionsPerTick: Int = 256
    public var maximumOriginLogCount: Int = 100_000
    public var maximumPendingUnits: Int = 100_000
    public var maximumParkedReads: Int = 1024

    /// A negative control (`InjectedBug.mintMemoryIgnoresCoordinator`, or
    /// `.outputsBeforeDurable` in `ReplicationDriver`); nil in every real configuration.
    public var injectedBug: InjectedBug? = nil

    public init(myself: NodeID, members: [NodeID], keyspaces: [KeyspaceConfiguration]) {
        self.myself = myself
        self.members = members
        self.keyspaces = keyspaces
    }

    public func keyspace(_ id: KeyspaceID) -> KeyspaceConfiguration? { keyspaces.first { $0.id == id } }

    public func validate() throws(ConfigurationError) {
        let distinct = Set(members)
        guard distinct.contains(myself), !distinct.contains(NodeID.none) else {
            throw .invalid("members must include this node and never node 0")
        }
        guard distinct.count <= ReplicationLimits.maximumReplicaCount, distinct.count <= HashRing.maximumMemberCount else {
            throw .invalid("too many members")
        }
        guard (1...HashRing.maximumVirtualNodesPerMember).contains(virtualNodesPerMember) else {
            throw .invalid("virtual nodes per member out of range")
        }
        guard Set(keyspaces.map(\.id)).count == keyspaces.count else { throw .invalid("keyspace identifiers repeat") }
        for keyspace in keyspaces { try keyspace.validate(memberCount: distinct.count) }
        guard requestTimeoutTicks >= 1, maximumPendingRequests >= 1, maximumRememberedMints >= maximumPendingRequests else { throw .invalid("request limits") }
        guard siblingWarningThreshold >= 1, siblingWarningThreshold <= siblingLimit,
            siblingLimit < ReplicationLimits.maximumDecodedSiblingCount
        else { throw .invalid("1 ≤ sibling warning threshold ≤ sibling limit < decoded sibling bound") }
        guard maximumHintCount >= 1, maximumHintBytes >= 1, maximumHintAgeTicks >= 1, hintDeliveryIntervalTicks >= 1,
            maximumHintsPerDelivery >= 1
        else { throw .invalid("hint limits must be positive") }
        guard antiEntropyIntervalTicks >= 1, (2...MerkleTree.maximumBranching).contains(merkleBranching), merkleDepth >= 1,
            (1...ReplicationLimits.maximumMessageEntryCount).contains(maximumAntiEntropyEntriesPerMessage)
        else { throw .invalid("anti-entropy limits") }
        var leaves = 1
        for _ in 0..<merkleDepth { leaves *= merkleBranching }
        guard leaves <= MerkleTree.maximumLeafCount else { throw .invalid("Merkle tree has too many leaves") }
        guard causalFrontierIntervalTicks >= 1, causalRetransmitAfterTicks >= 1, maximumCausalRetransmissionsPerTick >= 1,
            maximumOriginLogCount >= 1, maximumPendingUnits >= 1, maximumParkedReads >= 1
        else { throw .invalid("causal limits must be positive") }
    }
}
