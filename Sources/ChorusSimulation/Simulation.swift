import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// A whole Raft cluster, its network, disks, clocks and clients, in one
/// process on virtual time, driven by one `UInt64` seed. The same seed replays
/// the same run bit for bit: every random choice comes from `SeededGenerator`s
/// derived from the seed, events at the same instant run in scheduling order,
/// and nothing iterates a dictionary.
///
///     safety phase (faults on)                     liveness phase (all healed)
///     ├── partitions, clogs, loss, duplication ──┤├── every client op completes,
///     ├── crashes, torn writes, restarts         ││   every member converges,
///     ├── membership changes, transfers          ││   within livenessBoundMicroseconds
///     └── clients: get / put / cas / delete ─────┘└──────────────────────────────
///
/// Checked all along: the Raft safety properties (`SafetyChecker`); at the end:
/// convergence of every member's state machine.
public final class Simulation {
    public let seed: UInt64
    public let parameters: SimulationParameters

    enum Event {
        case tick(server: Int, incarnation: UInt64)
        case deliver(RaftMessage)
        case fsyncDone(server: Int, incarnation: UInt64)
        case request(server: Int, ClientRequest)
        case response(client: Int, ClientResponse)
        case clientNext(client: Int)
        case clientRetry(client: Int, requestID: UInt64)
        case clientTimeout(client: Int, requestID: UInt64)
        case partition
        case isolate(server: Int)
        case reconnect(server: Int)
        case heal
        case clog(server: Int, clogged: Bool)
        case crash
        case crashServer(server: Int, incarnation: UInt64)
        case restart(server: Int)
        case membershipChange
        case leadershipTransfer
        case logMatchingCheck
        case endOfSafetyPhase
        case livenessCheck
    }

    enum Phase { case safety, liveness }

    var random: SeededGenerator
    var now: UInt64 = 0
    var queue = EventQueue<Event>()
    var network: SimulatedNetwork
    var servers: [SimulatedServer] = []
    var clients: [SimulatedClient] = []
    var checker: SafetyChecker
    public internal(set) var history: [ClientOperation] = []
    var phase = Phase.safety
    var livenessDeadline: UInt64 = 0
    var finished = false
    var heldMessages: [RaftMessage] = []
    var partitionActive = false

    /// Called with each trace line when tracing; nil otherwise (the fast path).
    let traceSink: ((String) -> Void)?
    /// FNV-1a over every event handled: equal for equal runs.
    public private(set) var traceHash: UInt64 = 0xCBF2_9CE4_8422_2325
    public private(set) var statistics = Statistics()

    public struct Statistics: Sendable, Hashable {
        public var messagesSent = 0
        public var messagesDropped = 0
        public var crashes = 0
        public var tornRecoveries = 0
        public var leaderElections = 0
        public var membershipChanges = 0
        public var snapshotsInstalled = 0
        public var compactions = 0
        public var partitions = 0
        /// Leader commits that landed on an entry of an earlier term (only the
        /// `old-term-commit` bug makes these).
        public var oldTermCommits = 0
    }

    public init(seed: UInt64, parameters: SimulationParameters, trace: ((String) -> Void)? = nil) {
        self.seed = seed
        self.parameters = parameters
        self.random = SeededGenerator(seed: seed)
        self.network = SimulatedNetwork(serverCount: parameters.serverCount)
        self.checker = SafetyChecker(serverCount: parameters.serverCount)
        self.traceSink = trace
        let voters = (1...parameters.voterCount).map { NodeID(UInt64($0)) }
        for number in 1...parameters.serverCount {
            let state: RaftPersistentState = number <= parameters.voterCount ? .bootstrap(voters: voters) : .joining
            let drift = Int64(random.next() % UInt64(2 * parameters.clockDriftPartsPerThousand + 1))
                - Int64(parameters.clockDriftPartsPerThousand)
            let interval = UInt64(Int64(parameters.tickMicroseconds) + Int64(parameters.tickMicroseconds) * drift / 1_000)
            var server = SimulatedServer(number: number, disk: SimulatedDisk(initial: state), tickMicroseconds: interval)
            server.raft = Self.makeRaft(parameters: parameters, number: number, state: state, seed: random.next())
            servers.append(server)
        }
        for index in 0..<parameters.clientCount {
            clients.append(SimulatedClient(index: index, believedLeader: 1 + Int(random.next() % UInt64(parameters.serverCount))))
        }
    }

