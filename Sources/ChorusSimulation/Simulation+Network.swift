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
            heldMessages.append(message)
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

    func startPartition() {
        guard !partitionActive else { return }
        partitionActive = true
        statistics.partitions += 1
        let count = parameters.serverCount
        var order = Array(1...count)
        shuffle(&order)
        // Leader isolation is weighted up: rapid leader churn is what leaves
        // divergent uncommitted tails behind (the raw material of figure 3.7).
        let shape: PartitionShape
        switch [0, 0, 1, 1, 1, 2, 2, 3, 4, 4][Int(random.next() % 10)] {
        case 0: shape = .split
        case 1: shape = .isolate(server: currentLeader() ?? order[0], label: "leader")
        case 2: shape = .bridge
        case 3: shape = .asymmetric
        default: shape = .swizzleClog
        }
        let (description, clogs) = network.apply(shape, order: order, random: &random)
        for step in clogs { queue.schedule(.clog(server: step.server, clogged: step.clogged), at: now + step.after) }
        trace(description)
        queue.schedule(.heal, at: now + 1 + random.next() % (2 * parameters.partitionMeanDurationMicroseconds))
    }

    func healNetwork() {
        partitionActive = false
        network.heal()
        releaseHeldMessages()
        trace("heal")
    }

    func shuffle(_ array: inout [Int]) { shuffleServers(&array, random: &random) }
}
