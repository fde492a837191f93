import ChorusClocks
import ChorusCore

extension ReplicationNode {
    /// Every causal-frontier period: attest to each member what it holds of
    /// this origin's writes, share this node's own frontier (for causal
    /// stability), and retransmit writes some replica has not acknowledged.
    mutating func sendFrontiers(into effects: inout ReplicationEffects) {
        for member in configuration.members.sorted() where member != myself {
            let attested = originLog.attested(for: member, latestSequence: counter)
            send(.causalFrontier(attested: attested, frontier: frontier), to: member, into: &effects)
        }
        let due = originLog.dueForRetransmission(
            now: now, afterTicks: configuration.causalRetransmitAfterTicks, limit: configuration.maximumCausalRetransmissionsPerTick)
        for entry in due {
            let tag = CausalTag(origin: myself, sequence: entry.sequence, dependencies: entry.dependencies)
            for destination in entry.destinations where !entry.acknowledged.contains(destination) && isReachable(destination) {
                metrics.causalRetransmissions += 1
                send(.replicate(Replication(
                    request: nil, coordinator: nil, key: entry.key, value: entry.value, hintFor: nil, requireDurable: true,
                    causal: tag)), to: destination, into: &effects)
            }
        }
    }

    mutating func handleCausalAcknowledged(_ sequence: UInt64, from sender: NodeID, into effects: inout ReplicationEffects) {
        if originLog.acknowledge(sequence: sequence, by: sender) {
            persist(.originAcknowledged(sequence), sync: false, into: &effects)
        }
    }

    /// An origin attests what this node holds of its writes: the frontier
    /// advances, pending writes whose dependencies are now covered become
    /// visible, and parked causal reads that are now served are answered.
    mutating func handleCausalFrontier(
        attested: UInt64, frontier theirs: VersionVector, from origin: NodeID, into effects: inout ReplicationEffects
    ) {
        peerFrontiers[origin, default: VersionVector()].merge(theirs)
        let replica = ReplicaID(origin.rawValue)
        guard attested > frontier[replica] else { return }
        frontier[replica] = attested
        persist(.frontier(frontier), sync: false, into: &effects)
        advanceVisibility(into: &effects)
    }

    mutating func advanceVisibility(into effects: inout ReplicationEffects) {
        _ = store.promote(frontier: frontier)
        if parkedMints.contains(where: { frontier.dominates($0.request.dependencies) }) {
            let ready = parkedMints.filter { frontier.dominates($0.request.dependencies) }
            parkedMints.removeAll { frontier.dominates($0.request.dependencies) }
            for parked in ready { handleMint(parked.request, from: parked.coordinator, into: &effects) }
        }
        let ready = parkedReads.filter { frontier.dominates($0.dependencies) }
        guard !ready.isEmpty else { return }
        parkedReads.removeAll { frontier.dominates($0.dependencies) }
        for parked in ready { answerRead(parked.request, key: parked.key, coordinator: parked.coordinator, into: &effects) }
    }
}
