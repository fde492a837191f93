import ChorusClocks
import ChorusCore

extension ReplicationNode {
    /// The trees this node and `peer` both replicate, for every keyspace
    /// (computed once: the ring and keyspaces are fixed for a node's life).
    func sharedTrees(with peer: NodeID) -> [TreeID] { sharedTreesByPeer[peer] ?? [] }

    static func computeSharedTrees(ring: HashRing, configuration: ReplicationConfiguration) -> [NodeID: [TreeID]] {
        var result: [NodeID: [TreeID]] = [:]
        for peer in configuration.members where peer != configuration.myself {
            result[peer] = configuration.keyspaces.sorted { $0.id < $1.id }.flatMap { keyspace in
                ring.rangesReplicated(byAll: [configuration.myself, peer], count: keyspace.replicationFactor).map {
                    TreeID(keyspace: keyspace.id, range: $0)
                }
            }
        }
        return result
    }

    /// Starts an exchange with the next reachable peer, round-robin.
    mutating func startAntiEntropy(into effects: inout ReplicationEffects) {
        let peers = configuration.members.sorted().filter { $0 != myself }
        guard !peers.isEmpty else { return }
        for _ in 0..<peers.count {
            let peer = peers[antiEntropyPeerIndex % peers.count]
            antiEntropyPeerIndex += 1
            guard isReachable(peer) else { continue }
            let trees = sharedTrees(with: peer)
            guard !trees.isEmpty else { continue }
            exchangeSequence += 1
            let exchange = (myself.rawValue << 32) | (exchangeSequence & 0xFFFF_FFFF)
            exchangeStartTicks = exchangeStartTicks.filter { now - $0.value < 10 * configuration.antiEntropyIntervalTicks }
            exchangeStartTicks[exchange] = now
            metrics.antiEntropyExchangesStarted += 1
            for chunk in ReplicaStore.chunk(trees, configuration.maximumAntiEntropyEntriesPerMessage) {
                send(.antiEntropy(store.antiEntropyRoots(exchange: exchange, trees: chunk)), to: peer, into: &effects)
            }
            return
        }
    }

    mutating func handleAntiEntropy(_ message: AntiEntropyMessage, from peer: NodeID, into effects: inout ReplicationEffects) {
        metrics.antiEntropyBytesReceived += ReplicationWire.encodedSize(.antiEntropy(message))
        if let started = exchangeStartTicks[message.exchange] { metrics.antiEntropyLastExchangeTicks = now - started }
        let shared = sharedTreeSetsByPeer[peer] ?? []
        let (replies, repairs) = store.respond(to: filtered(message, to: shared), maximumEntries: configuration.maximumAntiEntropyEntriesPerMessage)
        for reply in replies { send(.antiEntropy(reply), to: peer, into: &effects) }
        for repair in repairs where shared.contains(store.treeID(for: repair.key)) {
            guard let keyspace = keyspace(of: repair.key) else { continue }
            if joinRepair(repair.key, repair.value, dependencies: repair.dependencies, causal: keyspace.mode == .causal, into: &effects) {
                metrics.antiEntropyKeysRepaired += 1
            }
        }
        if keyspaceHasCausal { advanceVisibility(into: &effects) }
    }

    private var keyspaceHasCausal: Bool { configuration.keyspaces.contains { $0.mode == .causal } }

    /// Only trees both sides replicate take part: a peer cannot make this
    /// node store keys it does not replicate, nor learn keys it should not.
    private func filtered(_ message: AntiEntropyMessage, to shared: Set<TreeID>) -> AntiEntropyMessage {
        switch message {
        case .roots(let exchange, let roots): .roots(exchange: exchange, roots.filter { shared.contains($0.tree) })
        case .nodes(let exchange, let nodes): .nodes(exchange: exchange, nodes.filter { shared.contains($0.tree) })
        case .segments(let exchange, let segments): .segments(exchange: exchange, segments.filter { shared.contains($0.tree) })
        case .fetch(let exchange, let keys): .fetch(exchange: exchange, keys.filter { shared.contains(store.treeID(for: $0)) })
        case .repair: message
        }
    }
}
