import ChorusClocks
import ChorusCore

/// A coordinator's request, unique across the cluster: the coordinator's
/// node names it, and its boot count (durable) and a sequence number make it
/// unique across that coordinator's restarts, so a late reply to a request
/// from before a crash never counts for a new one.
///
/// The coordinator is part of the identifier because a replica remembers the
/// mints it has made by request (`ReplicationNode.rememberedMints`, which makes
/// a duplicated or retried mint idempotent). Without it, two coordinators at
/// the same boot and sequence (every node's first request after a fresh start
/// is boot 1, sequence 1) would collide there: the second write would be
/// answered with the first one's dot, acknowledged, and never applied, a lost
/// acknowledged write (found by `chorus simulate leaderless`).
public struct RequestID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var coordinator: NodeID
    public var boot: UInt64
    public var sequence: UInt64
    public init(coordinator: NodeID, boot: UInt64, sequence: UInt64) {
        self.coordinator = coordinator
        self.boot = boot
        self.sequence = sequence
    }
    public static func < (lhs: RequestID, rhs: RequestID) -> Bool {
        (lhs.coordinator, lhs.boot, lhs.sequence) < (rhs.coordinator, rhs.boot, rhs.sequence)
    }
    public var description: String { "req\(coordinator.rawValue).\(boot).\(sequence)" }
}

/// Where a write goes: a primary, or a fallback holding it for `hintFor`.
public struct WriteTarget: Hashable, Sendable {
    public var node: NodeID
    public var hintFor: NodeID?
    public init(node: NodeID, hintFor: NodeID?) {
        self.node = node
        self.hintFor = hintFor
    }
}

/// How a versioned write names what it supersedes.
public enum WriteContext: Hashable, Sendable {
    /// The version vector the client read (Riak's causal context): the write
    /// supersedes exactly those siblings.
    case client(VersionVector)
    /// Everything the coordinating replica holds: a blind overwrite that
    /// still keeps writes concurrent with it as siblings (Redis `SET`).
    case observedAtCoordinatingReplica
}

/// A write, as the coordinating replica applies it.
public enum WriteOperation: Equatable, Sendable {
    case put(value: [UInt8], context: WriteContext, timestamp: HybridTimestamp)
    case delete(context: WriteContext, timestamp: HybridTimestamp)
    case update(CRDTOperation)
}

/// Asks a primary to coordinate a write: mint its dot, store it durably,
/// and send it to `targets`.
public struct MintRequest: Equatable, Sendable {
    public var request: RequestID
    public var key: ObjectKey
    public var operation: WriteOperation
    public var targets: [WriteTarget]
    public var requireDurable: Bool
    /// The session's dependencies (causal keyspaces).
    public var dependencies: VersionVector
    public var returnValue: Bool

    public init(request: RequestID, key: ObjectKey, operation: WriteOperation, targets: [WriteTarget], requireDurable: Bool, dependencies: VersionVector, returnValue: Bool) {
        self.request = request
        self.key = key
        self.operation = operation
        self.targets = targets
        self.requireDurable = requireDurable
        self.dependencies = dependencies
        self.returnValue = returnValue
    }
}

/// A causal write's identity and causes, carried with its value.
public struct CausalTag: Hashable, Sendable {
    public var origin: NodeID
    public var sequence: UInt64
    public var dependencies: VersionVector

    public init(origin: NodeID, sequence: UInt64, dependencies: VersionVector) {
        self.origin = origin
        self.sequence = sequence
        self.dependencies = dependencies
    }
}

/// A value for a replica to store: from the coordinating replica (with the
/// request to acknowledge), or an origin's retransmission of a causal write.
public struct Replication: Equatable, Sendable {
    public var request: RequestID?
    public var coordinator: NodeID?
    public var key: ObjectKey
    public var value: ReplicatedValue
    public var hintFor: NodeID?
    public var requireDurable: Bool
    public var causal: CausalTag?

    public init(request: RequestID?, coordinator: NodeID?, key: ObjectKey, value: ReplicatedValue, hintFor: NodeID?, requireDurable: Bool, causal: CausalTag?) {
        self.request = request
        self.coordinator = coordinator
        self.key = key
        self.value = value
        self.hintFor = hintFor
        self.requireDurable = requireDurable
        self.causal = causal
    }
}

/// What the coordinating replica reports back about a minted write.
public struct MintResult: Equatable, Sendable {
    /// The versioned write's dot.
    public var dot: Dot?
    /// The value after the write at the coordinating replica, if asked for
    /// (always for versioned writes: the "return body" of Riak).
    public var value: ReplicatedValue?
    /// The causal stamp (origin, sequence) of a causal write.
    public var causalSequence: UInt64?
    /// What a causal write depends on (its causal tag's dependencies): the
    /// writer's session and everything the carried object holds. The
    /// writer's session inherits them. Empty unless `causalSequence` is set.
    public var causalDependencies: VersionVector
    /// Whether this answers a repeated mint request (a duplicate, or a retry
    /// after the first answer was lost): the write was applied once, earlier,
    /// and `value` is the replica's value now, which later writes that saw
    /// this one may have superseded it in (found by `chorus simulate
    /// leaderless`, seed 2001693: an assignment acknowledged with a value
    /// that a later assignment had already replaced).
    public var answeredAgain: Bool

    public init(
        dot: Dot?, value: ReplicatedValue?, causalSequence: UInt64?, causalDependencies: VersionVector = VersionVector(),
        answeredAgain: Bool = false
    ) {
        precondition(causalSequence != nil || causalDependencies.isEmpty, "only a causal write has causal dependencies")
        self.dot = dot
        self.value = value
        self.causalSequence = causalSequence
        self.causalDependencies = causalDependencies
        self.answeredAgain = answeredAgain
    }
}

/// Every message of leaderless replication between nodes.
public enum ReplicationMessage: Equatable, Sendable {
    case mint(MintRequest)
    case mintRefused(request: RequestID, reason: OperationError)
    case replicate(Replication)
    case writeAcknowledged(request: RequestID, durable: Bool, primary: Bool, minted: MintResult?)
    /// A read; a causal read carries the session's dependencies and is
    /// answered only once the replica's frontier covers them.
    case read(request: RequestID, key: ObjectKey, dependencies: VersionVector?)
    case readReply(request: RequestID, value: ReplicatedValue?, primary: Bool, dependencies: VersionVector)
    case repair(key: ObjectKey, value: ReplicatedValue, hintFor: NodeID?, dependencies: VersionVector)
    case hintDelivery(hint: HintID, version: UInt64, key: ObjectKey, value: ReplicatedValue)
    case hintAcknowledged(hint: HintID, version: UInt64)
    /// "I stored your causal write `sequence`."
    case causalAcknowledged(sequence: UInt64)
    /// "You hold every causal write of mine for you up to `attested`; my own
    /// frontier is `frontier`."
    case causalFrontier(attested: UInt64, frontier: VersionVector)
    /// Every primary holds only this tombstone: collect it.
    case collectTombstone(key: ObjectKey, dot: Dot)
    case antiEntropy(AntiEntropyMessage)
}