    private static func makeRaft(parameters: SimulationParameters, number: Int, state: RaftPersistentState, seed: UInt64)
        -> RaftNode?
    {
        try? RaftNode(
            configuration: parameters.raftConfiguration(for: NodeID(UInt64(number))), persistentState: state,
            randomSeed: seed)
    }

    // MARK: Running

    /// Runs the seed to its end: the first violation, or a converged cluster.
    public func run() -> SeedOutcome {
        for index in servers.indices {
            // Clock skew: each server's ticks start at a random phase.
            queue.schedule(.tick(server: index + 1, incarnation: 0), at: random.next() % parameters.tickMicroseconds)
        }
        for client in clients.indices {
            queue.schedule(.clientNext(client: client), at: random.next() % 50_000)
        }
        scheduleNemesis(.partition, mean: parameters.partitionMeanIntervalMicroseconds)
        scheduleNemesis(.crash, mean: parameters.crashMeanIntervalMicroseconds)
        scheduleNemesis(.membershipChange, mean: parameters.membershipChangeMeanIntervalMicroseconds)
        scheduleNemesis(.leadershipTransfer, mean: parameters.leadershipTransferMeanIntervalMicroseconds)
        queue.schedule(.logMatchingCheck, at: 500_000)
        queue.schedule(.endOfSafetyPhase, at: parameters.safetyPhaseMicroseconds)

        var events = 0
        while !finished, let (time, event) = queue.popFirst() {
            precondition(time >= now, "time runs forward")
            now = time
            events += 1
            handle(event)
            if checker.violation != nil { break }
            if phase == .liveness && now > livenessDeadline {
                recordLivenessFailure()
                break
            }
        }
        statistics.tornRecoveries = servers.reduce(0) { $0 + $1.disk.tornRecoveries }
        var linearizabilityUnknown = false
        if checker.violation == nil {
            switch HistoryCheck.check(history) {
            case .linearizable: break
            case .violated(let detail): checker.recordLinearizabilityFailure(detail, at: now)
            case .unknown: linearizabilityUnknown = true
            }
        }
        return SeedOutcome(
            linearizabilityUnknown: linearizabilityUnknown,
            seed: seed, violation: checker.violation, operations: history.count,
            completedOperations: history.filter { $0.completedAt != nil }.count,
            simulatedMicroseconds: now, events: events, traceHash: traceHash, statistics: statistics)
    }

    private func scheduleNemesis(_ event: Event, mean: UInt64) {
        guard mean > 0, phase == .safety else { return }
        queue.schedule(event, at: now + 1 + random.next() % (2 * mean))
    }

