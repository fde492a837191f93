import ChorusClocks
import ChorusCore

extension ReplicationNode {
    // MARK: Coordinating a write (the replica side)

    /// Mints the write's dot against everything this replica holds for the
    /// key, persists it durably, stores it, and sends it on.
    mutating func handleMint(_ request: MintRequest, from coordinator: NodeID, into effects: inout ReplicationEffects) {
        guard let keyspace = keyspace(of: request.key) else { return }
        // Requests are remembered by identifier, which names its coordinator:
        // a mint that names another coordinator than its sender is malformed.
        guard request.request.coordinator == coordinator else { return }
        let key = request.key
        // A duplicated (or retried) mint request is answered again, never
        // applied twice: a counter must not count one increment twice.
        if let earlier = rememberedMints[mintMemoryKey(request.request)] {
            var result = earlier
            result.answeredAgain = true
            if request.returnValue { result.value = store.entries[key]?.mintBase }
            return send(.writeAcknowledged(request: request.request, durable: true, primary: true, minted: result), to: coordinator, into: &effects)
        }
        let causal = keyspace.mode == .causal
        // COPS checks a put's dependencies before applying it: a causal mint
        // waits until this node holds every write the session depends on, so
        // what it observes (a blind write's context, the siblings it
        // carries) includes the session's own earlier writes. Minting at once
        // let a session's blind write leave its earlier write of the key as a
        // concurrent sibling, read back after the newer one was overwritten
        // (`chorus simulate leaderless`, seed 2067914).
        if causal && !frontier.dominates(request.dependencies) {
            if parkedMints.count < configuration.maximumParkedReads {
                parkedMints.append(ParkedMint(request: request, coordinator: coordinator, deadline: now + configuration.requestTimeoutTicks))
            }
            return
        }
        if causal && originLog.isFull {
            return send(.mintRefused(request: request.request, reason: .backlogFull), to: coordinator, into: &effects)
        }
        // The unit carries the whole object, pending siblings included, so in
        // a causal keyspace it depends on everything it carries, not only on
        // the writer's session: else a replica would make a carried sibling
        // visible before its causes, and its readers would not inherit them
        // (found by `chorus simulate leaderless`, seed 248).
        var dependencies = request.dependencies
        if causal, let entry = store.entries[key] {
            dependencies.merge(entry.dependencies)
            for unit in entry.pending { dependencies.merge(unit.summary) }
        }
        var base = store.entries[key]?.mintBase ?? .empty(key.kind)
        let sequence = counter + 1
        var dot: Dot? = nil
        let unit: ReplicatedValue
        let versioned: (bytes: [UInt8]?, context: WriteContext, timestamp: HybridTimestamp)?
        switch request.operation {
        case .put(let value, let context, let timestamp): versioned = (value, context, timestamp)
        case .delete(let context, let timestamp): versioned = (nil, context, timestamp)
        case .update: versioned = nil
        }
        switch request.operation {
        case .put, .delete:
            guard let (bytes, context, timestamp) = versioned else { return }
            guard case .versioned(var siblings) = base else { return }
            let clientContext: VersionVector
            switch context {
            case .client(let vector): clientContext = vector
            case .observedAtCoordinatingReplica: clientContext = siblings.context
            }
            let replica = ReplicaID(myself.rawValue)
            // A forged context naming this replica's counter near 2^64 must
            // not make the dot overflow.
            guard clientContext[replica] < UInt64.max / 2 else {
                return send(.mintRefused(request: request.request, reason: .counterOverflow), to: coordinator, into: &effects)
            }
            let dotCounter = Swift.max(sequence, clientContext[replica] + 1)
            let sibling = siblings.update(value: bytes, timestamp: timestamp, clientContext: clientContext, replica: replica, counter: dotCounter)
            guard siblings.siblings.count <= configuration.siblingLimit else {
                return send(
                    .mintRefused(request: request.request, reason: .tooManySiblings(count: siblings.siblings.count, limit: configuration.siblingLimit)),
                    to: coordinator, into: &effects)
            }
            if siblings.siblings.count > configuration.siblingWarningThreshold { metrics.siblingWarnings += 1 }
            counter = dotCounter
            dot = sibling.dot
            base = .versioned(siblings)
            // The whole object travels: a replica that missed an earlier
            // concurrent sibling gets it with the new one, so a context read
            // anywhere never claims a dot its reader did not see.
            unit = base
        case .update(let operation):
            // `ChorusCRDT` mints the next dot after the context's prefix; a
            // forged state naming this replica near 2^64 must not overflow it.
            guard (base.causalContext?.compact[ReplicaID(myself.rawValue)] ?? 0) < UInt64.max / 2 else {
                return send(.mintRefused(request: request.request, reason: .counterOverflow), to: coordinator, into: &effects)
            }
            do {
                unit = try base.apply(operation, by: ReplicaID(myself.rawValue))
            } catch {
                return send(.mintRefused(request: request.request, reason: error), to: coordinator, into: &effects)
            }
            counter = sequence
        }
        let destinations = causal ? primaries(of: key) : []
        persist(
            .minted(key: key, value: unit, sequence: counter, causal: causal ? CausalOrigin(dependencies: dependencies, destinations: destinations) : nil,
                request: request.request),
            sync: true, into: &effects)
        remember(request.request, MintResult(
            dot: dot, value: nil, causalSequence: causal ? counter : nil, causalDependencies: causal ? dependencies : VersionVector()))
        let tag = causal ? CausalTag(origin: myself, sequence: counter, dependencies: dependencies) : nil
        frontier[ReplicaID(myself.rawValue)] = Swift.max(frontier[ReplicaID(myself.rawValue)], counter)
        storeLocally(key, unit, causal: tag, into: &effects)
        if let tag {
            originLog.append(OriginEntry(
                sequence: tag.sequence, key: key, value: unit, dependencies: tag.dependencies, destinations: destinations,
                acknowledged: [myself], lastSentTick: now))
            if originLog.acknowledge(sequence: tag.sequence, by: myself) { persist(.originAcknowledged(tag.sequence), sync: false, into: &effects) }
        }
        let result = MintResult(
            dot: dot, value: request.returnValue ? (store.entries[key]?.mintBase ?? base) : nil, causalSequence: tag?.sequence,
            causalDependencies: tag?.dependencies ?? VersionVector())
        send(.writeAcknowledged(request: request.request, durable: true, primary: true, minted: result), to: coordinator, into: &effects)
        for target in request.targets where target.node != myself {
            send(.replicate(Replication(
                request: request.request, coordinator: coordinator, key: key, value: unit, hintFor: target.hintFor,
                requireDurable: request.requireDurable, causal: tag)), to: target.node, into: &effects)
        }
    }

