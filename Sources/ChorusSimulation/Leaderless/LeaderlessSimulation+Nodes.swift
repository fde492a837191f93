import ChorusClocks
import ChorusCore
import ChorusReplication

/// The simulated nodes' runtime: it carries out each `ReplicationEffects`
/// as its contract says (persist, fsync, only then send and respond), ticks
/// SWIM and the replication core at the node's drifted rate, feeds SWIM's
/// view to the core, and crashes and restarts nodes through the core's
/// recovery.
///
/// An fsync takes a random latency; while one is in flight, every output the
/// node produces waits for it (group commit): such outputs may depend on
/// records that are not durable yet, and a crash before the sync completes
/// loses them together with the records.
extension LeaderlessSimulation {
    func start(_ server: Int, recovering records: [[UInt8]]) {
        let node = servers[server - 1].node
        let ticks = now / servers[server - 1].tickMicroseconds
        do {
            servers[server - 1].replication = try ReplicationNode(
                configuration: parameters.replicationConfiguration(for: node), recovering: records, now: ticks)
        } catch {
            fail(.recovery, "n\(server) cannot start from its log: \(error)")
            return
        }
        // Nothing of SWIM is persisted: a restart starts at incarnation 0 and refutes.
        servers[server - 1].swim = SwimMembership(
            myself: node, members: parameters.members, configuration: parameters.swimConfiguration, seed: random.next())
        queue.schedule(
            .tick(server: server, incarnation: servers[server - 1].incarnation),
            at: now + random.next() % parameters.tickMicroseconds)
    }

    func tick(_ server: Int) {
        if let effects = servers[server - 1].swim?.tick() { carryOut(effects, on: server) }
        guard let effects = servers[server - 1].replication?.tick() else { return }
        carryOut(effects, on: server)
    }

    func serve(_ request: ChorusReplication.ClientRequest, on server: Int) {
        guard let effects = servers[server - 1].replication?.submit(request) else { return }
        carryOut(effects, on: server)
    }

    /// SWIM's messages go at once (nothing of SWIM waits for a disk); each
    /// change of its view goes to the replication core (`reachable` = alive:
    /// a suspect is routed around until it refutes).
    func carryOut(_ effects: SwimEffects, on server: Int) {
        for (to, message) in effects.messages { send(.membership(message), from: server, to: Int(to.rawValue)) }
        for change in effects.changes {
            guard let replication = servers[server - 1].replication?.updateReachability(
                change.member, reachable: change.status == .alive)
            else { return }
            carryOut(replication, on: server)
        }
    }

    func carryOut(_ effects: ReplicationEffects, on server: Int) {
        for record in effects.persist {
            servers[server - 1].disk.append(record.bytes)
            observeMint(record.bytes, on: server)
            if faultsActive && parameters.mintIsolationProbability > 0 && Self.isCausalMint(record.bytes)
                && random.chance(parameters.mintIsolationProbability)
            {
                // A causal write just minted: cut its coordinating replica off,
                // so that it is acknowledged (W = 1) where nobody else sees it
                // while its effects travel.
                handle(.isolate(server: server))
            }
            if record.bytes.first == 3 && faultsActive && random.chance(parameters.hintStoredCrashProbability) {
                // A hint: crash this fallback once it has acknowledged it.
                let delay = parameters.fsyncLatencyMaximumMicroseconds + 1 + random.next() % 10_000
                schedule(.crashServer(server: server, incarnation: servers[server - 1].incarnation), at: now + delay)
            }
        }
        if effects.requiresSync && !servers[server - 1].syncPending {
            servers[server - 1].syncPending = true
            let latency = 1 + random.next() % parameters.fsyncLatencyMaximumMicroseconds
            queue.schedule(.syncDone(server: server, incarnation: servers[server - 1].incarnation), at: now + latency)
        }
        if servers[server - 1].syncPending {
            servers[server - 1].messagesAwaitingSync += effects.messages
            servers[server - 1].responsesAwaitingSync += effects.responses
        } else {
            release(effects.messages, effects.responses, from: server)
            compactIfDue(server)
        }
    }