    private func handle(_ event: Event) {
        switch event {
        case .tick(let server, let incarnation):
            hash(1, UInt64(server))
            guard servers[server - 1].incarnation == incarnation, servers[server - 1].isUp else { return }
            servers[server - 1].raft!.tick()
            pump(server)
            queue.schedule(.tick(server: server, incarnation: incarnation), at: now + servers[server - 1].tickMicroseconds)
        case .deliver(let message):
            deliver(message)
        case .fsyncDone(let server, let incarnation):
            hash(3, UInt64(server))
            guard servers[server - 1].incarnation == incarnation, let ready = servers[server - 1].readyAwaitingSync else {
                return
            }
            servers[server - 1].readyAwaitingSync = nil
            servers[server - 1].disk.sync()
            complete(ready, on: server)
            pump(server)
        case .request(let server, let request):
            hash(4, UInt64(server), request.requestID)
            serve(request, on: server)
        case .response(let client, let response):
            hash(5, UInt64(client), response.requestID)
            clientReceived(response, client: client)
        case .clientNext(let client):
            hash(6, UInt64(client))
            startOperation(client: client)
        case .clientRetry(let client, let requestID):
            hash(7, UInt64(client), requestID)
            guard clients[client].current?.requestID == requestID else { return }
            sendAttempt(client: client)
        case .clientTimeout(let client, let requestID):
            hash(8, UInt64(client), requestID)
            guard clients[client].current?.requestID == requestID else { return }
            clients[client].believedLeader = randomServer()
            sendAttempt(client: client)
        case .partition:
            hash(9)
            guard phase == .safety else { return }
            startPartition()
        case .isolate(let server):
            hash(17, UInt64(server))
            guard phase == .safety else { return }
            statistics.partitions += 1
            network.setIsolated(server, true)
            trace("isolate new leader n\(server)")
            queue.schedule(.reconnect(server: server), at: now + 30_000 + random.next() % 300_000)
        case .reconnect(let server):
            hash(18, UInt64(server))
            network.setIsolated(server, false)
            trace("reconnect n\(server)")
        case .heal:
            hash(10)
            guard partitionActive else { return }
            healNetwork()
            scheduleNemesis(.partition, mean: parameters.partitionMeanIntervalMicroseconds)
        case .clog(let server, let clogged):
            hash(11, UInt64(server), clogged ? 1 : 0)
            guard partitionActive else { return }
            network.setClogged(server, clogged)
            if !clogged { releaseHeldMessages() }
        case .crash:
            hash(12)
            guard phase == .safety else { return }
            crashSomeServer()
            scheduleNemesis(.crash, mean: parameters.crashMeanIntervalMicroseconds)
        case .crashServer(let server, let incarnation):
            hash(19, UInt64(server))
            guard phase == .safety, servers[server - 1].incarnation == incarnation, servers[server - 1].isUp else { return }
            crash(server)
        case .restart(let server):
            hash(13, UInt64(server))
            restart(server)
        case .membershipChange:
            hash(14)
            guard phase == .safety else { return }
            changeMembership()
            scheduleNemesis(.membershipChange, mean: parameters.membershipChangeMeanIntervalMicroseconds)
        case .leadershipTransfer:
            hash(15)
            guard phase == .safety else { return }
            transferLeadership()
            scheduleNemesis(.leadershipTransfer, mean: parameters.leadershipTransferMeanIntervalMicroseconds)
        case .logMatchingCheck:
            checkLogMatching()
            queue.schedule(.logMatchingCheck, at: now + 500_000)
        case .endOfSafetyPhase:
            hash(16)
            beginLivenessPhase()
        case .livenessCheck:
            if livenessAchieved() {
                checkLogMatching()
                finished = true
            } else {
                queue.schedule(.livenessCheck, at: now + 20_000)
            }
        }
    }

    // MARK: Servers

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

