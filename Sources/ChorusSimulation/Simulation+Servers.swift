import ChorusCore
import ChorusEventStore
import ChorusKeyValue
import ChorusMachines
import ChorusRaft
import ChorusReplica

/// The simulated servers' runtime: an interpreter of the replica driver's
/// effects on a simulated disk and network, plus crashes and restarts. The
/// Ready loop itself is `RaftReplica`'s, the same one the node runs.
extension Simulation {
    /// Pumps the replica until it settles or waits for an fsync, carrying out
    /// every effect in order.
    func drive(_ server: Int) {
        var rounds = 0
        while rounds < 64 {
            rounds += 1
            guard servers[server - 1].replica != nil, checker.violation == nil else { return }
            servers[server - 1].replica!.pump()
            let effects = servers[server - 1].replica!.takeEffects()
            if effects.isEmpty {
                // Settled: the saga host follows the replica's role and applied log,
                // which may queue appends for another round.
                guard workload == .sagas else { return }
                settleSagaRuntime(server)
                guard servers[server - 1].replica?.needsPump == true else { return }
                continue
            }
            for effect in effects {
                carryOut(effect, on: server)
                guard servers[server - 1].replica != nil, checker.violation == nil else { return }
            }
        }
        preconditionFailure("n\(server) produced 64 rounds of effects without settling")
    }

    func carryOut(_ effect: ReplicaEffect<ReplicatedMachines>, on server: Int) {
        switch effect {
        case .readyTaken(let ready):
            observe(ready, on: server)
        case .roleChanged(let soft, let term):
            trace("n\(server) \(soft) term=\(term.rawValue)")
        case .send(let messages):
            checker.observeSent(messages, server: server, time: now)
            for message in messages { send(message) }
        case .persist(let request):
            if let hardState = request.hardState, request.mustSync {
                servers[server - 1].disk.raiseRecordedTerm(to: hardState.term)
            }
            if let snapshot = request.snapshot { servers[server - 1].disk.append(snapshot: snapshot) }
            if !request.entries.isEmpty { servers[server - 1].disk.append(entries: request.entries) }
            if let hardState = request.hardState { servers[server - 1].disk.append(hardState: hardState) }
            if request.mustSync {
                servers[server - 1].persistAwaitingSync = request.ticket
                let latency = 1 + random.next() % parameters.fsyncLatencyMaximumMicroseconds
                queue.schedule(.fsyncDone(server: server, incarnation: servers[server - 1].incarnation), at: now + latency)
            } else {
                servers[server - 1].replica!.persisted(request.ticket)
            }
        case .prepareSnapshot(let machines, let index):
            servers[server - 1].replica!.snapshotPrepared(index: index, data: machines.snapshot())
        case .saveCheckpoint(let checkpoint):
            statistics.compactions += 1
            servers[server - 1].disk.checkpoint(
                snapshot: checkpoint.snapshot, hardState: checkpoint.hardState, entries: checkpoint.entries)
            servers[server - 1].replica!.checkpointSaved()
        case .snapshotInstalled:
            statistics.snapshotsInstalled += 1
        case .proposed, .readIndexRequested:
            break
        case .writeCompleted(let token, let result):
            if workload == .sagas, sagaAppendCompleted(token, result, on: server) { return }
            guard let request = servers[server - 1].requests.removeValue(forKey: token) else { return }
            let body: ClientResponse.Body
            switch result {
            case .success(let write): body = .written(write.output, index: write.index)
            case .failure(let error): body = Self.response(to: error)
            }
            respond(to: request.client, ClientResponse(requestID: request.requestID, body: body))
        case .readCompleted(let token, let result):
            guard let request = servers[server - 1].requests.removeValue(forKey: token) else { return }
            let body: ClientResponse.Body
            switch result {
            case .success(let read): body = .read(read.value, appliedIndex: read.appliedIndex)
            case .failure(let error): body = Self.response(to: error)
            }
            respond(to: request.client, ClientResponse(requestID: request.requestID, body: body))
        case .fatal(let reason):
            checker.recordRecoveryFailure("n\(server): \(reason)", at: now)
        }
    }

