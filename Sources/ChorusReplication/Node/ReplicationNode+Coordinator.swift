import ChorusClocks
import ChorusCore

extension ReplicationNode {
    /// Coordinates a client request (any node may).
    public mutating func submit(_ request: ClientRequest) -> ReplicationEffects {
        var effects = beginEffects()
        coordinate(request, into: &effects)
        return finish(&effects)
    }

    private mutating func fail(_ client: ClientRequestID, _ failure: RequestFailure, write: Bool, into effects: inout ReplicationEffects) {
        if write { metrics.writesFailed += 1 } else { metrics.readsFailed += 1 }
        effects.responses.append(ClientResponse(id: client, result: .failure(failure)))
    }

    private func resolve(_ options: RequestOptions, _ keyspace: KeyspaceConfiguration) -> Result<ResolvedQuorum, RequestFailure> {
        let replicas = keyspace.mode == .causal ? keyspace.replicationFactor : (options.replicas ?? keyspace.replicationFactor)
        let quorum = ResolvedQuorum(
            replicas: replicas, read: options.readQuorum ?? Swift.min(keyspace.readQuorum, replicas),
            write: options.writeQuorum ?? Swift.min(keyspace.writeQuorum, replicas),
            primaryRead: options.primaryReadQuorum ?? keyspace.primaryReadQuorum,
            primaryWrite: options.primaryWriteQuorum ?? keyspace.primaryWriteQuorum,
            durableWrite: options.durableWriteQuorum ?? keyspace.durableWriteQuorum,
            timeoutTicks: options.timeoutTicks ?? configuration.requestTimeoutTicks)
        guard (1...keyspace.replicationFactor).contains(quorum.replicas) else {
            return .failure(.invalidOptions("n must be in 1...\(keyspace.replicationFactor)"))
        }
        guard (1...quorum.replicas).contains(quorum.read), (1...quorum.replicas).contains(quorum.write) else {
            return .failure(.invalidOptions("r and w must be in 1...n"))
        }
        guard (0...quorum.read).contains(quorum.primaryRead), (0...quorum.write).contains(quorum.primaryWrite),
            (0...quorum.write).contains(quorum.durableWrite)
        else { return .failure(.invalidOptions("pr ≤ r, pw ≤ w, dw ≤ w")) }
        guard quorum.timeoutTicks >= 1 else { return .failure(.invalidOptions("timeout must be at least one tick")) }
        return .success(quorum)
    }

    /// Reachable primaries, and for each unreachable one the next reachable
    /// node on the ring, holding a hint (sloppy quorum, Dynamo §4.6).
    func targets(for key: ObjectKey, replicas: Int, sloppy: Bool) -> [WriteTarget] {
        let range = ring.range(containing: key.ringPosition)
        var fallbacks = ring.fallbacks(for: range, count: replicas).filter(isReachable)
        var targets: [WriteTarget] = []
        for primary in ring.preferenceList(for: range, count: replicas) {
            if isReachable(primary) {
                targets.append(WriteTarget(node: primary, hintFor: nil))
            } else if sloppy, !fallbacks.isEmpty {
                targets.append(WriteTarget(node: fallbacks.removeFirst(), hintFor: primary))
            }
        }
        return targets
    }

    private mutating func nextRequestID() -> RequestID {
        requestSequence += 1
        return RequestID(coordinator: myself, boot: boot, sequence: requestSequence)
    }

