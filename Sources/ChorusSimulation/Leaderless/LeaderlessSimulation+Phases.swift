import ChorusCore
import ChorusReplication

/// The end of the safety phase, what the liveness phase must reach, and the
/// durability check run at every crash.
extension LeaderlessSimulation {
    func beginLivenessPhase() {
        phase = .liveness
        livenessDeadline = now + parameters.livenessBoundMicroseconds
        trace("liveness phase: heal everything")
        healNetwork()
        for server in servers where !server.isUp { restart(server.number) }
        queue.schedule(.livenessCheck, at: now + 100_000)
    }

    /// Convergence: every client is done, every node is up with nothing
    /// held, and every primary of every key holds the same state, with no
    /// write still waiting for its dependencies.
    func livenessAchieved() -> Bool {
        guard clients.allSatisfy({ $0.current == nil }), heldMessages.isEmpty else { return false }
        guard servers.allSatisfy({ $0.isUp && !$0.syncPending }) else { return false }
        return firstDivergence() == nil
    }

    /// The first key (in key order) whose primaries differ, with why; nil when all agree.
    func firstDivergence() -> String? {
        let nodes = servers.compactMap(\.replication)
        guard nodes.count == servers.count else { return "a node is down" }
        var keys = Set<ObjectKey>()
        for node in nodes {
            keys.formUnion(node.store.entries.keys)
            for hint in node.hints.hints.values { keys.insert(hint.key) }
        }
        for key in keys.sorted() {
            let primaries = nodes[0].primaries(of: key)
            let values = primaries.map { nodes[Int($0.rawValue) - 1].store.entries[key] }
            if let waiting = zip(primaries, values).first(where: { !($0.1?.pending.isEmpty ?? true) }) {
                return "\(key) has writes waiting for their dependencies on n\(waiting.0.rawValue)"
            }
            let digests = values.map { $0?.visible.digest }
            if Set(digests).count > 1 {
                return "\(key) differs across its primaries \(primaries.map { "n\($0.rawValue)" })"
            }
        }
        return nil
    }

    /// The converged value of `key` (its first primary's).
    func convergedValue(of key: ObjectKey) -> ReplicatedValue? {
        guard let node = servers[0].replication else { return nil }
        let primary = node.primaries(of: key)[0]
        return servers[Int(primary.rawValue) - 1].replication?.store.value(of: key)
    }

    func recordLivenessFailure() {
        let pending = clients.filter { $0.current != nil }.count
        let why = firstDivergence() ?? (pending > 0 ? "\(pending) client operation(s) pending" : "nodes still syncing")
        fail(.convergence, "not converged \(parameters.livenessBoundMicroseconds / 1_000_000)s after healing: \(why)")
    }

    /// Durable acknowledgements mean what they say: a versioned write
    /// acknowledged by d durable replicas is in the durable logs of at least
    /// d nodes (held, or superseded by a write that saw it, in the store or
    /// in a hint), whatever crashes. Checked right after each crash, when a
    /// log has just lost its unsynced tail.
    func checkDurability(after crashed: Int) {
        for operation in history {
            guard let reply = operation.writeReply, let dot = reply.minted.dot, reply.durableAcknowledgements > 0 else { continue }
            let holders = servers.filter { $0.disk.durableView.holds(operation.key, dot) }.count
            if holders < reply.durableAcknowledgements {
                fail(.durability, "after n\(crashed) crashed, the write \(dot) to \(operation.key), acknowledged by "
                    + "\(reply.durableAcknowledgements) durable replicas, is in \(holders) durable logs")
                return
            }
        }
    }
}
