import ChorusCheck
import ChorusCore
import ChorusKeyValue
import ChorusMachines
import ChorusRaft
import ChorusReplica

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
        case nemesis(NemesisEvent)
        case membershipChange
        case leadershipTransfer
        /// Pause a server the simulator picks (SIGSTOP, then SIGCONT later).
        case pause
        case logMatchingCheck
        case endOfSafetyPhase
        case livenessCheck
        /// The saga workload's participants, timers, clients and operator.
        case saga(SagaWorkloadEvent)
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
    /// Counts invocations and completions, for checkers that need a total real-time order.
    var operationSequence = 0
    /// The event-store workload's clients and history (`workload == .eventStore`).
    var eventWorkload: EventWorkload
    /// The saga workload's hosts, participants and clients (`workload == .sagas`).
    var sagaWorkload: SagaWorkload
    var workload: SimulationWorkload { parameters.workload }
    var phase = Phase.safety
    var livenessDeadline: UInt64 = 0
    var finished = false
    var heldMessages = HeldMessages<RaftMessage>()
    var partitionActive = false

    /// Called with each trace line when tracing; nil otherwise (the fast path).
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
        public var leaderElections = 0
        public var membershipChanges = 0
        public var snapshotsInstalled = 0
        public var compactions = 0
        public var partitions = 0
        public var pauses = 0
        /// Leader commits that landed on an entry of an earlier term (only the
        /// `old-term-commit` bug makes these).
        public var oldTermCommits = 0
        /// Crashes that damaged the final synced record, and the restarts
        /// that suspended votes after finding it.
        public var damagedFinalRecords = 0
        public var votingSuspensions = 0
    }

    public init(seed: UInt64, parameters: SimulationParameters, trace: ((String) -> Void)? = nil) {
        self.seed = seed
        self.parameters = parameters
        self.random = SeededGenerator(seed: seed)
        self.network = SimulatedNetwork(serverCount: parameters.serverCount)
        self.checker = SafetyChecker(serverCount: parameters.serverCount)
        self.traceSink = trace
        var workloadRandom = SeededGenerator(seed: seed ^ 0xE7E7_0000_5EED)
        self.eventWorkload = EventWorkload(
            clientCount: parameters.clientCount, streamCount: parameters.streamCount, random: &workloadRandom)
        var sagaRandom = SeededGenerator(seed: seed ^ 0x5A6A_0000_5EED)
        self.sagaWorkload = SagaWorkload(serverCount: parameters.serverCount, injectedBug: parameters.injectedBug, random: &sagaRandom)
        let voters = (1...parameters.voterCount).map { NodeID(UInt64($0)) }
        for number in 1...parameters.serverCount {
            let state: RaftPersistentState = number <= parameters.voterCount ? .bootstrap(voters: voters) : .joining
            let drift = Int64(random.next() % UInt64(2 * parameters.clockDriftPartsPerThousand + 1))
                - Int64(parameters.clockDriftPartsPerThousand)
            let interval = UInt64(Int64(parameters.tickMicroseconds) + Int64(parameters.tickMicroseconds) * drift / 1_000)
            servers.append(SimulatedServer(number: number, disk: SimulatedDisk(initial: state), tickMicroseconds: interval))
            servers[number - 1].replica = try? makeReplica(number: number, state: state, seed: random.next())
        }
        for index in 0..<parameters.clientCount {
            clients.append(SimulatedClient(index: index, believedLeader: 1 + Int(random.next() % UInt64(parameters.serverCount))))
        }
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
        if workload == .sagas {
            for client in sagaWorkload.clients.indices {
                queue.schedule(.saga(.clientNext(client: client)), at: random.next() % 50_000)
            }
        }
        scheduleNemesis(.partition, mean: parameters.partitionMeanIntervalMicroseconds)
        scheduleNemesis(.crash, mean: parameters.crashMeanIntervalMicroseconds)
        scheduleNemesis(.membershipChange, mean: parameters.membershipChangeMeanIntervalMicroseconds)
        scheduleNemesis(.leadershipTransfer, mean: parameters.leadershipTransferMeanIntervalMicroseconds)
        scheduleNemesis(.pause, mean: parameters.pauseMeanIntervalMicroseconds)
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
        var strongerViolated: Bool?
        if checker.violation == nil {
            switch workload {
            case .keyValue:
                let outcome = LevelCheck.check(history, parameters: parameters)
                strongerViolated = outcome.strongerViolated
                switch outcome.verdict {
                case .linearizable: break
                case .violated(let detail):
                    if parameters.readLevel == .linearizable {
                        checker.recordLinearizabilityFailure(detail, at: now)
                    } else {
                        checker.recordLevelFailure("\(parameters.readLevel): \(detail)", at: now)
                    }
                case .unknown: linearizabilityUnknown = true
                }
            case .eventStore:
                if traceSink != nil, let recorded = eventHistory() {
                    trace("recorded history (chorus check events):")
                    for line in recorded.jsonLines().split(separator: "\n") { trace(String(line)) }
                }
                switch EventHistoryCheck.check(eventWorkload) {
                case .satisfied: break
                case .violated(let detail): checker.recordEventStoreFailure(detail, at: now)
                case .unknown: linearizabilityUnknown = true
                }
            case .sagas:
                checkSagas()
            }
        }
        let operationCount: Int
        let completedCount: Int
        switch workload {
        case .keyValue:
            operationCount = history.count
            completedCount = history.filter { $0.completedAt != nil }.count
        case .eventStore:
            operationCount = eventWorkload.operations.count + eventWorkload.records.count
            completedCount = eventWorkload.operations.filter { $0.completedAt != nil }.count + eventWorkload.records.count
        case .sagas:
            operationCount = sagaWorkload.statistics.clientOperations
            completedCount = sagaWorkload.statistics.clientAnswers
        }
        return SeedOutcome(
            linearizabilityUnknown: linearizabilityUnknown, strongerCheckerViolated: strongerViolated,
            seed: seed, violation: checker.violation, operations: operationCount,
            completedOperations: completedCount,
            simulatedMicroseconds: now, events: events, traceHash: traceHash, statistics: statistics,
            sagaStatistics: workload == .sagas ? sagaWorkload.statistics : nil)
    }

    func scheduleNemesis(_ event: Event, mean: UInt64) {
        guard mean > 0, phase == .safety else { return }
        queue.schedule(event, at: now + 1 + random.next() % (2 * mean))
    }

    func handle(_ event: Event) {
        switch event {
        case .tick(let server, let incarnation):
            hash(1, UInt64(server))
            guard servers[server - 1].incarnation == incarnation, servers[server - 1].isUp else { return }
            guard !deferredWhilePaused(event, server: server) else { return }
            if servers[server - 1].clock == nil {
                servers[server - 1].clock = TickClock(intervalMicroseconds: servers[server - 1].tickMicroseconds, startMicroseconds: now)
            }
            servers[server - 1].replica!.tick(elapsedTicks: servers[server - 1].clock!.timerFired(atMicroseconds: now))
            drive(server)
            queue.schedule(.tick(server: server, incarnation: incarnation), at: now + servers[server - 1].tickMicroseconds)
        case .deliver(let message):
            guard !deferredWhilePaused(event, server: Int(message.to.rawValue)) else { return }
            deliver(message)
        case .fsyncDone(let server, let incarnation):
            hash(3, UInt64(server))
            guard servers[server - 1].incarnation == incarnation, let ticket = servers[server - 1].persistAwaitingSync else {
                return
            }
            guard !deferredWhilePaused(event, server: server) else { return }
            servers[server - 1].persistAwaitingSync = nil
            servers[server - 1].disk.sync()
            servers[server - 1].replica!.persisted(ticket)
            drive(server)
        case .request(let server, let request):
            hash(4, UInt64(server), request.requestID)
            guard !deferredWhilePaused(event, server: server) else { return }
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
        case .nemesis(let event):
            handle(event)
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
        case .pause:
            hash(19)
            guard phase == .safety else { return }
            pauseSomeServer()
            scheduleNemesis(.pause, mean: parameters.pauseMeanIntervalMicroseconds)
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
        case .saga(let event):
            handle(event)
        }
    }
}

/// How one seed ended.
public struct SeedOutcome: CampaignSeedOutcome {
    /// The linearizability checker ran out of budget on this seed's history.
    public var linearizabilityUnknown: Bool
    /// Whether the next stronger level's checker found this seed's history in
    /// violation (nil: the level has none, or the seed failed first).
    public var strongerCheckerViolated: Bool?
    public var seed: UInt64
    public var violation: Violation?
    public var operations: Int
    public var completedOperations: Int
    public var simulatedMicroseconds: UInt64
    public var events: Int
    public var traceHash: UInt64
    public var statistics: Simulation.Statistics
    /// What the saga workload did (nil for the other workloads).
    public var sagaStatistics: SagaStatistics? = nil
}

extension SeedOutcome {
    public var checkerUnknown: Bool { linearizabilityUnknown }
}

extension CampaignSummary where Outcome == SeedOutcome {
    /// Seeds whose history the linearizability checker could not decide in its budget.
    public var linearizabilityUnknown: Int { checkerUnknown }
}