    /// What the remembered mints are keyed by: the whole request identifier,
    /// coordinator included (the negative control forgets the coordinator).
    func mintMemoryKey(_ request: RequestID) -> RequestID {
        guard configuration.injectedBug == .mintMemoryIgnoresCoordinator else { return request }
        return RequestID(coordinator: NodeID.none, boot: request.boot, sequence: request.sequence)
    }

    /// Remembers a minted request, forgetting the oldest past the bound.
    mutating func remember(_ request: RequestID, _ result: MintResult) {
        let request = mintMemoryKey(request)
        if rememberedMints.updateValue(result, forKey: request) == nil { rememberedMintOrder.append(request) }
        // Forgets in halves, so a mint costs amortized O(1): between the bound
        // and twice it are remembered.
        if rememberedMintOrder.count >= 2 * configuration.maximumRememberedMints {
            for forgotten in rememberedMintOrder.prefix(configuration.maximumRememberedMints) { rememberedMints[forgotten] = nil }
            rememberedMintOrder.removeFirst(configuration.maximumRememberedMints)
        }
    }

    /// Stores a unit in the primary store: visible at once in an eventual
    /// keyspace; in a causal one only when its dependencies are visible.
    /// Returns false when a causal unit had to be turned away (the pending
    /// bound), in which case it must not be acknowledged.
    @discardableResult
    mutating func storeLocally(_ key: ObjectKey, _ value: ReplicatedValue, causal: CausalTag?, into effects: inout ReplicationEffects) -> Bool {
        guard let causal else {
            store.join(key, value)
            return true
        }
        var summary = causal.dependencies
        let origin = ReplicaID(causal.origin.rawValue)
        summary[origin] = Swift.max(summary[origin], causal.sequence)
        return storeCausally(key, value, condition: causal.dependencies, summary: summary)
    }