    func completeSync(_ server: Int) {
        servers[server - 1].disk.sync()
        servers[server - 1].syncPending = false
        let messages = servers[server - 1].messagesAwaitingSync
        let responses = servers[server - 1].responsesAwaitingSync
        servers[server - 1].messagesAwaitingSync = []
        servers[server - 1].responsesAwaitingSync = []
        release(messages, responses, from: server)
        compactIfDue(server)
    }

    func release(_ messages: [(to: NodeID, message: ReplicationMessage)], _ responses: [ChorusReplication.ClientResponse], from server: Int) {
        for (to, message) in messages { send(.replication(message), from: server, to: Int(to.rawValue)) }
        for response in responses { respond(response, from: server) }
    }

    /// Log compaction with the core's `durableSnapshot()`, between batches
    /// and with no fsync in flight (the snapshot holds unsynced state too,
    /// and is written durably at once).
    func compactIfDue(_ server: Int) {
        let threshold = parameters.compactionThresholdRecords
        guard threshold > 0, servers[server - 1].disk.recordCount >= threshold, !servers[server - 1].syncPending,
            let replication = servers[server - 1].replication
        else { return }
        servers[server - 1].disk.compact(to: replication.durableSnapshot())
        statistics.compactions += 1
    }

    static func isCausalMint(_ bytes: [UInt8]) -> Bool {
        guard bytes.first == 2, case .minted(_, _, _, let causal?, _)? = try? DurableRecord(decodingAll: bytes) else { return false }
        return causal.destinations.count > 0
    }

    /// Reads a blind put's superseded context from the `minted` record of
    /// its coordinating replica: the sibling with the record's dot.
    func observeMint(_ bytes: [UInt8], on server: Int) {
        guard bytes.first == 2, let record = try? DurableRecord(decodingAll: bytes),
            case .minted(let key, .versioned(let siblings), let sequence, _, _) = record, key.kind == .versioned
        else { return }
        let dot = Dot(replica: ReplicaID(UInt64(server)), counter: sequence)
        guard let sibling = siblings.siblings.first(where: { $0.dot == dot }), let value = sibling.value else { return }
        blindContexts[value] = sibling.version.context
    }

    // MARK: Crashes

    func crashSomeServer() {
        let up = servers.filter(\.isUp).map(\.number)
        guard !up.isEmpty else { return }
        let holders = up.filter { servers[$0 - 1].replication!.hints.count > 0 }
        let victims = !holders.isEmpty && random.chance(parameters.hintHolderCrashBias) ? holders : up
        crash(victims[Int(random.next() % UInt64(victims.count))])
    }

    func crash(_ server: Int) {
        statistics.crashes += 1
        trace("crash n\(server) holding \(servers[server - 1].replication?.hints.count ?? 0) hints")
        servers[server - 1].replication = nil
        servers[server - 1].swim = nil
        servers[server - 1].incarnation += 1
        servers[server - 1].syncPending = false
        servers[server - 1].messagesAwaitingSync = []
        servers[server - 1].responsesAwaitingSync = []
        servers[server - 1].recoveredRecords = servers[server - 1].disk.crash(
            random: &random, tornWriteProbability: parameters.tornWriteProbability,
            forgetHints: parameters.injectedBug == .forgottenHints)
        checkDurability(after: server)
        schedule(.restart(server: server), at: now + 1 + random.next() % parameters.restartDelayMaximumMicroseconds)
    }

    func restart(_ server: Int) {
        guard !servers[server - 1].isUp else { return }
        let records = servers[server - 1].recoveredRecords
        servers[server - 1].recoveredRecords = []
        trace("restart n\(server) from \(records.count) records")
        start(server, recovering: records)
    }
}
