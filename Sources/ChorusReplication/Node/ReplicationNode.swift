import ChorusClocks
import ChorusCore

/// Why a node could not start from its durable log.
public enum ReplicationStartError: Error, Equatable, Sendable {
    case configuration(ConfigurationError)
    case corruptRecord(index: Int, BinaryDecodingError)
}

/// One node of a leaderless keyspace cluster, as a sans-IO value: the
/// replica of the keys the ring gives it, the coordinator of any request a
/// client sends it, a fallback for unreachable peers (hints), one side of
/// anti-entropy exchanges, and, for causal keyspaces, an origin of causal
/// writes and a replica that delays their visibility.
///
/// Inputs: `submit` (client requests), `receive` (peer messages), `tick`
/// (time) and `updateReachability` (the failure detector's view, from
/// `SwimMembership`). Each returns `ReplicationEffects`, whose contract
/// (persist, then send) is what makes acknowledgements mean what they say.
///
/// A write's path (Riak's coordinating vnode, DVV variant):
///
///     client ─▶ coordinator C ── mint ──▶ coordinating replica P (first reachable primary)
///                                          mints the dot, persists (fsync), then
///               C ◀── ack (with result) ── P ── replicate ──▶ other targets
///               C ◀──────────── ack (durable if fsynced) ───── targets
///     C answers after W acks (pw from primaries, dw durable)
///
/// Only primaries coordinate writes: a fallback never mints, so every dot of
/// a key comes from a replica that keeps the key for good, and a dot is never
/// reused (the node keeps one counter across keys, and a mint is durable
/// before anything derived from it leaves).
public struct ReplicationNode: Sendable {
    public internal(set) var configuration: ReplicationConfiguration
    public let ring: HashRing
    public var myself: NodeID { configuration.myself }
    public internal(set) var store: ReplicaStore
    public internal(set) var hints: HintStore
    public internal(set) var metrics = ReplicationMetrics()
    public internal(set) var now: UInt64

    var boot: UInt64
    var bootRecordPending = true
    var requestSequence: UInt64 = 0
    /// The node-global minting counter: dot counters and causal sequences.
    public internal(set) var counter: UInt64 = 0
    var unreachable: Set<NodeID> = []
    var pendingWrites: [RequestID: PendingWrite] = [:]
    var pendingReads: [RequestID: PendingRead] = [:]

    var originLog: OriginLog
    /// For each origin, the sequence up to which this node holds every
    /// causal write of that origin destined to it.
    public internal(set) var frontier = VersionVector()
    var peerFrontiers: [NodeID: VersionVector] = [:]
    var parkedReads: [ParkedRead] = []
    /// Causal mints waiting until this node holds the writes their session
    /// depends on (`handleMint`), oldest first.
    var parkedMints: [ParkedMint] = []

    var nextHintDeliveryTick: UInt64
    var nextAntiEntropyTick: UInt64
    var nextFrontierTick: UInt64
    var antiEntropyPeerIndex = 0
    var exchangeSequence: UInt64 = 0
    var exchangeStartTicks: [UInt64: UInt64] = [:]
    var inbox: [(from: NodeID, message: ReplicationMessage)] = []
    var sharedTreesByPeer: [NodeID: [TreeID]] = [:]
    var sharedTreeSetsByPeer: [NodeID: Set<TreeID>] = [:]
    var rememberedMints: [RequestID: MintResult] = [:]
    var rememberedMintOrder: [RequestID] = []

    struct PendingWrite: Sendable {
        var client: ClientRequestID
        var key: ObjectKey
        var quorum: ResolvedQuorum
        var deadline: UInt64
        var acknowledged: Set<NodeID> = []
        var durable: Set<NodeID> = []
        var primaries: Set<NodeID> = []
        var minted: MintResult?
        var minter: NodeID
        var session: LeaderlessSessionState?
    }

    struct PendingRead: Sendable {
        var client: ClientRequestID
        var key: ObjectKey
        var quorum: ResolvedQuorum
        var deadline: UInt64
        var targets: [WriteTarget]
        var replies: [NodeID: (value: ReplicatedValue?, primary: Bool, dependencies: VersionVector)] = [:]
        var responded = false
        var session: LeaderlessSessionState?
    }

    struct ParkedRead: Sendable {
        var request: RequestID
        var coordinator: NodeID
        var key: ObjectKey
        var dependencies: VersionVector
        var deadline: UInt64
    }

    struct ParkedMint: Sendable {
        var request: MintRequest
        var coordinator: NodeID
        var deadline: UInt64
    }

    struct ResolvedQuorum: Sendable {
        var replicas: Int
        var read: Int
        var write: Int
        var primaryRead: Int
        var primaryWrite: Int
        var durableWrite: Int
        var timeoutTicks: UInt64
    }