    static func response(to error: ReplicaError) -> ClientResponse.Body {
        switch error {
        case .notLeader(let leader): .redirect(leader)
        case .noLeader: .redirect(nil)
        case .overloaded, .proposalLost, .outcomeUnknown, .readTimeout, .notCaughtUp, .stopped: .retry
        }
    }

    /// What the simulator watches on every `Ready`: elections (and the
    /// nemeses timed to them), commits of older terms, and the safety checker.
    func observe(_ ready: Ready, on server: Int) {
        let raft = servers[server - 1].raft!
        if let soft = ready.softState, soft.role == .leader {
            statistics.leaderElections += 1
            if faultsActive && random.chance(parameters.newLeaderIsolationProbability) {
                // Often before its first AppendEntries leave (at once: a leader's
                // messages may leave before its own fsync, within this very
                // Ready), sometimes just after.
                if random.chance(0.5) {
                    handle(.isolate(server: server))
                } else {
                    schedule(.isolate(server: server), at: now + random.next() % 30_000)
                }
            }
            if faultsActive && random.chance(parameters.newLeaderCrashProbability) {
                let delay = random.next() % (4 * parameters.delayMaximumMicroseconds + 1)
                schedule(.crashServer(server: server, incarnation: servers[server - 1].incarnation), at: now + delay)
            }
        }
        if let soft = ready.softState { servers[server - 1].awaitingFirstCommit = soft.role == .leader }
        if raft.role == .leader, ready.hardState != nil, raft.term(at: raft.commitIndex).map({ $0 < raft.term }) == true {
            statistics.oldTermCommits += 1
        }
        if raft.role == .leader, servers[server - 1].awaitingFirstCommit, !ready.committedEntries.isEmpty {
            servers[server - 1].awaitingFirstCommit = false
            if faultsActive && random.chance(parameters.firstCommitCrashProbability) {
                // Before this Ready's messages carry the new commit index anywhere.
                crash(server)
            }
        }
        checker.observe(ready: ready, server: server, raft: raft, time: now)
    }

    func serve(_ request: ClientRequest, on server: Int) {
        guard servers[server - 1].isUp else { return }
        // A resumed process may handle a request before its late timer fires:
        // the clock, not the timer, says how much time has passed.
        if let due = servers[server - 1].clock?.catchUp(atMicroseconds: now), due > 0 {
            servers[server - 1].replica!.tick(elapsedTicks: due)
        }
        let token = servers[server - 1].token(for: request.client, requestID: request.requestID)
        switch request.body {
        case .write(var command, let key):
            if case .eventStore(var eventCommand) = command {
                // The proposing server stamps the time, as a node's service layer does.
                eventCommand.recordedTime = recordedTime(on: server)
                command = .eventStore(eventCommand)
            }
            servers[server - 1].replica!.submitWrite(command.encoded(), key: key, token: token)
        case .read(let query, let requirement):
            servers[server - 1].replica!.submitRead(query, requirement: requirement, token: token)
        }
        drive(server)
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
        servers[victim - 1].replica = nil
        servers[victim - 1].persistAwaitingSync = nil
        servers[victim - 1].requests = [:]
        servers[victim - 1].incarnation += 1
        servers[victim - 1].clock = nil
        servers[victim - 1].pausedUntil = 0
        if workload == .sagas { sagaServerCrashed(victim) }
        if parameters.finalRecordDamageProbability > 0, random.chance(parameters.finalRecordDamageProbability),
            mayDamageFinalRecord(of: victim)
        {
            statistics.damagedFinalRecords += 1
            trace("damage n\(victim) final record")
            servers[victim - 1].disk.crashDamagingFinalRecord(random: &random)
        } else {
            servers[victim - 1].disk.crash(random: &random, tornWriteProbability: parameters.tornWriteProbability)
        }
        schedule(.restart(server: victim), at: now + 1 + random.next() % parameters.restartDelayMaximumMicroseconds)
    }

