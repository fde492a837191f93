import ChorusClocks
import ChorusCore
import ChorusReplication

/// A leaderless cluster (3–5 `ReplicationNode`s with their `SwimMembership`
/// failure detectors), its network, disks, clocks and clients, in one
/// process on virtual time, driven by one `UInt64` seed, which replays the
/// same run bit for bit.
///
///     safety phase (faults on)                       liveness phase (all healed)
///     ├── partitions, clogs, loss, duplication,  ──┤├── every client operation ends,
///     │   delay tails, reordering                  ││   every replica of every key holds
///     ├── crashes: unsynced records lost, torn     ││   the same state, nothing pending,
///     ├── clocks drift (ticks at drifted rates)    ││   within livenessBoundMicroseconds
///     └── clients: puts, deletes, CRDT ops, reads ─┘└──────────────────────────────
///
/// Hinted handoff, read repair, Merkle anti-entropy and causal delivery run
/// inside the cores as configured. Checked: durability at every crash
/// (`LeaderlessSimulation+Durability`); after convergence, no lost
/// acknowledged write (`LostWriteChecker`), causal consistency of the causal
/// keyspace and the session guarantees (`LeaderlessConsistencyCheck`).
///
/// A second mode, `StalenessExperiment`, drives the same world without
/// faults or repair to measure PBS k-staleness.
public final class LeaderlessSimulation {
    public let seed: UInt64
    public let parameters: LeaderlessParameters

    enum Event {
        case tick(server: Int, incarnation: UInt64)
        case deliver(from: Int, to: Int, bytes: [UInt8])
        case syncDone(server: Int, incarnation: UInt64)
        case request(server: Int, ChorusReplication.ClientRequest)
        case response(client: Int, ChorusReplication.ClientResponse)
        case clientNext(client: Int)
        case clientRetry(client: Int, request: ClientRequestID)
        case clientTimeout(client: Int, request: ClientRequestID)
        case nemesis(NemesisEvent)
        case defineLateKeyspace(server: Int)
        case endOfSafetyPhase
        case livenessCheck
    }

    enum Phase { case safety, liveness }

    /// What the clients do: the checked campaign workload, or the PBS experiment's.
    enum Mode {
        case campaign
        case staleness(StalenessExperiment.Plan)
    }

    let mode: Mode
    var random: SeededGenerator
    var now: UInt64 = 0
    var queue = EventQueue<Event>()
    var network: SimulatedNetwork
    var servers: [LeaderlessServer] = []
    var clients: [LeaderlessClient] = []
    public internal(set) var history: [LeaderlessOperation] = []
    /// Which client sent each request, to route its response.
    var requestOwners: [ClientRequestID: Int] = [:]
    var nextRequest: UInt64 = 0
    /// Chain keys written so far, per keyspace, for readers to pick from.
    var chainKeysWritten: [KeyspaceID: [ObjectKey]] = [:]
    var heldMessages = HeldMessages<[UInt8]>()
    var partitionActive = false
    var phase = Phase.safety
    var livenessDeadline: UInt64 = 0
    var finished = false
    var violation: Violation?
    var checkerUnknown = false
    /// The context each blind put superseded, by its unique value, read from
    /// the `minted` record its coordinating replica persisted (a blind put's
    /// context is what that replica held, which no client saw).
    var blindContexts: [[UInt8]: VersionVector] = [:]
    var staleness = StalenessExperiment.Tally()

    let traceSink: ((String) -> Void)?
    /// FNV-1a over every event handled: equal for equal runs.
    var traceHasher = FNV1a()
    public var traceHash: UInt64 { traceHasher.value }
    public internal(set) var statistics = Statistics()

    public struct Statistics: Sendable, Hashable {
        public var messagesSent = 0
        public var messagesDropped = 0
        public var crashes = 0
        public var tornRecoveries = 0
        public var partitions = 0
        public var compactions = 0
        public var sessionRetries = 0
        public var acknowledgedWrites = 0
        public var hintsStored = 0
        public var hintsDelivered = 0
        public var readRepairsSent = 0
        public var antiEntropyKeysRepaired = 0
        public var causalRetransmissions = 0
        /// Definitions the late catalog delivered to running nodes, and the
        /// client requests a node refused meanwhile (`unknownKeyspace`).
        public var keyspacesDefinedLate = 0
        public var unknownKeyspaceRefusals = 0

        public init() {}
    }

    public convenience init(seed: UInt64, parameters: LeaderlessParameters, trace: ((String) -> Void)? = nil) {
        self.init(seed: seed, parameters: parameters, mode: .campaign, trace: trace)
    }

    init(seed: UInt64, parameters: LeaderlessParameters, mode: Mode, trace: ((String) -> Void)?) {
        self.seed = seed
        self.parameters = parameters
        self.mode = mode
        random = SeededGenerator(seed: seed)
        network = SimulatedNetwork(serverCount: parameters.memberCount)
        traceSink = trace
        let drift = parameters.clockDriftPartsPerThousand
        for number in 1...parameters.memberCount {
            let skew = Int64(random.next() % UInt64(2 * drift + 1)) - Int64(drift)
            let interval = UInt64(Int64(parameters.tickMicroseconds) + Int64(parameters.tickMicroseconds) * skew / 1_000)
            servers.append(LeaderlessServer(number: number, tickMicroseconds: interval))
            servers[number - 1].definedKeyspaces = parameters.initialKeyspaces
        }
        for index in 0..<parameters.clientCount {
            let skew = Int(random.next() % UInt64(2 * drift + 1)) - drift
            clients.append(LeaderlessClient(index: index, clockDriftPartsPerThousand: skew))
        }
    }