    /// Starts a node from its durable log (`records`, oldest first, each a
    /// `PersistEffect.bytes`; empty for a new node). `now` is the runtime's
    /// tick count, used to age hints.
    public init(configuration: ReplicationConfiguration, recovering records: [[UInt8]] = [], now: UInt64 = 0) throws(ReplicationStartError) {
        do { try configuration.validate() } catch { throw .configuration(error) }
        self.configuration = configuration
        ring = HashRing(members: configuration.members, virtualNodesPerMember: configuration.virtualNodesPerMember)
        store = ReplicaStore(ring: ring, merkleBranching: configuration.merkleBranching, merkleDepth: configuration.merkleDepth)
        hints = HintStore(
            maximumCount: configuration.maximumHintCount, maximumBytes: configuration.maximumHintBytes,
            maximumAgeTicks: configuration.maximumHintAgeTicks)
        originLog = OriginLog(maximumCount: configuration.maximumOriginLogCount)
        self.now = now
        boot = 0
        nextHintDeliveryTick = now + configuration.hintDeliveryIntervalTicks
        nextAntiEntropyTick = now + configuration.antiEntropyIntervalTicks
        nextFrontierTick = now + configuration.causalFrontierIntervalTicks
        var decoded: [DurableRecord] = []
        decoded.reserveCapacity(records.count)
        for (index, bytes) in records.enumerated() {
            do { decoded.append(try DurableRecord(decodingAll: bytes)) } catch { throw .corruptRecord(index: index, error) }
        }
        sharedTreesByPeer = Self.computeSharedTrees(ring: ring, configuration: configuration)
        sharedTreeSetsByPeer = sharedTreesByPeer.mapValues(Set.init)
        recover(from: decoded)
        boot += 1
        refreshGauges()
    }

    func keyspace(of key: ObjectKey) -> KeyspaceConfiguration? { configuration.keyspace(key.keyspace) }

    func isCausal(_ key: ObjectKey) -> Bool { keyspace(of: key)?.mode == .causal }

    public func isReachable(_ node: NodeID) -> Bool { node == myself || !unreachable.contains(node) }

    /// The primaries of `key` for its keyspace's replication factor.
    public func primaries(of key: ObjectKey) -> [NodeID] {
        ring.preferenceList(forPosition: key.ringPosition, count: keyspace(of: key)?.replicationFactor ?? 1)
    }

    /// The pointwise minimum of every member's causal frontier: every
    /// replica holds every causal write it covers (causal stability).
    public var stableFrontier: VersionVector {
        var result = frontier
        for member in configuration.members where member != myself {
            let theirs = peerFrontiers[member] ?? VersionVector()
            result = VersionVector(result.entries.map { ($0.replica, Swift.min($0.counter, theirs[$0.replica])) })
        }
        return result
    }

    /// Adds a keyspace the cluster created after this node started (its
    /// catalog is replicated elsewhere, in the Raft log). Defining one again
    /// with the same configuration does nothing; another configuration for
    /// the same identifier is refused, since N decides placement and a
    /// changed mode would change what recovery makes visible.
    public mutating func define(_ keyspace: KeyspaceConfiguration) throws(ConfigurationError) {
        if let existing = configuration.keyspace(keyspace.id) {
            guard existing == keyspace else { throw .invalid("keyspace \(keyspace.id) is defined with another configuration") }
            return
        }
        try keyspace.validate(memberCount: Set(configuration.members).count)
        configuration.keyspaces.append(keyspace)
        // Anti-entropy exchanges only the trees both ends share: without
        // the new keyspace's, a replica that dropped its writes while it did
        // not know it would never be repaired (found by the simulator's late
        // catalog, and on real nodes by LeaderlessNodeTests).
        sharedTreesByPeer = Self.computeSharedTrees(ring: ring, configuration: configuration)
        sharedTreeSetsByPeer = sharedTreesByPeer.mapValues(Set.init)
    }

    // MARK: Inputs

    /// The failure detector's view changed: `node` is (un)reachable.
    public mutating func updateReachability(_ node: NodeID, reachable: Bool) -> ReplicationEffects {
        var effects = beginEffects()
        guard node != myself, configuration.members.contains(node) else { return finish(&effects) }
        if reachable {
            if unreachable.remove(node) != nil { deliverHints(to: node, into: &effects) }
        } else {
            unreachable.insert(node)
        }
        return finish(&effects)
    }

    public mutating func receive(_ message: ReplicationMessage, from sender: NodeID) -> ReplicationEffects {
        var effects = beginEffects()
        guard configuration.members.contains(sender) else { return finish(&effects) }
        handle(message, from: sender, into: &effects)
        return finish(&effects)
    }

