import ChorusClocks
import ChorusCore
import ChorusReplication

/// The simulated nodes' runtime around each node's `ReplicationDriver` —
/// the value `ChorusNode` drives too, so the persist-before-release rule the
/// checks rely on is the node's own: the runtime appends each output's
/// records to the disk, fsyncs when the driver asks, reports the sync, and
/// sends and responds with what the driver releases. It ticks the driver at
/// the node's drifted rate, delivers each keyspace the catalog defines late,
/// and crashes and restarts nodes through the core's recovery.
///
/// An fsync takes a random latency and, when it completes, covers every
/// record appended by then (group commit); while one is in flight the driver
/// holds every output, since it may depend on records not durable yet, and a
/// crash before the sync completes loses them together with the records.
extension LeaderlessSimulation {
    func start(_ server: Int, recovering records: [[UInt8]]) {
        let node = servers[server - 1].node
        let ticks = now / servers[server - 1].tickMicroseconds
        let replication: ReplicationNode
        do {
            replication = try ReplicationNode(
                configuration: parameters.replicationConfiguration(for: node, defined: servers[server - 1].definedKeyspaces),
                recovering: records, now: ticks)
        } catch {
            fail(.recovery, "n\(server) cannot start from its log: \(error)")
            return
        }
        // Nothing of SWIM is persisted: a restart starts at incarnation 0 and refutes.
        let membership = SwimMembership(
            myself: node, members: parameters.members, configuration: parameters.swimConfiguration, seed: random.next())
        servers[server - 1].driver = ReplicationDriver(replication: replication, membership: membership)
        queue.schedule(
            .tick(server: server, incarnation: servers[server - 1].incarnation),
            at: now + random.next() % parameters.tickMicroseconds)
    }

    func tick(_ server: Int) {
        guard let output = servers[server - 1].driver?.tick() else { return }
        carryOut(output, on: server)
    }

    func serve(_ request: ChorusReplication.ClientRequest, on server: Int) {
        guard let output = servers[server - 1].driver?.submit(request) else { return }
        carryOut(output, on: server)
    }

    func receive(_ message: LeaderlessPeerMessage, from sender: NodeID, on server: Int) {
        guard let output = servers[server - 1].driver?.receive(message, from: sender) else { return }
        carryOut(output, on: server)
    }

    /// The catalog delivers `keyspace` to `server` (durably: a restart
    /// starts with it). A node that is down learns it when it restarts.
    func defineLateKeyspace(on server: Int) {
        guard let keyspace = parameters.lateKeyspace, !servers[server - 1].definedKeyspaces.contains(keyspace) else { return }
        servers[server - 1].definedKeyspaces.append(keyspace)
        trace("n\(server) learns keyspace \(keyspace)")
        guard servers[server - 1].isUp,
            let configuration = parameters.replicationConfiguration(for: servers[server - 1].node).keyspace(keyspace)
        else { return }
        do {
            try servers[server - 1].driver!.define(configuration)
            statistics.keyspacesDefinedLate += 1
        } catch {
            fail(.recovery, "n\(server) refuses the catalog's keyspace \(keyspace): \(error)")
        }
    }

    func carryOut(_ output: ReplicationDriver.Output, on server: Int) {
        for bytes in output.records {
            servers[server - 1].disk.append(bytes)
            observeMint(bytes, on: server)
            if faultsActive && parameters.mintIsolationProbability > 0 && Self.isCausalMint(bytes)
                && random.chance(parameters.mintIsolationProbability)
            {
                // A causal write just minted: cut its coordinating replica off,
                // so that it is acknowledged (W = 1) where nobody else sees it
                // while its effects travel.
                handle(.isolate(server: server))
            }
            if bytes.first == 3 && faultsActive && random.chance(parameters.hintStoredCrashProbability) {
                // A hint: crash this fallback once it has acknowledged it.
                let delay = parameters.fsyncLatencyMaximumMicroseconds + 1 + random.next() % 10_000
                schedule(.crashServer(server: server, incarnation: servers[server - 1].incarnation), at: now + delay)
            }
        }
        if output.syncRequested && !servers[server - 1].syncPending {
            servers[server - 1].syncPending = true
            let latency = 1 + random.next() % parameters.fsyncLatencyMaximumMicroseconds
            queue.schedule(.syncDone(server: server, incarnation: servers[server - 1].incarnation), at: now + latency)
        }
        release(output, from: server)
        compactIfDue(server)
    }

    func completeSync(_ server: Int) {
        servers[server - 1].disk.sync()
        servers[server - 1].syncPending = false
        guard let batch = servers[server - 1].driver?.lastBatch,
            let output = servers[server - 1].driver?.persisted(through: batch)
        else { return }
        precondition(servers[server - 1].driver!.heldOutputCount == 0, "a sync of every batch releases everything held")
        release(output, from: server)
        compactIfDue(server)
    }

    func release(_ output: ReplicationDriver.Output, from server: Int) {
        precondition(output.records.isEmpty || output.persistBatch != nil, "records come as a numbered batch")
        for (to, message) in output.messages { send(message, from: server, to: Int(to.rawValue)) }
        for response in output.responses { respond(response, from: server) }
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
        servers[server - 1].driver = nil
        servers[server - 1].incarnation += 1
        servers[server - 1].syncPending = false
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
