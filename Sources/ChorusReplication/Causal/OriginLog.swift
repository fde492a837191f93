import ChorusClocks
import ChorusCore

/// One causal write this replica coordinated, kept until every replica of
/// its key has acknowledged storing it.
struct OriginEntry: Equatable, Sendable {
    var sequence: UInt64
    var key: ObjectKey
    var value: ReplicatedValue
    var dependencies: VersionVector
    var destinations: [NodeID]
    var acknowledged: Set<NodeID>
    var lastSentTick: UInt64
}

/// The causal writes a coordinating replica has made and not yet seen
/// stored everywhere: the sender side of causal delivery.
///
/// From it the replica *attests*, to each other replica x, the highest
/// sequence s such that x has acknowledged every write of this origin
/// destined to x up to s; x then knows it holds all of this origin's writes
/// up to s that concern it, which is its causal frontier for this origin.
/// Entries are retransmitted until acknowledged (they are durable: minted
/// writes persist before they leave), so the frontier always advances once
/// the replicas can talk, and removed once every destination has them.
struct OriginLog: Sendable {
    let maximumCount: Int
    private(set) var entries: [OriginEntry] = []

    init(maximumCount: Int) { self.maximumCount = maximumCount }

    var isFull: Bool { entries.count >= maximumCount }

    mutating func append(_ entry: OriginEntry) {
        precondition(entries.last.map { $0.sequence < entry.sequence } ?? true, "origin log sequences must increase")
        entries.append(entry)
    }

    /// Records `node`'s acknowledgement; returns whether the entry is now
    /// acknowledged by every destination (and so removed).
    mutating func acknowledge(sequence: UInt64, by node: NodeID) -> Bool {
        guard let index = position(of: sequence) else { return false }
        guard entries[index].destinations.contains(node) else { return false }
        entries[index].acknowledged.insert(node)
        if entries[index].acknowledged.count == entries[index].destinations.count {
            entries.remove(at: index)
            return true
        }
        return false
    }

    private func position(of sequence: UInt64) -> Int? {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low < entries.count && entries[low].sequence == sequence ? low : nil
    }

    /// What this origin can attest to `destination`: every write for it up
    /// to the returned sequence is acknowledged.
    func attested(for destination: NodeID, latestSequence: UInt64) -> UInt64 {
        for entry in entries where entry.destinations.contains(destination) && !entry.acknowledged.contains(destination) {
            return entry.sequence - 1
        }
        return latestSequence
    }

    /// Entries to send again (sent more than `afterTicks` ago), at most
    /// `limit`, oldest first; marks them sent.
    mutating func dueForRetransmission(now: UInt64, afterTicks: UInt64, limit: Int) -> [OriginEntry] {
        var due: [OriginEntry] = []
        for index in entries.indices where due.count < limit && now >= entries[index].lastSentTick + afterTicks {
            entries[index].lastSentTick = now
            due.append(entries[index])
        }
        return due
    }

    mutating func restore(_ entry: OriginEntry) {
        if let index = position(of: entry.sequence) {
            entries[index] = entry
            return
        }
        entries.append(entry)
        entries.sort { $0.sequence < $1.sequence }
    }

    mutating func remove(sequence: UInt64) {
        if let index = position(of: sequence) { entries.remove(at: index) }
    }
}
