import ChorusReplica
import ChorusCore
import ChorusKeyValue
import ChorusRaft

/// The simulated network: delays, loss, duplication, held messages, and
/// the partition shapes of the nemesis.
extension Simulation {
    var faultsActive: Bool { phase == .safety }

    func send(_ message: RaftMessage) {
        statistics.messagesSent += 1
        let from = Int(message.from.rawValue)
        let to = Int(message.to.rawValue)
        guard (1...parameters.serverCount).contains(to) else { return }
        if parameters.network.isLost(blocked: network.isBlocked(from: from, to: to), faultsActive: faultsActive, random: &random) {
            statistics.messagesDropped += 1
            return
        }
        if network.isClogged(from) || network.isClogged(to) {
            heldMessages.hold(message, from: from, to: to)
            return
        }
        queue.schedule(.deliver(message), at: now + networkDelay())
        if parameters.network.isDuplicated(faultsActive: faultsActive, random: &random) {
            queue.schedule(.deliver(message), at: now + networkDelay())
        }
    }

    func networkDelay() -> UInt64 { parameters.network.delay(faultsActive: faultsActive, random: &random) }

    func deliver(_ message: RaftMessage) {
        let to = Int(message.to.rawValue)
        hashMessage(message)
        guard servers[to - 1].isUp else { return }
        if traceSink != nil { trace(message.description) }
        servers[to - 1].replica!.receive(message)
        drive(to)
    }

    func releaseHeldMessages() {
        for held in heldMessages.release(in: network) { queue.schedule(.deliver(held.message), at: now + networkDelay()) }
    }
}

/// The shared nemesis, with Raft's choices: leader isolation weighted up.
extension Simulation: NemesisWorld {
    var isSafetyPhase: Bool { phase == .safety }

    var nemesisRates: NemesisRates {
        NemesisRates(
            partitionMeanIntervalMicroseconds: parameters.partitionMeanIntervalMicroseconds,
            partitionMeanDurationMicroseconds: parameters.partitionMeanDurationMicroseconds,
            crashMeanIntervalMicroseconds: parameters.crashMeanIntervalMicroseconds,
            isolationMaximumMicroseconds: 300_000, isolationLabel: "new leader")
    }

    func schedule(_ event: NemesisEvent, at time: UInt64) { queue.schedule(.nemesis(event), at: time) }

    func countPartition() { statistics.partitions += 1 }

    func isRunning(_ server: Int, incarnation: UInt64) -> Bool {
        servers[server - 1].incarnation == incarnation && servers[server - 1].isUp
    }

    /// Leader isolation is weighted up: rapid leader churn is what leaves
    /// divergent uncommitted tails behind (the raw material of figure 3.7).
    func choosePartitionShape(order: [Int]) -> PartitionShape {
        switch [0, 0, 1, 1, 1, 2, 2, 3, 4, 4][Int(random.next() % 10)] {
        case 0: .split
        case 1: .isolate(server: currentLeader() ?? order[0], label: "leader")
        case 2: .bridge
        case 3: .asymmetric
        default: .swizzleClog
        }
    }
}