    mutating func storeCausally(_ key: ObjectKey, _ value: ReplicatedValue, condition: VersionVector, summary: VersionVector) -> Bool {
        if frontier.dominates(condition) {
            store.join(key, value, summary: summary)
            return true
        }
        guard store.pendingUnitCount < configuration.maximumPendingUnits else { return false }
        store.addPending(key, value, condition: condition, summary: summary)
        return true
    }

    mutating func handleReplicate(_ replication: Replication, from sender: NodeID, into effects: inout ReplicationEffects) {
        guard let keyspace = keyspace(of: replication.key) else { return }
        let key = replication.key
        var durable = replication.requireDurable
        if let hintFor = replication.hintFor, hintFor != myself, keyspace.mode == .eventual {
            storeHint(for: hintFor, key, replication.value, into: &effects)
            durable = true
        } else if keyspace.mode == .causal {
            guard let tag = replication.causal else { return }
            var summary = tag.dependencies
            summary[ReplicaID(tag.origin.rawValue)] = Swift.max(summary[ReplicaID(tag.origin.rawValue)], tag.sequence)
            guard storeCausally(key, replication.value, condition: tag.dependencies, summary: summary) else { return }
            // Synced before the acknowledgement: the origin's attestation of
            // this node's frontier rests on it surviving a crash.
            persist(.stored(key: key, value: replication.value, dependencies: summary, condition: tag.dependencies), sync: true, into: &effects)
            durable = true
            send(.causalAcknowledged(sequence: tag.sequence), to: tag.origin, into: &effects)
        } else {
            store.join(key, replication.value)
            persist(.stored(key: key, value: replication.value, dependencies: VersionVector(), condition: VersionVector()), sync: durable, into: &effects)
        }
        if let request = replication.request, let coordinator = replication.coordinator {
            send(
                .writeAcknowledged(request: request, durable: durable, primary: replication.hintFor == nil, minted: nil),
                to: coordinator, into: &effects)
        }
    }

    mutating func storeHint(for target: NodeID, _ key: ObjectKey, _ value: ReplicatedValue, into effects: inout ReplicationEffects) {
        let (stored, dropped) = hints.store(target: target, key: key, value: value, now: now)
        metrics.hintsStored += 1
        persist(.hint(stored), sync: true, into: &effects)
        for hint in dropped {
            metrics.hintsDropped += 1
            persist(.hintRemoved(hint.id), sync: false, into: &effects)
        }
    }

    // MARK: Reads

    mutating func handleRead(
        _ request: RequestID, key: ObjectKey, dependencies: VersionVector?, from coordinator: NodeID,
        into effects: inout ReplicationEffects
    ) {
        guard let keyspace = keyspace(of: key) else { return }
        if keyspace.mode == .causal, let dependencies, !frontier.dominates(dependencies) {
            // COPS-style: a causal read waits until every write it depends on
            // is visible here (bounded in count and by the request timeout).
            if parkedReads.count < configuration.maximumParkedReads {
                parkedReads.append(ParkedRead(
                    request: request, coordinator: coordinator, key: key, dependencies: dependencies,
                    deadline: now + configuration.requestTimeoutTicks))
            }
            return
        }
        answerRead(request, key: key, coordinator: coordinator, into: &effects)
    }

