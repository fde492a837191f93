import ChorusClocks
import ChorusCore
import ChorusReplication

/// The simulated network between the nodes (every message crosses
/// `ReplicationWire`, so the codec is exercised on all of it) and between
/// clients and nodes: the shared `NetworkProfile` and `SimulatedNetwork`,
/// and the shared nemesis (`NemesisWorld`).
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
            heldMessages.hold(bytes, from: from, to: to)
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
        var message: LeaderlessPeerMessage
        do {
            message = try ReplicationWire.decode(bytes)
        } catch {
            fail(.recovery, "n\(to) cannot decode a message n\(from) encoded: \(error)")
            return
        }
        let sender = NodeID(UInt64(from))
        if parameters.injectedBug == .visibleBeforeDependencies, case .replication(.replicate(var unit)) = message,
            unit.causal != nil
        {
            // The bug: this replica treats the write as if it had no causes.
            unit.causal!.dependencies = VersionVector()
            message = .replication(.replicate(unit))
        }
        receive(message, from: sender, on: to)
    }

    /// A node answers a client; the reply may be lost like any message.
    func respond(_ response: ChorusReplication.ClientResponse, from server: Int) {
        guard let client = requestOwners[response.id] else { return }
        if parameters.network.isLost(blocked: false, faultsActive: faultsActive, random: &random) { return }
        queue.schedule(.response(client: client, response), at: now + networkDelay())
    }

    func releaseHeldMessages() {
        for held in heldMessages.release(in: network) {
            queue.schedule(.deliver(from: held.from, to: held.to, bytes: held.message), at: now + networkDelay())
        }
    }
}

/// The shared nemesis, with the leaderless choices: isolating a node is
/// weighted up (sloppy quorums and hints), as is splitting the cluster.
extension LeaderlessSimulation: NemesisWorld {
    var isSafetyPhase: Bool { phase == .safety }

    var nemesisRates: NemesisRates {
        NemesisRates(
            partitionMeanIntervalMicroseconds: parameters.partitionMeanIntervalMicroseconds,
            partitionMeanDurationMicroseconds: parameters.partitionMeanDurationMicroseconds,
            crashMeanIntervalMicroseconds: parameters.crashMeanIntervalMicroseconds,
            isolationMaximumMicroseconds: 500_000, isolationLabel: "a fresh minter")
    }

    func schedule(_ event: NemesisEvent, at time: UInt64) { queue.schedule(.nemesis(event), at: time) }

    func countPartition() { statistics.partitions += 1 }

    func isRunning(_ server: Int, incarnation: UInt64) -> Bool {
        servers[server - 1].incarnation == incarnation && servers[server - 1].isUp
    }

    func choosePartitionShape(order: [Int]) -> PartitionShape {
        switch random.next() % 8 {
        case 0, 1: .split
        case 2, 3: .isolate(server: order[0], label: "node")
        case 4: .bridge
        case 5: .asymmetric
        default: .swizzleClog
        }
    }
}
