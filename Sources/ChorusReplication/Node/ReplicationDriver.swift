import ChorusCore

/// One node's leaderless replication as its runtime drives it: the
/// replication core, its SWIM failure detector, and the outputs that may not
/// leave yet. The node (`ChorusNode`'s leaderless runtime) and the simulator
/// drive this same value, so the ordering rule below is written once.
///
/// **The rule** (`ReplicationEffects`' contract): records are persisted in
/// order, and a message or response produced together with (or after) a
/// record that must be synced leaves only once that record is durable. The
/// driver numbers every batch of records it asks the runtime to persist; the
/// runtime reports `persisted(through:)` when a batch and every earlier one
/// are durable, and the driver then releases what waited. A runtime whose
/// log syncs every record (the node's write-ahead log) reports each batch's
/// completion; one that syncs on demand (the simulator's disk) syncs when
/// `Output.syncRequested` and reports the latest batch it covered.
///
///     input ─▶ core ─▶ effects ─▶ persist batch n ─────────────▶ runtime's log
///                         │        messages, responses: held while a
///                         │        synced batch is not durable, else out
///     persisted(through: n) ─▶ everything held behind batches ≤ n is released
///
/// SWIM's messages never wait (nothing of SWIM is persisted), and each change
/// of its view is fed to the core (`reachable` = alive: a suspect is routed
/// around until it refutes).
public struct ReplicationDriver: Sendable {
    /// What the runtime must do after an input, in this order: persist, then send and respond.
    public struct Output: Sendable {
        /// Records to append to the log, as batch `persistBatch` (nil: none).
        public var records: [[UInt8]] = []
        public var persistBatch: UInt64?
        /// Some released or held output waits for `persistBatch` to be durable:
        /// a runtime that syncs on demand must sync (the node's log always does).
        public var syncRequested = false
        public var messages: [(to: NodeID, message: LeaderlessPeerMessage)] = []
        public var responses: [ClientResponse] = []

        public init() {}

        public var isEmpty: Bool { records.isEmpty && messages.isEmpty && responses.isEmpty }
    }

    public private(set) var replication: ReplicationNode
    public private(set) var membership: SwimMembership
    /// The latest batch number handed out.
    public private(set) var lastBatch: UInt64 = 0
    /// The batch that must be durable before the held outputs leave.
    public private(set) var releaseAfterBatch: UInt64?
    var heldMessages: [(to: NodeID, message: LeaderlessPeerMessage)] = []
    var heldResponses: [ClientResponse] = []

    public init(replication: ReplicationNode, membership: SwimMembership) {
        self.replication = replication
        self.membership = membership
    }

    /// Outputs waiting for a batch to be durable.
    public var heldOutputCount: Int { heldMessages.count + heldResponses.count }

    // MARK: Inputs

    public mutating func tick() -> Output {
        var output = carryOut(membership.tick())
        output.append(carryOut(replication.tick()))
        return output
    }

    public mutating func submit(_ request: ClientRequest) -> Output { carryOut(replication.submit(request)) }

    public mutating func receive(_ message: LeaderlessPeerMessage, from sender: NodeID) -> Output {
        switch message {
        case .membership(let swim): carryOut(membership.receive(swim, from: sender))
        case .replication(let replicationMessage): carryOut(replication.receive(replicationMessage, from: sender))
        }
    }

    /// Adds or updates a keyspace (the cluster's catalog learned of it).
    public mutating func define(_ keyspace: KeyspaceConfiguration) throws(ConfigurationError) {
        try replication.define(keyspace)
    }

    /// Every batch up to `batch` is durable: releases what waited for them.
    public mutating func persisted(through batch: UInt64) -> Output {
        var output = Output()
        guard let waitingFor = releaseAfterBatch, batch >= waitingFor else { return output }
        releaseAfterBatch = nil
        output.messages = heldMessages
        output.responses = heldResponses
        heldMessages = []
        heldResponses = []
        return output
    }

    // MARK: Carrying out

    mutating func carryOut(_ effects: SwimEffects) -> Output {
        var output = Output()
        output.messages = effects.messages.map { ($0.to, .membership($0.message)) }
        for change in effects.changes {
            output.append(carryOut(replication.updateReachability(change.member, reachable: change.status == .alive)))
        }
        return output
    }

    mutating func carryOut(_ effects: ReplicationEffects) -> Output {
        var output = Output()
        if !effects.persist.isEmpty {
            lastBatch += 1
            output.records = effects.persist.map(\.bytes)
            output.persistBatch = lastBatch
            if effects.requiresSync {
                if replication.configuration.injectedBug == .outputsBeforeDurable {
                    // The bug: the sync is asked for, but nothing waits for it.
                    output.syncRequested = true
                } else {
                    releaseAfterBatch = lastBatch
                }
            }
        }
        let messages = effects.messages.map { ($0.to, LeaderlessPeerMessage.replication($0.message)) }
        if releaseAfterBatch != nil {
            heldMessages += messages
            heldResponses += effects.responses
            output.syncRequested = true
        } else {
            output.messages = messages
            output.responses = effects.responses
        }
        return output
    }
}

extension ReplicationDriver.Output {
    /// Appends a later output of the same input: its records join this batch
    /// (the later batch number covers both), its messages follow.
    mutating func append(_ other: ReplicationDriver.Output) {
        if !other.records.isEmpty {
            records += other.records
            persistBatch = other.persistBatch
        }
        syncRequested = syncRequested || other.syncRequested
        messages += other.messages
        responses += other.responses
    }
}
