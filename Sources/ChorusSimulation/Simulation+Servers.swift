import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// The simulated servers' runtime: the `Ready` loop on a simulated disk,
/// applying entries, serving reads, compaction, crashes and restarts.
extension Simulation {
    /// Hands every available `Ready` to the "runtime": persist, then (after an
    /// fsync when required) send, apply and advance.
    func pump(_ server: Int) {
        var rounds = 0
        while rounds < 64 {
            rounds += 1
            guard servers[server - 1].readyAwaitingSync == nil, let raft = servers[server - 1].raft, raft.hasReady else {
                return
            }
            let ready = servers[server - 1].raft!.ready()
            if let soft = ready.softState, soft.role == .leader {
                statistics.leaderElections += 1
                if faultsActive && random.chance(parameters.newLeaderIsolationProbability) {
                    // Often before its first AppendEntries leave, sometimes just after.
                    let delay = random.chance(0.5) ? 0 : random.next() % 30_000
                    queue.schedule(.isolate(server: server), at: now + delay)
                }
                if faultsActive && random.chance(parameters.newLeaderCrashProbability) {
                    let delay = random.next() % (4 * parameters.delayMaximumMicroseconds + 1)
                    queue.schedule(.crashServer(server: server, incarnation: servers[server - 1].incarnation), at: now + delay)
                }
            }
            if raft.role == .leader, ready.hardState != nil, raft.term(at: raft.commitIndex).map({ $0 < raft.term }) == true {
                statistics.oldTermCommits += 1
            }
            checker.observe(ready: ready, server: server, raft: servers[server - 1].raft!, time: now)
            if checker.violation != nil { return }
            if let soft = ready.softState { trace("n\(server) \(soft) term=\(servers[server - 1].raft!.term.rawValue)") }
            if let snapshot = ready.snapshot { servers[server - 1].disk.append(snapshot: snapshot) }
            if !ready.entries.isEmpty { servers[server - 1].disk.append(entries: ready.entries) }
            if let hardState = ready.hardState { servers[server - 1].disk.append(hardState: hardState) }
            if ready.mustSync {
                servers[server - 1].readyAwaitingSync = ready
                let latency = 1 + random.next() % parameters.fsyncLatencyMaximumMicroseconds
                queue.schedule(.fsyncDone(server: server, incarnation: servers[server - 1].incarnation), at: now + latency)
                return
            }
            complete(ready, on: server)
        }
        preconditionFailure("n\(server) produced 64 Readies without settling")
    }

    func complete(_ ready: Ready, on server: Int) {
        checker.observeSent(ready.messages, server: server, time: now)
        for message in ready.messages { send(message) }
        if let snapshot = ready.snapshot {
            statistics.snapshotsInstalled += 1
            if let store = try? KeyValueStore(restoring: snapshot.data) {
                servers[server - 1].store = store
            } else if snapshot.metadata.index == .zero {
                servers[server - 1].store = KeyValueStore()
            } else {
                preconditionFailure("a snapshot produced by KeyValueStore failed to restore")
            }
        }
        for entry in ready.committedEntries { apply(entry, on: server) }
        for readState in ready.readStates {
            if let position = servers[server - 1].pendingReads.firstIndex(where: { $0.context == readState.context }) {
                servers[server - 1].pendingReads[position].readIndex = readState.index
            }
        }
        servers[server - 1].raft!.advance(ready)
        serveConfirmedReads(on: server)
        maybeCompact(server)
    }

    func apply(_ entry: LogEntry, on server: Int) {
        guard entry.index > servers[server - 1].store.appliedIndex else { return }
        switch entry.payload {
        case .command(let bytes):
            let applied = servers[server - 1].store.apply(commandBytes: bytes, at: entry.index)
            let matching = servers[server - 1].pendingWrites.filter {
                $0.clientID == applied.clientID && $0.sequence == applied.sequence
            }
            guard !matching.isEmpty else { return }
            servers[server - 1].pendingWrites.removeAll { $0.clientID == applied.clientID && $0.sequence == applied.sequence }
            for write in matching {
                respond(to: write.client, ClientResponse(requestID: write.requestID, body: .written(applied.result)))
            }
        case .empty, .configuration:
            servers[server - 1].store.skip(index: entry.index)
        }
    }

    func serveConfirmedReads(on server: Int) {
        let applied = servers[server - 1].store.appliedIndex
        var remaining: [SimulatedServer.PendingRead] = []
        for read in servers[server - 1].pendingReads {
            if let index = read.readIndex, index <= applied {
                respond(to: read.client, ClientResponse(requestID: read.requestID, body: .read(servers[server - 1].store.get(read.key))))
            } else if now - read.receivedAt < 5_000_000 {
                remaining.append(read)
            }
        }
        servers[server - 1].pendingReads = remaining
    }