    private mutating func coordinate(_ request: ClientRequest, into effects: inout ReplicationEffects) {
        let key = request.operation.key
        let isWrite: Bool
        if case .get = request.operation { isWrite = false } else { isWrite = true }
        guard let keyspace = keyspace(of: key) else {
            return fail(request.id, .unknownKeyspace(key.keyspace), write: isWrite, into: &effects)
        }
        let quorum: ResolvedQuorum
        switch resolve(request.options, keyspace) {
        case .success(let resolved): quorum = resolved
        case .failure(let failure): return fail(request.id, failure, write: isWrite, into: &effects)
        }
        guard pendingWrites.count + pendingReads.count < configuration.maximumPendingRequests else {
            return fail(request.id, .overloaded, write: isWrite, into: &effects)
        }
        let operation: WriteOperation
        switch request.operation {
        case .get:
            return coordinateRead(request, key: key, keyspace: keyspace, quorum: quorum, into: &effects)
        case .put(_, let value, let context, let timestamp):
            guard key.kind == .versioned else {
                return fail(request.id, .refused(.wrongKind(key: key.kind, operation: .versioned)), write: true, into: &effects)
            }
            guard value.count <= ReplicationLimits.maximumValueBytes else {
                return fail(request.id, .invalidOptions("value larger than \(ReplicationLimits.maximumValueBytes) bytes"), write: true, into: &effects)
            }
            operation = .put(value: value, context: context, timestamp: timestamp)
        case .delete(_, let context, let timestamp):
            if key.kind == .versioned {
                operation = .delete(context: context, timestamp: timestamp)
            } else {
                operation = .update(CRDTOperation.removeAll(key.kind)!)
            }
        case .update(_, let crdt):
            guard crdt.kind == key.kind else {
                return fail(request.id, .refused(.wrongKind(key: key.kind, operation: crdt.kind)), write: true, into: &effects)
            }
            operation = .update(crdt)
        }
        let causal = keyspace.mode == .causal
        let reachableTargets = targets(for: key, replicas: quorum.replicas, sloppy: keyspace.sloppyQuorum && !causal)
        let reachablePrimaries = reachableTargets.filter { $0.hintFor == nil }.map(\.node)
        guard let minter = reachablePrimaries.contains(myself) ? myself : reachablePrimaries.first else {
            return fail(request.id, .unavailable(reachable: 0, required: 1), write: true, into: &effects)
        }
        guard reachableTargets.count >= quorum.write, reachablePrimaries.count >= quorum.primaryWrite,
            reachableTargets.count >= quorum.durableWrite
        else {
            return fail(
                request.id, .unavailable(reachable: reachableTargets.count, required: Swift.max(quorum.write, quorum.primaryWrite)),
                write: true, into: &effects)
        }
        // A causal write goes to every primary, reachable or not: the
        // coordinating replica retransmits until each has stored it.
        let sentTargets = causal ? primaries(of: key).map { WriteTarget(node: $0, hintFor: nil) } : reachableTargets
        let id = nextRequestID()
        pendingWrites[id] = PendingWrite(
            client: request.id, key: key, quorum: quorum, deadline: now + quorum.timeoutTicks, minter: minter,
            session: causal ? (request.options.session ?? LeaderlessSessionState()).restricted(to: configuration.members) : nil)
        let mint = MintRequest(
            request: id, key: key, operation: operation, targets: sentTargets,
            requireDurable: quorum.durableWrite > 0 || causal,
            dependencies: causal ? (request.options.session?.restricted(to: configuration.members).dependencies ?? VersionVector()) : VersionVector(),
            returnValue: request.options.returnValue || key.kind == .versioned)
        send(.mint(mint), to: minter, into: &effects)
    }

    private mutating func coordinateRead(
        _ request: ClientRequest, key: ObjectKey, keyspace: KeyspaceConfiguration, quorum: ResolvedQuorum,
        into effects: inout ReplicationEffects
    ) {
        let causal = keyspace.mode == .causal
        let targets = targets(for: key, replicas: quorum.replicas, sloppy: keyspace.sloppyQuorum && !causal)
        let primaryCount = targets.filter { $0.hintFor == nil }.count
        guard targets.count >= quorum.read, primaryCount >= quorum.primaryRead else {
            return fail(
                request.id, .unavailable(reachable: targets.count, required: Swift.max(quorum.read, quorum.primaryRead)),
                write: false, into: &effects)
        }
        let id = nextRequestID()
        let session = causal ? (request.options.session ?? LeaderlessSessionState()).restricted(to: configuration.members) : nil
        pendingReads[id] = PendingRead(
            client: request.id, key: key, quorum: quorum, deadline: now + quorum.timeoutTicks, targets: targets, session: session)
        for target in targets {
            send(.read(request: id, key: key, dependencies: session?.dependencies), to: target.node, into: &effects)
        }
    }

    // MARK: Replies

    mutating func handleMintRefused(_ request: RequestID, reason: OperationError, into effects: inout ReplicationEffects) {
        guard let pending = pendingWrites.removeValue(forKey: request) else { return }
        if case .tooManySiblings = reason { metrics.siblingLimitRefusals += 1 }
        fail(pending.client, .refused(reason), write: true, into: &effects)
    }

