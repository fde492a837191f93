import ChorusCore
import ChorusEventStore
import ChorusRaft
import ChorusReplica
import ChorusSagas

/// The saga workload (`chorus simulate sagas`): every simulated server runs a
/// `SagaHost`, the sans-IO saga runtime the node runs too, on its replica of
/// the event store. The host of the server that leads decides; its appends
/// go through that server's `RaftReplica` with the expected revision; its
/// calls reach simulated participants over a lossy network; its timers are
/// events on that server's clock. Followers' hosts fold their applied log.
///
///     client ─start/cancel─▶ leader's host ─append─▶ RaftReplica ─commit─▶ every EventStore
///                               │  ▲                                          │ applied log
///                    call ──────┘  └── reply, tick, lock expiry               ▼
///                participants (idempotent, lossy, late)          followers' hosts observe
///
/// Faults are the Raft simulator's (crashes, partitions, pauses, leader
/// changes, membership changes); then the cluster heals, an operator sweep
/// retries and then resolves parked sagas, and every saga must end. Checked
/// at the end (`checkSagas`): `SagaChecker` on every saga stream of the
/// longest applied log, every acknowledged start exists, every effect a
/// compensated saga applied was undone, and (liveness) every saga final.
///
/// **Clocks.** A server's saga clock is its wall clock in milliseconds:
/// virtual time with the server's drift and a fixed offset, surviving
/// crashes. Clocks differ between servers by up to the seed's skew (0, 20 ms,
/// 0.5 s or 2 s); the host needs only the leader's clock to be monotonic
/// while it leads, and raises it to the latest time it folded
/// (`SagaHost.timeFloor`), so a new leader whose clock is behind never dates
/// a decision before what it follows.
struct SagaWorkload {
    /// A saga the clients will start, with what they start it with.
    struct PlannedSaga {
        var stream: String
        var definition: SagaDefinition
        var id: SagaID
        var input: JSONValue
    }

    /// One server's saga runtime: the host and the driver's bookkeeping,
    /// all lost at a crash (the streams are the durable part).
    struct ServerRuntime {
        var host: SagaHost
        /// The term in which the host was told to lead; nil while it follows.
        var leadingTerm: Term?
        /// The next `$all` position to observe, and the applied index observed through.
        var observedPosition = GlobalPosition.zero
        var observedAppliedIndex = LogIndex.zero
        /// The append the host has in flight for each stream: only its
        /// completion is reported to the host (an older one's is not).
        var appendInFlight: [String: RequestToken] = [:]
        var appendStreams: [RequestToken: String] = [:]
        /// What each ticket the host will answer stands for.
        var tickets: [UInt64: ClientTicket] = [:]
        var nextTicket: UInt64 = 0
        /// Saga timers already on the queue, by stream and due time.
        var timersScheduled: Set<TimerKey> = []
        /// Lock expiries already on the queue, by time.
        var lockExpiriesScheduled: Set<UInt64> = []

        init(injectedBug: InjectedBug?) { host = SagaHost(injectedBug: injectedBug) }
    }

    struct TimerKey: Hashable {
        var stream: String
        var dueAt: UInt64
    }

    struct ClientTicket {
        var client: Int
        var requestID: UInt64
    }

    /// A client: one start or cancel at a time, retried until answered.
    struct Client {
        var believedLeader: Int
        var nextRequestID: UInt64 = 0
        var current: Operation?
        /// The saga this client cancels next, soon after starting it.
        var cancelNext: String?

        struct Operation {
            var stream: String
            var input: SagaInput
            var requestID: UInt64
            var isStart: Bool
        }
    }

    /// Bounds of the workload.
    static let sagaCountRange = 8...24
    static let clientCountRange = 2...5
    static let maximumClockSkewMicroseconds: UInt64 = 2_000_000
    static let clientTimeoutMicroseconds: UInt64 = 1_000_000
    static let clientThinkMaximumMicroseconds: UInt64 = 300_000
    static let cancelThinkMaximumMicroseconds: UInt64 = 50_000
    static let operatorSweepIntervalMicroseconds: UInt64 = 1_000_000
    /// Operator retries of one parked saga before it is resolved by hand.
    static let operatorRetriesBeforeResolving = 2
    /// How long a host waits after the replica refused its append before reloading.
    static let refusedAppendPauseMicroseconds: UInt64 = 20_000
    /// Observing reads `$all` in pages of this many events.
    static let observePageEvents = 4_096