    func maybeCompact(_ server: Int) {
        guard let raft = servers[server - 1].raft else { return }
        let applied = servers[server - 1].store.appliedIndex
        guard applied == raft.appliedIndex,
            applied.rawValue >= raft.snapshotMetadata.index.rawValue + UInt64(parameters.compactionThresholdEntries)
        else { return }
        let data = servers[server - 1].store.snapshot()
        guard (try? servers[server - 1].raft!.compactLog(through: applied, snapshotData: data)) != nil else { return }
        statistics.compactions += 1
        servers[server - 1].disk.checkpoint(snapshot: Snapshot(metadata: servers[server - 1].raft!.snapshotMetadata, data: data))
    }

    func serve(_ request: ClientRequest, on server: Int) {
        guard servers[server - 1].isUp else { return }
        switch request.body {
        case .write(let command):
            do {
                _ = try servers[server - 1].raft!.propose(command.encoded())
                servers[server - 1].pendingWrites.removeAll { now - $0.receivedAt > 5_000_000 }
                servers[server - 1].pendingWrites.append(
                    .init(
                        clientID: command.clientID, sequence: command.sequence, client: request.client,
                        requestID: request.requestID, receivedAt: now))
            } catch .notLeader(let hint) {
                respond(to: request.client, ClientResponse(requestID: request.requestID, body: .redirect(hint)))
            } catch {
                respond(to: request.client, ClientResponse(requestID: request.requestID, body: .retry))
            }
        case .read(let key):
            servers[server - 1].nextReadContext += 1
            let context = servers[server - 1].nextReadContext
            do {
                try servers[server - 1].raft!.readIndex(context: context)
                servers[server - 1].pendingReads.append(
                    .init(context: context, client: request.client, requestID: request.requestID, key: key, receivedAt: now))
            } catch .notLeader(let hint) {
                respond(to: request.client, ClientResponse(requestID: request.requestID, body: .redirect(hint)))
            } catch {
                respond(to: request.client, ClientResponse(requestID: request.requestID, body: .retry))
            }
        }
        pump(server)
    }

    func crashSomeServer() {
        let up = servers.filter(\.isUp).map(\.number)
        guard !up.isEmpty else { return }
        // Leaders are the interesting victims: favour them.
        let leader = currentLeader()
        let victim = leader != nil && random.chance(parameters.leaderCrashBias) ? leader! : up[Int(random.next() % UInt64(up.count))]
        crash(victim)
    }

    func crash(_ victim: Int) {
        statistics.crashes += 1
        trace("crash n\(victim)")
        servers[victim - 1].raft = nil
        servers[victim - 1].readyAwaitingSync = nil
        servers[victim - 1].pendingWrites = []
        servers[victim - 1].pendingReads = []
        servers[victim - 1].incarnation += 1
        servers[victim - 1].disk.crash(random: &random, tornWriteProbability: parameters.tornWriteProbability)
        queue.schedule(.restart(server: victim), at: now + 1 + random.next() % parameters.restartDelayMaximumMicroseconds)
    }

    func restart(_ server: Int) {
        guard !servers[server - 1].isUp else { return }
        let state = servers[server - 1].disk.recover()
        let store: KeyValueStore
        if state.snapshot.metadata.index == .zero {
            store = KeyValueStore()
        } else if let restored = try? KeyValueStore(restoring: state.snapshot.data) {
            store = restored
        } else {
            checker.recordRecoveryFailure("n\(server) cannot restore its snapshot", at: now)
            return
        }
        do {
            servers[server - 1].raft = try RaftNode(
                configuration: parameters.raftConfiguration(for: NodeID(UInt64(server))), persistentState: state,
                randomSeed: random.next())
        } catch {
            checker.recordRecoveryFailure("n\(server): \(error)", at: now)
            return
        }
        trace("restart n\(server) term=\(state.hardState.term.rawValue) last=\(state.entries.last?.index.rawValue ?? state.snapshot.metadata.index.rawValue)")
        servers[server - 1].store = store
        checker.serverRestarted(server)
        queue.schedule(
            .tick(server: server, incarnation: servers[server - 1].incarnation),
            at: now + random.next() % parameters.tickMicroseconds)
        pump(server)
    }

    func currentLeader() -> Int? {
        var best: (Int, Term)?
        for server in servers {
            guard let raft = server.raft, raft.role == .leader else { continue }
            if best == nil || raft.term > best!.1 { best = (server.number, raft.term) }
        }
        return best?.0
    }

    func randomServer() -> Int { 1 + Int(random.next() % UInt64(parameters.serverCount)) }
}