    mutating func handleWriteAcknowledged(
        _ request: RequestID, from sender: NodeID, durable: Bool, primary: Bool, minted: MintResult?,
        into effects: inout ReplicationEffects
    ) {
        guard var pending = pendingWrites[request] else { return }
        pending.acknowledged.insert(sender)
        if durable { pending.durable.insert(sender) }
        if primary { pending.primaries.insert(sender) }
        if let minted, sender == pending.minter, pending.minted == nil { pending.minted = minted }
        guard let minted = pending.minted, pending.acknowledged.count >= pending.quorum.write,
            pending.durable.count >= pending.quorum.durableWrite, pending.primaries.count >= pending.quorum.primaryWrite
        else {
            pendingWrites[request] = pending
            return
        }
        pendingWrites[request] = nil
        var session = pending.session
        if let sequence = minted.causalSequence {
            var written = minted.causalDependencies
            let minter = ReplicaID(pending.minter.rawValue)
            written[minter] = Swift.max(written[minter], sequence)
            session?.observe(written, members: configuration.members)
        }
        metrics.writesSucceeded += 1
        effects.responses.append(ClientResponse(id: pending.client, result: .success(.write(WriteReply(
            key: pending.key, acknowledgements: pending.acknowledged.count, durableAcknowledgements: pending.durable.count,
            primaryAcknowledgements: pending.primaries.count, minted: minted, session: session)))))
    }

    mutating func handleReadReply(
        _ request: RequestID, from sender: NodeID, value: ReplicatedValue?, primary: Bool, dependencies: VersionVector,
        into effects: inout ReplicationEffects
    ) {
        guard var pending = pendingReads[request], pending.targets.contains(where: { $0.node == sender }) else { return }
        if let value, value.kind != pending.key.kind { return }
        pending.replies[sender] = (value, primary, dependencies)
        let primaryReplies = pending.replies.values.filter(\.primary).count
        if !pending.responded && pending.replies.count >= pending.quorum.read && primaryReplies >= pending.quorum.primaryRead {
            pending.responded = true
            let (merged, summary) = Self.merge(pending.replies.values.map { ($0.value, $0.dependencies) })
            var session = pending.session
            session?.observe(summary, members: configuration.members)
            metrics.readsSucceeded += 1
            effects.responses.append(ClientResponse(id: pending.client, result: .success(.read(ReadReply(
                key: pending.key, value: merged, context: merged?.versionedContext ?? VersionVector(),
                replies: pending.replies.count, session: session)))))
        }
        if pending.replies.count == pending.targets.count {
            pendingReads[request] = nil
            finishRead(pending, into: &effects)
        } else {
            pendingReads[request] = pending
        }
    }

    static func merge(_ replies: [(ReplicatedValue?, VersionVector)]) -> (ReplicatedValue?, VersionVector) {
        var merged: ReplicatedValue? = nil
        var summary = VersionVector()
        for (value, dependencies) in replies {
            summary.merge(dependencies)
            guard let value else { continue }
            if merged == nil { merged = value } else { merged!.merge(value) }
        }
        return (merged, summary)
    }

    /// Read repair (Dynamo §4.5; Riak): every replier whose value differs
    /// from the merge gets the merge. And when every primary holds one and
    /// the same tombstone and nothing else, the tombstone is collected.
    private mutating func finishRead(_ pending: PendingRead, into effects: inout ReplicationEffects) {
        let (merged, summary) = Self.merge(pending.replies.values.map { ($0.value, $0.dependencies) })
        guard let merged else { return }
        if configuration.readRepairEnabled {
            for target in pending.targets {
                guard let reply = pending.replies[target.node], reply.value != merged else { continue }
                metrics.readRepairsSent += 1
                send(.repair(key: pending.key, value: merged, hintFor: target.hintFor, dependencies: summary), to: target.node, into: &effects)
            }
        }
        let primaries = primaries(of: pending.key)
        if case .versioned(let siblings) = merged, siblings.siblings.count == 1, siblings.siblings[0].isTombstone,
            primaries.allSatisfy({ primary in pending.replies[primary].map { $0.primary && $0.value == merged } ?? false })
        {
            for primary in primaries {
                send(.collectTombstone(key: pending.key, dot: siblings.siblings[0].dot), to: primary, into: &effects)
            }
        }
    }

    mutating func expireRequests(into effects: inout ReplicationEffects) {
        for (id, pending) in pendingWrites.sorted(by: { $0.key < $1.key }) where now >= pending.deadline {
            pendingWrites[id] = nil
            fail(pending.client, .timeout(replies: pending.acknowledged.count, required: pending.quorum.write), write: true, into: &effects)
        }
        for (id, pending) in pendingReads.sorted(by: { $0.key < $1.key }) where now >= pending.deadline {
            pendingReads[id] = nil
            if !pending.responded {
                fail(pending.client, .timeout(replies: pending.replies.count, required: pending.quorum.read), write: false, into: &effects)
            }
            finishRead(pending, into: &effects)
        }
        let expired = parkedReads.filter { now >= $0.deadline }
        if !expired.isEmpty { parkedReads.removeAll { now >= $0.deadline } }
        // A parked mint past its deadline is dropped unapplied: its
        // coordinator has timed the write out as of unknown outcome.
        parkedMints.removeAll { now >= $0.deadline }
    }
}