    public mutating func tick() -> ReplicationEffects {
        var effects = beginEffects()
        now += 1
        expireRequests(into: &effects)
        if now >= nextHintDeliveryTick {
            nextHintDeliveryTick = now + configuration.hintDeliveryIntervalTicks
            expireHints(into: &effects)
            for member in configuration.members.sorted() where member != myself && isReachable(member) {
                deliverHints(to: member, into: &effects)
            }
        }
        if now >= nextFrontierTick && configuration.keyspaces.contains(where: { $0.mode == .causal }) {
            nextFrontierTick = now + configuration.causalFrontierIntervalTicks
            sendFrontiers(into: &effects)
        }
        if now >= nextAntiEntropyTick {
            nextAntiEntropyTick = now + configuration.antiEntropyIntervalTicks
            startAntiEntropy(into: &effects)
        }
        return finish(&effects)
    }

    // MARK: Effects plumbing

    mutating func beginEffects() -> ReplicationEffects {
        var effects = ReplicationEffects()
        if bootRecordPending {
            bootRecordPending = false
            persist(.boot(boot), sync: true, into: &effects)
        }
        return effects
    }

    func persist(_ record: DurableRecord, sync: Bool, into effects: inout ReplicationEffects) {
        effects.persist.append(PersistEffect(bytes: record.encodedBytes, requiresSync: sync))
    }

    mutating func send(_ message: ReplicationMessage, to node: NodeID, into effects: inout ReplicationEffects) {
        if case .antiEntropy = message { metrics.antiEntropyBytesSent += ReplicationWire.encodedSize(message) }
        if node == myself {
            inbox.append((myself, message))
        } else {
            effects.messages.append((node, message))
        }
    }

    /// Handles messages this node sent itself, then computes the next deadline.
    mutating func finish(_ effects: inout ReplicationEffects) -> ReplicationEffects {
        var handled = 0
        while !inbox.isEmpty {
            let (sender, message) = inbox.removeFirst()
            handle(message, from: sender, into: &effects)
            handled += 1
            precondition(handled < 1_000_000, "a node keeps messaging itself")
        }
        refreshGauges()
        var deadline = Swift.min(nextHintDeliveryTick, nextAntiEntropyTick)
        if configuration.keyspaces.contains(where: { $0.mode == .causal }) { deadline = Swift.min(deadline, nextFrontierTick) }
        for write in pendingWrites.values { deadline = Swift.min(deadline, write.deadline) }
        for read in pendingReads.values { deadline = Swift.min(deadline, read.deadline) }
        for parked in parkedReads { deadline = Swift.min(deadline, parked.deadline) }
        for parked in parkedMints { deadline = Swift.min(deadline, parked.deadline) }
        effects.nextDeadlineTick = deadline
        return effects
    }

    mutating func refreshGauges() {
        metrics.hintsPending = hints.count
        metrics.causalPendingUnits = store.pendingUnitCount
        metrics.causalReadsParked = parkedReads.count
        metrics.causalMintsParked = parkedMints.count
        metrics.originLogCount = originLog.entries.count
    }

    mutating func handle(_ message: ReplicationMessage, from sender: NodeID, into effects: inout ReplicationEffects) {
        switch message {
        case .mint(let request): handleMint(request, from: sender, into: &effects)
        case .mintRefused(let request, let reason): handleMintRefused(request, reason: reason, into: &effects)
        case .replicate(let replication): handleReplicate(replication, from: sender, into: &effects)
        case .writeAcknowledged(let request, let durable, let primary, let minted):
            handleWriteAcknowledged(request, from: sender, durable: durable, primary: primary, minted: minted, into: &effects)
        case .read(let request, let key, let dependencies):
            handleRead(request, key: key, dependencies: dependencies, from: sender, into: &effects)
        case .readReply(let request, let value, let primary, let dependencies):
            handleReadReply(request, from: sender, value: value, primary: primary, dependencies: dependencies, into: &effects)
        case .repair(let key, let value, let hintFor, let dependencies):
            handleRepair(key, value: value, hintFor: hintFor, dependencies: dependencies, into: &effects)
        case .hintDelivery(let hint, let version, let key, let value):
            handleHintDelivery(hint, version: version, key: key, value: value, from: sender, into: &effects)
        case .hintAcknowledged(let hint, let version): handleHintAcknowledged(hint, version: version, into: &effects)
        case .causalAcknowledged(let sequence): handleCausalAcknowledged(sequence, from: sender, into: &effects)
        case .causalFrontier(let attested, let theirs):
            handleCausalFrontier(attested: attested, frontier: theirs, from: sender, into: &effects)
        case .collectTombstone(let key, let dot): handleCollectTombstone(key, dot: dot, into: &effects)
        case .antiEntropy(let antiEntropy): handleAntiEntropy(antiEntropy, from: sender, into: &effects)
        }
    }
}