    /// Whether the simulator may damage `victim`'s final record: a suspended
    /// voter costs the cluster one failure of tolerance until a leader elected
    /// without it commits (`RaftPersistentState.suspendingVotes`), so the fault
    /// is drawn only where that leaves a cluster able to elect one: no other
    /// server suspended, a seed without membership changes (a shrink to two
    /// voters while one is suspended halts, as it would on real nodes), and at
    /// least three voters in every configuration the running members hold.
    func mayDamageFinalRecord(of victim: Int) -> Bool {
        guard parameters.membershipChangeMeanIntervalMicroseconds == 0 else { return false }
        // A server that has not joined yet knows no configuration.
        let configurations = servers.compactMap(\.replica).map(\.raft.membership).filter { !$0.voters.isEmpty }
        guard !configurations.isEmpty, configurations.allSatisfy({ $0.voters.count >= 3 }) else { return false }
        return !servers.contains { $0.number != victim && $0.hasVotesSuspended }
    }

    /// SIGSTOP for a while: the process keeps its state and its sockets, and
    /// handles nothing until it is continued (`deferredWhilePaused`).
    func pauseSomeServer() {
        let running = servers.filter { $0.isUp && $0.pausedUntil <= now }.map(\.number)
        guard !running.isEmpty else { return }
        let victim = running[Int(random.next() % UInt64(running.count))]
        let duration = 20_000 + random.next() % parameters.pauseMaximumMicroseconds
        statistics.pauses += 1
        servers[victim - 1].pausedUntil = now + duration
        trace("pause n\(victim) for \(duration / 1_000) ms")
    }

    /// Holds `event`, bound for `server`, until the server is continued, as
    /// a stopped process's kernel holds its timers, packets and fsyncs. They
    /// come out in no set order (the order epoll reports ready sockets in):
    /// a client's read may be handled before the peer messages and the timer
    /// that arrived before it.
    func deferredWhilePaused(_ event: Event, server: Int) -> Bool {
        guard now < servers[server - 1].pausedUntil else { return false }
        queue.schedule(event, at: servers[server - 1].pausedUntil + random.next() % 5_000)
        return true
    }

    func restart(_ server: Int) {
        guard !servers[server - 1].isUp else { return }
        var state = servers[server - 1].disk.recover()
        if servers[server - 1].disk.lastRecoveryCutCompleteRecord {
            // What a node does at start-up (`ChorusNode.suspendVotesIfAcknowledgedDataMayBeLost`).
            if parameters.injectedBug != .uncertainTailTreatedAsTorn {
                state = state.suspendingVotes(termHighWater: servers[server - 1].disk.recordedTerm)
                servers[server - 1].disk.raiseRecordedTerm(to: state.hardState.term)
                servers[server - 1].disk.append(hardState: state.hardState)
                servers[server - 1].disk.sync()
                statistics.votingSuspensions += 1
            }
        }
        do {
            servers[server - 1].replica = try makeReplica(number: server, state: state, seed: random.next())
        } catch {
            checker.recordRecoveryFailure("n\(server): \(error)", at: now)
            return
        }
        trace("restart n\(server) term=\(state.hardState.term.rawValue) last=\(state.entries.last?.index.rawValue ?? state.snapshot.metadata.index.rawValue)")
        checker.serverRestarted(server)
        queue.schedule(
            .tick(server: server, incarnation: servers[server - 1].incarnation),
            at: now + random.next() % parameters.tickMicroseconds)
        drive(server)
    }

    /// A replica recovered from `state`, as a node builds it at start-up.
    func makeReplica(number: Int, state: RaftPersistentState, seed: UInt64) throws -> RaftReplica<ReplicatedMachines> {
        var machines = ReplicatedMachines(injectedBug: parameters.injectedBug)
        try machines.restore(
            from: state.snapshot.metadata.index == .zero ? [] : state.snapshot.data, at: state.snapshot.metadata.index)
        let raft = try RaftNode(
            configuration: parameters.raftConfiguration(for: NodeID(UInt64(number))), persistentState: state,
            randomSeed: seed)
        return try RaftReplica(
            configuration: parameters.replicaConfiguration, raft: raft, machine: machines, durable: state)
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
