import ChorusClocks
import ChorusCore
import ChorusReplication

/// The simulated network between the nodes (every message crosses
/// `ReplicationWire`, so the codec is exercised on all of it) and between
/// clients and nodes: the shared `NetworkProfile` and `SimulatedNetwork`,
/// and the partition shapes of the nemesis.
extension LeaderlessSimulation {
    func send(_ message: LeaderlessPeerMessage, from: Int, to: Int) {
        precondition(from != to, "the cores handle their own messages")
        guard (1...parameters.memberCount).contains(to) else { return }
        statistics.messagesSent += 1
        if case .replication(let replication) = message, !stalenessAllows(replication, from: from, to: to) {
            statistics.messagesDropped += 1
            return
        }
        let bytes = ReplicationWire.encode(message)
        if parameters.network.isLost(blocked: network.isBlocked(from: from, to: to), faultsActive: faultsActive, random: &random) {
            statistics.messagesDropped += 1
            return
        }
        if network.isClogged(from) || network.isClogged(to) {
            heldMessages.append((from, to, bytes))
            return
        }
        queue.schedule(.deliver(from: from, to: to, bytes: bytes), at: now + networkDelay())
        if parameters.network.isDuplicated(faultsActive: faultsActive, random: &random) {
            queue.schedule(.deliver(from: from, to: to, bytes: bytes), at: now + networkDelay())
        }
    }

    func networkDelay() -> UInt64 { parameters.network.delay(faultsActive: faultsActive, random: &random) }

    func deliver(_ bytes: [UInt8], from: Int, to: Int) {
        guard servers[to - 1].isUp else { return }
        let message: LeaderlessPeerMessage
        do {
            message = try ReplicationWire.decode(bytes)
        } catch {
            fail(.recovery, "n\(to) cannot decode a message n\(from) encoded: \(error)")
            return
        }
        let sender = NodeID(UInt64(from))
        switch message {
        case .membership(let swim):
            guard let effects = servers[to - 1].swim?.receive(swim, from: sender) else { return }
            carryOut(effects, on: to)
        case .replication(var replication):
            if parameters.injectedBug == .visibleBeforeDependencies, case .replicate(var unit) = replication, unit.causal != nil {
                // The bug: this replica treats the write as if it had no causes.
                unit.causal!.dependencies = VersionVector()
                replication = .replicate(unit)
            }
            guard let effects = servers[to - 1].replication?.receive(replication, from: sender) else { return }
            carryOut(effects, on: to)
        }
    }

    /// A node answers a client; the reply may be lost like any message.
    func respond(_ response: ChorusReplication.ClientResponse, from server: Int) {
        guard let client = requestOwners[response.id] else { return }
        if parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) { return }
        queue.schedule(.response(client: client, response), at: now + networkDelay())
    }

    func releaseHeldMessages() {
        var stillHeld: [(from: Int, to: Int, bytes: [UInt8])] = []
        for held in heldMessages {
            if network.isClogged(held.from) || network.isClogged(held.to) {
                stillHeld.append(held)
            } else {
                queue.schedule(.deliver(from: held.from, to: held.to, bytes: held.bytes), at: now + networkDelay())
            }
        }
        heldMessages = stillHeld
    }

    func startPartition() {
        guard !partitionActive else { return }
        partitionActive = true
        statistics.partitions += 1
        var order = Array(1...parameters.memberCount)
        shuffleServers(&order, random: &random)
        let shape: PartitionShape
        switch random.next() % 8 {
        case 0, 1: shape = .split
        case 2, 3: shape = .isolate(server: order[0], label: "node")
        case 4: shape = .bridge
        case 5: shape = .asymmetric
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
}
