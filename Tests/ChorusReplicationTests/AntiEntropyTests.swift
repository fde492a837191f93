import ChorusClocks
import ChorusCore
import ChorusReplication
import Testing

@Suite struct AntiEntropyTests {
    /// Runs an exchange between two stores to quiescence, every message
    /// through the wire codec; returns the bytes sent either way.
    static func exchange(_ a: inout ReplicaStore, _ b: inout ReplicaStore, trees: [TreeID]) -> (bytes: Int, repairedKeys: Int) {
        var queue: [(toB: Bool, message: AntiEntropyMessage)] = [(true, a.antiEntropyRoots(exchange: 1, trees: trees))]
        var bytes = 0
        var repaired = 0
        var rounds = 0
        while !queue.isEmpty {
            rounds += 1
            precondition(rounds < 100_000, "exchange does not terminate")
            let (toB, message) = queue.removeFirst()
            let wire = ReplicationWire.encode(.replication(.antiEntropy(message)))
            bytes += wire.count
            guard case .replication(.antiEntropy(let decoded)) = try! ReplicationWire.decode(wire) else { fatalError() }
            let (replies, repairs) = toB ? b.respond(to: decoded, maximumEntries: 4096) : a.respond(to: decoded, maximumEntries: 4096)
            for repair in repairs {
                let changed = toB ? b.join(repair.key, repair.value) : a.join(repair.key, repair.value)
                if changed { repaired += 1 }
            }
            queue += replies.map { (!toB, $0) }
        }
        return (bytes, repaired)
    }

    static func value(_ text: String, replica: ReplicaID, counter: UInt64) -> ReplicatedValue {
        var set = SiblingSet()
        _ = set.update(value: Array(text.utf8), timestamp: .zero, clientContext: VersionVector(), replica: replica, counter: counter)
        return .versioned(set)
    }

    /// 100,000 keys, 1% differing (half missing on one side, half updated
    /// on the other): the exchange repairs exactly those keys and sends far
    /// less than 10% of the keys' bytes.
    @Test func repairingOnePercentOfAHundredThousandKeysExchangesAFewPercentOfTheBytes() {
        let ring = HashRing(members: [1, 2, 3], virtualNodesPerMember: 64)
        var a = ReplicaStore(ring: ring)
        var totalBytes = 0
        let payload = String(repeating: "v", count: 64)
        for index in 0..<100_000 {
            let key = ObjectKey(kind: .versioned, "user:\(index)")
            let value = Self.value("\(payload)\(index)", replica: 1, counter: UInt64(index + 1))
            a.join(key, value)
            totalBytes += key.encodedBytes.count + value.encodedBytes.count
        }
        let clock = ContinuousClock()
        let loaded = clock.now
        print("loaded in \(loaded)")
        var b = a
        for index in stride(from: 0, to: 100_000, by: 100) {
            let key = ObjectKey(kind: .versioned, "user:\(index)")
            if index % 200 == 0 {
                b.join(key, Self.value("newer \(index)", replica: 2, counter: UInt64(index + 1)))
            } else {
                a.join(ObjectKey(kind: .versioned, "extra:\(index)"), Self.value("only on a", replica: 1, counter: 200_000 + UInt64(index)))
            }
        }
        let trees = Array(Set(a.treeIDs + b.treeIDs)).sorted()
        let (bytes, repaired) = Self.exchange(&a, &b, trees: trees)
        print("anti-entropy: \(bytes) bytes exchanged for \(totalBytes) bytes of keys (\(Double(bytes) / Double(totalBytes)))")
        #expect(repaired == 500 + 500, "500 updated keys repaired on a (b already had both versions), 500 missing keys on b")
        for tree in trees { #expect(a.rootHash(of: tree) == b.rootHash(of: tree)) }
        #expect(a.entries == b.entries)
        #expect(Double(bytes) < 0.05 * Double(totalBytes))
        let (again, none) = Self.exchange(&a, &b, trees: trees)
        #expect(none == 0 && again < 4000, "converged replicas compare roots only: \(again) bytes")
    }

    @Test func treesUpdateIncrementallyAndAgreeWithARebuild() {
        let ring = HashRing(members: [1, 2], virtualNodesPerMember: 4)
        var incremental = ReplicaStore(ring: ring, merkleBranching: 4, merkleDepth: 3)
        var rebuilt = ReplicaStore(ring: ring, merkleBranching: 4, merkleDepth: 3)
        var values: [ObjectKey: ReplicatedValue] = [:]
        for round in 0..<3 {
            for index in 0..<300 {
                let key = ObjectKey(kind: .versioned, "k\(index)")
                let value = Self.value("r\(round)", replica: ReplicaID(UInt64(round + 1)), counter: UInt64(index + 1))
                incremental.join(key, value)
                values[key, default: .empty(.versioned)].merge(value)
            }
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { rebuilt.join(key, value) }
        for tree in incremental.treeIDs { #expect(incremental.rootHash(of: tree) == rebuilt.rootHash(of: tree)) }
        #expect(incremental.treeIDs == rebuilt.treeIDs)
    }
}