    let injectedBug: InjectedBug?
    var planned: [PlannedSaga] = []
    /// Planned sagas whose start a client has sent.
    var startsSent = 0
    /// Streams whose start a client saw answered `accepted` or `alreadyStarted`.
    var acknowledgedStarts: Set<String> = []
    var clients: [Client] = []
    var runtimes: [ServerRuntime] = []
    var participants: SimulatedParticipants
    var clockOffsetsMicroseconds: [UInt64] = []
    var operatorRetries: [String: Int] = [:]
    var operatorSweepScheduled = false
    var statistics = SagaStatistics()

    init(serverCount: Int, injectedBug: InjectedBug?, random: inout SeededGenerator) {
        self.injectedBug = injectedBug
        var draw = SwarmDraw(seed: random.next())
        participants = SimulatedParticipants(
            unavailableProbability: draw.swarm(0.3), requestLossProbability: draw.swarm(0.2),
            replyLossProbability: draw.swarm(0.2), lateReplyProbability: draw.swarm(0.2), lateRequestProbability: draw.swarm(0.1),
            refusalProbability: draw.chance(0.3) ? 0 : 0.05 + 0.15 * draw.unit())
        let skew: UInt64 =
            switch draw.next() % 4 {
            case 0: 0
            case 1: 20_000
            case 2: 500_000
            default: Self.maximumClockSkewMicroseconds
            }
        for _ in 0..<serverCount {
            clockOffsetsMicroseconds.append(skew == 0 ? 0 : draw.uniform(0...skew))
            runtimes.append(ServerRuntime(injectedBug: injectedBug))
        }
        let sagaCount = draw.uniformInt(Self.sagaCountRange)
        for index in 0..<sagaCount {
            let definition = draw.chance(0.35) ? SimulatedSagaDefinitions.trip : SimulatedSagaDefinitions.order
            let id = SagaID("s\(index)")
            var inputRandom = SeededGenerator(seed: draw.next())
            planned.append(
                PlannedSaga(
                    stream: SagaNames.stream(definition: definition.name, id: id), definition: definition, id: id,
                    input: SimulatedSagaDefinitions.input(index: index, random: &inputRandom)))
        }
        for _ in 0..<draw.uniformInt(Self.clientCountRange) {
            clients.append(Client(believedLeader: 1 + Int(draw.next() % UInt64(serverCount))))
        }
    }

    var allStartsAcknowledged: Bool { planned.allSatisfy { acknowledgedStarts.contains($0.stream) } }
}

/// What one seed of the saga workload did, for the summary of a seed.
public struct SagaStatistics: Sendable, Hashable, CustomStringConvertible {
    public var sagas = 0
    public var completed = 0
    public var compensated = 0
    public var cancelled = 0
    /// Sagas that parked at least once (the sweep then retried or resolved them).
    public var parkedOnce = 0
    /// Starts, duplicate starts and cancels, and how many were answered.
    public var clientOperations = 0
    public var clientRequests = 0
    public var clientAnswers = 0
    public var participantCalls = 0
    public var participantApplications = 0
    /// Times a host was told to lead.
    public var leads = 0
    public var appendsUnsettled = 0
    public var operatorRetries = 0
    public var operatorResolutions = 0

    public init() {}

    public var description: String {
        "sagas=\(sagas) completed=\(completed) compensated=\(compensated) cancelled=\(cancelled) parked_once=\(parkedOnce) "
            + "client_operations=\(clientOperations) client_requests=\(clientRequests) calls=\(participantCalls) applications=\(participantApplications) "
            + "leads=\(leads) appends_unsettled=\(appendsUnsettled) operator_retries=\(operatorRetries) "
            + "operator_resolutions=\(operatorResolutions)"
    }
}
