import ChorusCore

/// What the nemesis does, as events on a simulator's queue (Jepsen's
/// partitioners and kill nemesis, FoundationDB's clogging): both simulators
/// schedule and handle these the same way (`NemesisWorld`).
enum NemesisEvent: Sendable {
    case partition
    /// Cut one server off from everyone, until `reconnect`.
    case isolate(server: Int)
    case reconnect(server: Int)
    case heal
    case clog(server: Int, clogged: Bool)
    /// Crash a server the simulator picks.
    case crash
    /// Crash this server, if it still runs this incarnation.
    case crashServer(server: Int, incarnation: UInt64)
    case restart(server: Int)
}

/// The nemesis's rates, per seed.
struct NemesisRates: Sendable, Hashable {
    var partitionMeanIntervalMicroseconds: UInt64
    var partitionMeanDurationMicroseconds: UInt64
    var crashMeanIntervalMicroseconds: UInt64
    /// An isolated server is reconnected 30 ms to this much later.
    var isolationMaximumMicroseconds: UInt64
    /// Names why `isolate` happens, in the trace.
    var isolationLabel: String
}

/// A simulated world the shared nemesis acts on: its network and held
/// messages, its servers' crashes and restarts, its queue and randomness.
protocol NemesisWorld: AnyObject {
    var now: UInt64 { get }
    var random: SeededGenerator { get set }
    var network: SimulatedNetwork { get set }
    var partitionActive: Bool { get set }
    /// Faults are scheduled and applied only in the safety phase.
    var isSafetyPhase: Bool { get }
    var nemesisRates: NemesisRates { get }
    func schedule(_ event: NemesisEvent, at time: UInt64)
    func hash(_ values: UInt64...)
    func trace(_ line: @autoclosure () -> String)
    func countPartition()
    /// The shape of the next partition, given the servers shuffled.
    func choosePartitionShape(order: [Int]) -> PartitionShape
    func releaseHeldMessages()
    func crashSomeServer()
    func crash(_ server: Int)
    func restart(_ server: Int)
    func isRunning(_ server: Int, incarnation: UInt64) -> Bool
}

extension NemesisWorld {
    /// The next `event` in about `mean` microseconds (uniform on 1...2·mean), unless `mean` is 0.
    func scheduleNemesis(_ event: NemesisEvent, mean: UInt64) {
        guard mean > 0, isSafetyPhase else { return }
        schedule(event, at: now + 1 + random.next() % (2 * mean))
    }

    func handle(_ event: NemesisEvent) {
        let rates = nemesisRates
        switch event {
        case .partition:
            hash(9)
            guard isSafetyPhase else { return }
            startPartition()
        case .isolate(let server):
            hash(17, UInt64(server))
            guard isSafetyPhase else { return }
            countPartition()
            network.setIsolated(server, true)
            trace("isolate \(rates.isolationLabel) n\(server)")
            schedule(.reconnect(server: server), at: now + 30_000 + random.next() % rates.isolationMaximumMicroseconds)
        case .reconnect(let server):
            hash(18, UInt64(server))
            network.setIsolated(server, false)
            trace("reconnect n\(server)")
        case .heal:
            hash(10)
            guard partitionActive else { return }
            healNetwork()
            scheduleNemesis(.partition, mean: rates.partitionMeanIntervalMicroseconds)
        case .clog(let server, let clogged):
            hash(11, UInt64(server), clogged ? 1 : 0)
            guard partitionActive else { return }
            network.setClogged(server, clogged)
            if !clogged { releaseHeldMessages() }
        case .crash:
            hash(12)
            guard isSafetyPhase else { return }
            crashSomeServer()
            scheduleNemesis(.crash, mean: rates.crashMeanIntervalMicroseconds)
        case .crashServer(let server, let incarnation):
            hash(19, UInt64(server))
            guard isSafetyPhase, isRunning(server, incarnation: incarnation) else { return }
            crash(server)
        case .restart(let server):
            hash(13, UInt64(server))
            restart(server)
        }
    }

    func startPartition() {
        guard !partitionActive else { return }
        partitionActive = true
        countPartition()
        var order = Array(1...network.serverCount)
        shuffleServers(&order, random: &random)
        let shape = choosePartitionShape(order: order)
        let (description, clogs) = network.apply(shape, order: order, random: &random)
        for step in clogs { schedule(.clog(server: step.server, clogged: step.clogged), at: now + step.after) }
        trace(description)
        schedule(.heal, at: now + 1 + random.next() % (2 * nemesisRates.partitionMeanDurationMicroseconds))
    }

    func healNetwork() {
        partitionActive = false
        network.heal()
        releaseHeldMessages()
        trace("heal")
    }
}

/// Messages a clogged server's links hold back; they leave once neither end is clogged.
struct HeldMessages<Message> {
    private(set) var held: [(from: Int, to: Int, message: Message)] = []

    var isEmpty: Bool { held.isEmpty }

    mutating func hold(_ message: Message, from: Int, to: Int) { held.append((from, to, message)) }

    /// Removes and returns, in order, the messages `network` no longer clogs.
    mutating func release(in network: SimulatedNetwork) -> [(from: Int, to: Int, message: Message)] {
        var released: [(from: Int, to: Int, message: Message)] = []
        var stillHeld: [(from: Int, to: Int, message: Message)] = []
        for entry in held {
            if network.isClogged(entry.from) || network.isClogged(entry.to) { stillHeld.append(entry) } else { released.append(entry) }
        }
        held = stillHeld
        return released
    }
}