    private func complete(_ ready: Ready, on server: Int) {
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

    private func apply(_ entry: LogEntry, on server: Int) {
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

    private func serveConfirmedReads(on server: Int) {
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

    private func maybeCompact(_ server: Int) {
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

    private func serve(_ request: ClientRequest, on server: Int) {
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

    private func crashSomeServer() {
        let up = servers.filter(\.isUp).map(\.number)
        guard !up.isEmpty else { return }
        // Leaders are the interesting victims: favour them.
        let leader = currentLeader()
        let victim = leader != nil && random.chance(parameters.leaderCrashBias) ? leader! : up[Int(random.next() % UInt64(up.count))]
        crash(victim)
    }

    private func crash(_ victim: Int) {
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

    private func restart(_ server: Int) {
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

    // MARK: Network

    var faultsActive: Bool { phase == .safety }

    func send(_ message: RaftMessage) {
        statistics.messagesSent += 1
        let from = Int(message.from.rawValue)
        let to = Int(message.to.rawValue)
        guard (1...parameters.serverCount).contains(to) else { return }
        if faultsActive && (network.isBlocked(from: from, to: to) || random.chance(parameters.lossProbability)) {
            statistics.messagesDropped += 1
            return
        }
        if network.isClogged(from) || network.isClogged(to) {
            heldMessages.append(message)
            return
        }
        queue.schedule(.deliver(message), at: now + networkDelay())
        if faultsActive && random.chance(parameters.duplicationProbability) {
            queue.schedule(.deliver(message), at: now + networkDelay())
        }
    }

    func networkDelay() -> UInt64 {
        let stretch = faultsActive ? parameters.safetyDelayStretch : 1
        let minimum = parameters.delayMinimumMicroseconds * stretch
        var maximum = parameters.delayMaximumMicroseconds * stretch
        if faultsActive && random.chance(parameters.delayTailProbability) { maximum *= 10 }
        return minimum + random.next() % (maximum - minimum + 1)
    }

    private func deliver(_ message: RaftMessage) {
        let to = Int(message.to.rawValue)
        hashMessage(message)
        guard servers[to - 1].isUp else { return }
        if traceSink != nil { trace(message.description) }
        servers[to - 1].raft!.step(message)
        pump(to)
    }

    private func releaseHeldMessages() {
        var stillHeld: [RaftMessage] = []
        for message in heldMessages {
            if network.isClogged(Int(message.from.rawValue)) || network.isClogged(Int(message.to.rawValue)) {
                stillHeld.append(message)
            } else {
                queue.schedule(.deliver(message), at: now + networkDelay())
            }
        }
        heldMessages = stillHeld
    }

    private func startPartition() {
        guard !partitionActive else { return }
        partitionActive = true
        statistics.partitions += 1
        let count = parameters.serverCount
        var order = Array(1...count)
        shuffle(&order)
        // Leader isolation is weighted up: rapid leader churn is what leaves
        // divergent uncommitted tails behind (the raw material of figure 3.7).
        let shape = [0, 0, 1, 1, 1, 2, 2, 3, 4, 4][Int(random.next() % 10)]
        switch shape {
        case 0:
            // Majority / minority (or any split).
            let size = 1 + Int(random.next() % UInt64(count - 1))
            network.partition(Array(order.prefix(size)))
            trace("partition \(order.prefix(size)) | rest")
        case 1:
            // Isolate the leader.
            let leader = currentLeader() ?? order[0]
            network.partition([leader])
            trace("partition isolate leader n\(leader)")
        case 2:
            // Bridge: one server sees both halves, which cannot see each other.
            let bridge = order[0]
            let rest = Array(order.dropFirst())
            let left = Array(rest.prefix(rest.count / 2))
            for a in left { for b in rest where !left.contains(b) { network.block(from: a, to: b); network.block(from: b, to: a) } }
            trace("partition bridge n\(bridge) between \(left) and the rest")
        case 3:
            // Asymmetric: some links carry traffic one way only.
            let links = 1 + Int(random.next() % UInt64(count))
            for _ in 0..<links {
                let from = randomServer()
                let to = randomServer()
                network.block(from: from, to: to)
            }
            trace("partition asymmetric (\(links) one-way cuts)")
        default:
            // Swizzle-clogging: clog a few servers one by one, then unclog them in another order.
            let victims = Array(order.prefix(1 + Int(random.next() % UInt64(count))))
            var at = now
            for victim in victims {
                at += 1 + random.next() % 100_000
                queue.schedule(.clog(server: victim, clogged: true), at: at)
            }
            var unclogOrder = victims
            shuffle(&unclogOrder)
            for victim in unclogOrder {
                at += 1 + random.next() % 200_000
                queue.schedule(.clog(server: victim, clogged: false), at: at)
            }
            trace("partition swizzle-clog \(victims)")
        }
        queue.schedule(.heal, at: now + 1 + random.next() % (2 * parameters.partitionMeanDurationMicroseconds))
    }

    private func healNetwork() {
        partitionActive = false
        network.heal()
        releaseHeldMessages()
        trace("heal")
    }

    func shuffle(_ array: inout [Int]) {
        guard array.count > 1 else { return }
        for index in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(index, Int(random.next() % UInt64(index + 1)))
        }
    }

    // MARK: Operators

    private func changeMembership() {
        guard let leader = currentLeader() else { return }
        let raft = servers[leader - 1].raft!
        let membership = raft.membership
        let outsiders = (1...parameters.serverCount).map { NodeID(UInt64($0)) }.filter { !membership.isMember($0) }
        var options: [MembershipChange] = []
        options += membership.learners.map { .promoteLearner($0) }
        if membership.voters.count > 3 || (membership.voters.count == 3 && !membership.learners.isEmpty) {
            options += membership.voters.map { .removeMember($0) }
        }
        options += outsiders.map { .addLearner($0) }
        guard !options.isEmpty else { return }
        let change = options[Int(random.next() % UInt64(options.count))]
        if (try? servers[leader - 1].raft!.proposeMembershipChange(change)) != nil {
            statistics.membershipChanges += 1
            trace("n\(leader) proposes \(change)")
        }
        pump(leader)
    }

    private func transferLeadership() {
        guard let leader = currentLeader() else { return }
        let voters = servers[leader - 1].raft!.membership.voters.filter { $0.rawValue != UInt64(leader) }
        guard !voters.isEmpty else { return }
        let target = voters[Int(random.next() % UInt64(voters.count))]
        if (try? servers[leader - 1].raft!.transferLeadership(to: target)) != nil {
            trace("n\(leader) transfers leadership to \(target)")
        }
        pump(leader)
    }

    // MARK: Phases

    private func beginLivenessPhase() {
        phase = .liveness
        livenessDeadline = now + parameters.livenessBoundMicroseconds
        trace("liveness phase: heal everything")
        healNetwork()
        for server in servers where !server.isUp {
            restart(server.number)
        }
        checkLogMatching()
        queue.schedule(.livenessCheck, at: now + 20_000)
    }

    /// Every client is done and every member of the leader's configuration has
    /// applied the leader's whole log, with identical state.
    private func livenessAchieved() -> Bool {
        guard clients.allSatisfy({ $0.current == nil }) else { return false }
        guard let leader = currentLeader(), let leaderRaft = servers[leader - 1].raft else { return false }
        guard leaderRaft.commitIndex == leaderRaft.lastIndex, leaderRaft.term(at: leaderRaft.commitIndex) == leaderRaft.term
        else { return false }
        let digest = servers[leader - 1].store.stateDigest
        for member in leaderRaft.membership.members {
            let server = servers[Int(member.rawValue) - 1]
            guard let raft = server.raft, server.readyAwaitingSync == nil, raft.lastIndex == leaderRaft.lastIndex,
                raft.appliedIndex == leaderRaft.lastIndex, server.store.appliedIndex == leaderRaft.lastIndex
            else { return false }
            if server.store.stateDigest != digest {
                checker.recordConvergenceFailure(
                    "n\(member.rawValue) and n\(leader) applied through \(leaderRaft.lastIndex.rawValue) but hold different state",
                    at: now)
                return false
            }
        }
        return true
    }

    private func recordLivenessFailure() {
        let pending = clients.filter { $0.current != nil }.count
        let leader = currentLeader().map { "n\($0)" } ?? "none"
        checker.recordLivenessFailure(
            "not converged \(parameters.livenessBoundMicroseconds / 1_000_000)s after healing: \(pending) client operation(s) pending, leader \(leader)",
            at: now)
    }

    private func checkLogMatching() {
        let live = servers.compactMap { server in server.raft.map { (server.number, $0) } }
        checker.checkLogMatching(live, time: now)
    }

    // MARK: Tracing

    func trace(_ line: @autoclosure () -> String) {
        guard let traceSink else { return }
        let seconds = now / 1_000_000
        let micros = now % 1_000_000
        let fraction = String(micros).count < 6 ? String(repeating: "0", count: 6 - String(micros).count) + String(micros) : String(micros)
        traceSink("\(seconds).\(fraction) \(line())")
    }

    @inline(__always)
    func hash(_ values: UInt64...) {
        mix(now)
        for value in values { mix(value) }
    }

    @inline(__always)
    private func mix(_ value: UInt64) {
        var remaining = value
        for _ in 0..<8 {
            traceHash ^= remaining & 0xFF
            traceHash = traceHash &* 0x100_0000_01B3
            remaining >>= 8
        }
    }

    private func hashMessage(_ message: RaftMessage) {
        mix(now)
        mix(message.from.rawValue << 32 | message.to.rawValue)
        mix(message.term.rawValue)
        switch message.payload {
        case .appendEntries(let append):
            mix(1)
            mix(append.previousIndex.rawValue)
            mix(UInt64(append.entries.count))
            mix(append.commit.rawValue)
        case .appendEntriesResponse(let response):
            mix(2)
            mix(response.index.rawValue)
            mix(response.rejected ? 1 : 0)
        case .requestVote(let request): mix(request.isPreVote ? 3 : 4)
        case .requestVoteResponse(let response): mix(response.granted ? 5 : 6)
        case .heartbeat(let heartbeat): mix(7); mix(heartbeat.round)
        case .heartbeatResponse(let response): mix(8); mix(response.round)
        case .installSnapshot(let snapshot): mix(9); mix(snapshot.metadata.index.rawValue)
        case .timeoutNow: mix(10)
        case .proposal: mix(11)
        case .readIndex(let context): mix(12); mix(context)
        case .readIndexResponse(let index, _): mix(13); mix(index.rawValue)
        }
    }
}

/// How one seed ended.
public struct SeedOutcome: Sendable {
    /// The linearizability checker ran out of budget on this seed's history.
    public var linearizabilityUnknown: Bool
    public var seed: UInt64
    public var violation: Violation?
    public var operations: Int
    public var completedOperations: Int
    public var simulatedMicroseconds: UInt64
    public var events: Int
    public var traceHash: UInt64
    public var statistics: Simulation.Statistics
}