    mutating func answerRead(_ request: RequestID, key: ObjectKey, coordinator: NodeID, into effects: inout ReplicationEffects) {
        let isPrimary = primaries(of: key).contains(myself)
        let value: ReplicatedValue?
        let dependencies: VersionVector
        if isPrimary {
            value = store.entries[key]?.visible
            dependencies = store.entries[key]?.dependencies ?? VersionVector()
        } else {
            value = hints.value(of: key) ?? store.entries[key]?.visible
            dependencies = VersionVector()
        }
        send(.readReply(request: request, value: value, primary: isPrimary, dependencies: dependencies), to: coordinator, into: &effects)
    }

    mutating func handleRepair(
        _ key: ObjectKey, value: ReplicatedValue, hintFor: NodeID?, dependencies: VersionVector, into effects: inout ReplicationEffects
    ) {
        guard let keyspace = keyspace(of: key) else { return }
        if let hintFor, hintFor != myself, keyspace.mode == .eventual {
            storeHint(for: hintFor, key, value, into: &effects)
            return
        }
        joinRepair(key, value, dependencies: dependencies, causal: keyspace.mode == .causal, into: &effects)
    }

    /// Joins a repair (read repair or anti-entropy) through the visibility
    /// rule of its keyspace; returns whether the visible value changed.
    @discardableResult
    mutating func joinRepair(
        _ key: ObjectKey, _ value: ReplicatedValue, dependencies: VersionVector, causal: Bool, into effects: inout ReplicationEffects
    ) -> Bool {
        if causal {
            // Its dependencies include the stamps of the writes it carries:
            // visible here once this node holds those writes itself.
            let before = store.entries[key]?.visible
            guard storeCausally(key, value, condition: dependencies, summary: dependencies) else { return false }
            persist(.stored(key: key, value: value, dependencies: dependencies, condition: dependencies), sync: false, into: &effects)
            return store.entries[key]?.visible != before
        }
        let changed = store.join(key, value)
        if changed { persist(.stored(key: key, value: value, dependencies: VersionVector(), condition: VersionVector()), sync: false, into: &effects) }
        return changed
    }

    mutating func handleCollectTombstone(_ key: ObjectKey, dot: Dot, into effects: inout ReplicationEffects) {
        guard case .versioned(var siblings)? = store.entries[key]?.visible, siblings.collectTombstone(dot) else { return }
        store.join(key, .versioned(siblings))
        metrics.tombstonesCollected += 1
        persist(.stored(key: key, value: .versioned(siblings), dependencies: VersionVector(), condition: VersionVector()), sync: false, into: &effects)
    }

    // MARK: Hinted handoff

    mutating func deliverHints(to target: NodeID, into effects: inout ReplicationEffects) {
        for hint in hints.hints(for: target).prefix(configuration.maximumHintsPerDelivery) {
            send(.hintDelivery(hint: hint.id, version: hint.version, key: hint.key, value: hint.value), to: target, into: &effects)
        }
    }

    mutating func handleHintDelivery(
        _ hint: HintID, version: UInt64, key: ObjectKey, value: ReplicatedValue, from fallback: NodeID,
        into effects: inout ReplicationEffects
    ) {
        guard keyspace(of: key) != nil else { return }
        store.join(key, value)
        // Durable before the acknowledgement: the fallback deletes its copy on it.
        persist(.stored(key: key, value: value, dependencies: VersionVector(), condition: VersionVector()), sync: true, into: &effects)
        send(.hintAcknowledged(hint: hint, version: version), to: fallback, into: &effects)
    }

    mutating func handleHintAcknowledged(_ hint: HintID, version: UInt64, into effects: inout ReplicationEffects) {
        guard let stored = hints.hints[hint], stored.version == version else { return }
        hints.remove(hint)
        metrics.hintsDelivered += 1
        persist(.hintRemoved(hint), sync: false, into: &effects)
    }

    mutating func expireHints(into effects: inout ReplicationEffects) {
        for id in hints.expired(now: now) {
            hints.remove(id)
            metrics.hintsDropped += 1
            persist(.hintRemoved(id), sync: false, into: &effects)
        }
    }
}