    var faultsActive: Bool { phase == .safety && !isStaleness }

    var isStaleness: Bool {
        if case .staleness = mode { return true }
        return false
    }

    // MARK: Running

    /// Runs the seed to its end: the first violation, or a converged cluster
    /// whose history passes every checker.
    public func run() -> LeaderlessSeedOutcome {
        for index in servers.indices {
            let records = servers[index].recoveredRecords
            servers[index].recoveredRecords = []
            start(index + 1, recovering: records)
        }
        for client in clients.indices {
            queue.schedule(.clientNext(client: client), at: random.next() % 50_000)
        }
        if parameters.lateKeyspace != nil {
            for server in 1...servers.count {
                queue.schedule(.defineLateKeyspace(server: server), at: random.next() % parameters.catalogDelayMaximumMicroseconds)
            }
        }
        if !isStaleness {
            scheduleNemesis(.partition, mean: parameters.partitionMeanIntervalMicroseconds)
            scheduleNemesis(.crash, mean: parameters.crashMeanIntervalMicroseconds)
        }
        queue.schedule(.endOfSafetyPhase, at: parameters.safetyPhaseMicroseconds)

        var events = 0
        while !finished, let (time, event) = queue.popFirst() {
            precondition(time >= now, "time runs forward")
            now = time
            events += 1
            handle(event)
            if violation != nil { break }
            if phase == .liveness && now > livenessDeadline {
                recordLivenessFailure()
                break
            }
        }
        if violation == nil && finished && !isStaleness { checkHistory() }
        collectStatistics()
        return LeaderlessSeedOutcome(
            seed: seed, violation: violation, operations: history.count,
            completedOperations: history.filter { $0.completedAt != nil }.count, simulatedMicroseconds: now,
            events: events, traceHash: traceHash, statistics: statistics, checkerUnknown: checkerUnknown)
    }

    func fail(_ property: Violation.Property, _ detail: String) {
        if violation == nil { violation = Violation(property: property, detail: detail, time: now) }
        trace("VIOLATION \(property.rawValue): \(detail)")
    }

    func handle(_ event: Event) {
        switch event {
        case .tick(let server, let incarnation):
            hash(1, UInt64(server))
            guard servers[server - 1].incarnation == incarnation, servers[server - 1].isUp else { return }
            tick(server)
            queue.schedule(.tick(server: server, incarnation: incarnation), at: now + servers[server - 1].tickMicroseconds)
        case .deliver(let from, let to, let bytes):
            hash(2, UInt64(from << 8 | to), UInt64(bytes.count), bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
            deliver(bytes, from: from, to: to)
        case .syncDone(let server, let incarnation):
            hash(3, UInt64(server))
            guard servers[server - 1].incarnation == incarnation, servers[server - 1].syncPending else { return }
            completeSync(server)
        case .request(let server, let request):
            hash(4, UInt64(server), request.id.rawValue)
            serve(request, on: server)
        case .response(let client, let response):
            hash(5, UInt64(client), response.id.rawValue)
            clientReceived(response, client: client)
        case .clientNext(let client):
            hash(6, UInt64(client))
            startOperation(client: client)
        case .clientRetry(let client, let request):
            hash(7, UInt64(client), request.rawValue)
            guard clients[client].current?.request == request else { return }
            sendAttempt(client: client)
        case .clientTimeout(let client, let request):
            hash(8, UInt64(client), request.rawValue)
            guard clients[client].current?.request == request else { return }
            complete(client: client, outcome: .indeterminate)
        case .nemesis(let event):
            handle(event)
        case .defineLateKeyspace(let server):
            hash(15, UInt64(server))
            defineLateKeyspace(on: server)
        case .endOfSafetyPhase:
            hash(14)
            beginLivenessPhase()
        case .livenessCheck:
            if livenessAchieved() {
                finished = true
            } else {
                queue.schedule(.livenessCheck, at: now + 100_000)
            }
        }
    }

    func collectStatistics() {
        statistics.tornRecoveries = servers.reduce(0) { $0 + $1.disk.tornRecoveries }
        statistics.acknowledgedWrites = history.filter { $0.writeReply != nil }.count
        for server in servers {
            guard let metrics = server.replication?.metrics else { continue }
            statistics.hintsStored += metrics.hintsStored
            statistics.hintsDelivered += metrics.hintsDelivered
            statistics.readRepairsSent += metrics.readRepairsSent
            statistics.antiEntropyKeysRepaired += metrics.antiEntropyKeysRepaired
            statistics.causalRetransmissions += metrics.causalRetransmissions
        }
    }

    // MARK: Tracing

    func trace(_ line: @autoclosure () -> String) {
        guard let traceSink else { return }
        traceSink(TraceLine.stamped(at: now, line()))
    }

    @inline(__always)
    func hash(_ values: UInt64...) {
        traceHasher.combine(now)
        for value in values { traceHasher.combine(value) }
    }
}

/// How one leaderless seed ended.
public struct LeaderlessSeedOutcome: CampaignSeedOutcome {
    public var seed: UInt64
    public var violation: Violation?
    public var operations: Int
    public var completedOperations: Int
    public var simulatedMicroseconds: UInt64
    public var events: Int
    public var traceHash: UInt64
    public var statistics: LeaderlessSimulation.Statistics
    /// The causal or session checker could not decide within its budget.
    public var checkerUnknown: Bool
}
