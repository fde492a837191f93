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

    func healNetwork() {
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
}
