import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusReplication
import Testing

@Suite struct SiblingSetTests {
    let replica: ReplicaID = 1

    /// riak_test `sibling_explosion` (basho/riak_test#383, fixed by
    /// riak_kv#746): two clients interleave fetch–resolve–write cycles on one
    /// key, each writing with the context its own previous write returned.
    /// Every write sees all but the other client's latest write, so with
    /// per-server version vectors every write stays a sibling (99 of them);
    /// with dotted version vectors exactly two remain, and their union holds
    /// every value written.
    @Test func interleavedClientsKeepTwoSiblingsNotNinetyNine() throws {
        var stored = SiblingSet()
        var counter: UInt64 = 0
        func put(_ value: Set<Int>, context: VersionVector) -> SiblingSet {
            counter += 1
            _ = stored.update(
                value: encode(value), timestamp: HybridTimestamp(physical: counter, logical: 0), clientContext: context,
                replica: replica, counter: counter)
            return stored
        }
        var clientA = put([0], context: VersionVector())
        var clientB = put([1], context: VersionVector())
        for count in stride(from: 100, to: 1, by: -1) {
            if count % 2 == 0 {
                let resolved = clientA.values.map(decode).reduce(into: Set<Int>()) { $0.formUnion($1) }.union([count])
                clientA = put(resolved, context: clientA.context)
            } else {
                let resolved = clientB.values.map(decode).reduce(into: Set<Int>()) { $0.formUnion($1) }.union([count])
                clientB = put(resolved, context: clientB.context)
            }
        }
        #expect(stored.siblings.count == 2)
        let union = stored.values.map(decode).reduce(into: Set<Int>()) { $0.formUnion($1) }
        #expect(union == Set(0...100), "every written value survives in the two siblings")

        // The negative control: one server-side version vector for the whole
        // object (Riak before DVV) cannot tell which sibling a write saw; a
        // write whose context does not dominate the object's clock keeps
        // every sibling: the explosion.
        var naive: [Int] = []
        var objectClock = VersionVector()
        var naiveA = VersionVector()
        var naiveB = VersionVector()
        for count in stride(from: 100, to: 1, by: -1) {
            let context = count % 2 == 0 ? naiveA : naiveB
            if context.dominates(objectClock) { naive = [count] } else { naive.append(count) }
            objectClock.merge(context)
            objectClock.increment(replica)
            if count % 2 == 0 { naiveA = objectClock } else { naiveB = objectClock }
        }
        #expect(naive.count > 90, "per-server version vectors keep \(naive.count) siblings")
    }

    @Test func aWriteSupersedesExactlyWhatItsContextSaw() {
        var set = SiblingSet()
        let first = set.update(value: [1], timestamp: .zero, clientContext: VersionVector(), replica: 1, counter: 1)
        let readContext = set.context
        _ = set.update(value: [2], timestamp: .zero, clientContext: VersionVector(), replica: 2, counter: 1)
        #expect(set.values.count == 2)
        _ = set.update(value: [3], timestamp: .zero, clientContext: readContext, replica: 1, counter: 2)
        #expect(set.values.sorted { $0.lexicographicallyPrecedes($1) } == [[2], [3]], "the unseen write stays a sibling")
        #expect(!set.siblings.contains { $0.dot == first.dot })
        var other = SiblingSet()
        _ = other.update(value: [9], timestamp: .zero, clientContext: VersionVector(), replica: 3, counter: 1)
        #expect(set.synchronizing(with: other) == other.synchronizing(with: set), "synchronize commutes")
        #expect(set.synchronizing(with: set) == set, "and is idempotent")
    }

    @Test func concurrentSetsResolveLastWriterWinsOnReadWhileKeepingSiblings() {
        var set = SiblingSet()
        _ = set.update(value: Array("early".utf8), timestamp: HybridTimestamp(physical: 5, logical: 0), clientContext: VersionVector(), replica: 2, counter: 1)
        _ = set.update(value: Array("late".utf8), timestamp: HybridTimestamp(physical: 9, logical: 0), clientContext: VersionVector(), replica: 1, counter: 1)
        #expect(set.siblings.count == 2)
        #expect(set.lastWriterWinsValue == Array("late".utf8))
    }

    @Test func aCollectedTombstoneLeavesAFloorThatStopsResurrection() {
        var set = SiblingSet()
        let old = set.update(value: [1], timestamp: .zero, clientContext: VersionVector(), replica: 1, counter: 1)
        let stale = set
        let tombstone = set.update(value: nil, timestamp: .zero, clientContext: set.context, replica: 1, counter: 2)
        #expect(set.siblings == [tombstone])
        let collected = set.collectTombstone(tombstone.dot)
        #expect(collected)
        #expect(set.siblings.isEmpty && set.isDeleted)
        set.synchronize(with: stale)
        #expect(set.siblings.isEmpty, "a delayed copy of the deleted value \(old.dot) does not come back")
        _ = set.update(value: [7], timestamp: .zero, clientContext: VersionVector(), replica: 2, counter: 1)
        #expect(set.values == [[7]], "a new write after the deletion is kept")
    }
}

@Suite struct CRDTValueTests {
    /// Three replicas churn adds and removes of fresh elements of one OR-set
    /// key; deltas are delivered to each replica with loss and reordering,
    /// and replicas exchange whole states now and then (anti-entropy).
    /// Removed elements leave nothing behind and out-of-order dots are
    /// collected once the missing deltas arrive, so the state does not grow
    /// with the number of operations.
    @Test func orSetStateDoesNotGrowUnderAddRemoveChurn() throws {
        var generator = SeededGenerator(seed: 2024)
        var replicas = Array(repeating: ReplicatedValue.empty(.set), count: 3)
        var sizes: [Int] = []
        var element = 0
        for round in 0..<600 {
            let at = Int(generator.next() % 3)
            let target: [UInt8] = Array("e\(element)".utf8)
            element += 1
            var deltas = [try replicas[at].apply(.setInsert([target]), by: ReplicaID(UInt64(at + 1)))]
            deltas.append(try replicas[at].apply(.setRemove([target]), by: ReplicaID(UInt64(at + 1))))
            for other in 0..<3 where other != at {
                for delta in deltas.shuffled(using: &generator) where !generator.chance(0.2) { replicas[other].merge(delta) }
            }
            if round % 25 == 24 {
                let all = replicas.reduce(ReplicatedValue.empty(.set)) { $0.merging($1) }
                for index in 0..<3 { replicas[index].merge(all) }
                sizes.append(replicas[0].encodedBytes.count)
            }
        }
        guard case .set(let final) = replicas[0] else { Issue.record("not a set"); return }
        #expect(final.count == 0)
        #expect(final.context.cloud.isEmpty, "every out-of-order dot was collected into the version vector")
        #expect(final.context.compact.entries.count == 3, "one entry per replica, whatever the operation count")
        #expect(sizes.max()! <= 40, "bounded state: \(sizes)")
        #expect(replicas[0] == replicas[1] && replicas[1] == replicas[2])
    }

    @Test func countersMergeSetsAddWinsFlagsEnableWinsAndRegistersReadLastWriterWins() throws {
        var a = ReplicatedValue.empty(.counter)
        var b = a
        let incrementA = try a.apply(.counterIncrement(7), by: 1)
        let incrementB = try b.apply(.counterIncrement(3), by: 2)
        a.merge(incrementB)
        b.merge(incrementA)
        guard case .counter(let counter) = a else { Issue.record("kind"); return }
        #expect(counter.value == 10 && a == b)

        var setA = ReplicatedValue.empty(.set)
        _ = try setA.apply(.setInsert([[1]]), by: 1)
        var setB = setA
        let remove = try setA.apply(.setRemove([[1]]), by: 1)
        let add = try setB.apply(.setInsert([[1]]), by: 2)
        setA.merge(add)
        setB.merge(remove)
        guard case .set(let set) = setA else { Issue.record("kind"); return }
        #expect(set.contains([1]) && setA == setB, "a concurrent add wins over the remove")

        var registerA = ReplicatedValue.empty(.register)
        var registerB = registerA
        let early = try registerA.apply(.registerAssign(TimestampedBytes(bytes: [1], timestamp: HybridTimestamp(physical: 1, logical: 0))), by: 1)
        let late = try registerB.apply(.registerAssign(TimestampedBytes(bytes: [2], timestamp: HybridTimestamp(physical: 2, logical: 0))), by: 2)
        registerA.merge(late)
        registerB.merge(early)
        guard case .register(let register) = registerA else { Issue.record("kind"); return }
        #expect(register.values.count == 2 && register.lastWriterWinsValue == [2] && registerA == registerB)

        var flag = ReplicatedValue.empty(.flag)
        var other = flag
        let disable = try flag.apply(.flagDisable, by: 1)
        let enable = try other.apply(.flagEnable, by: 2)
        flag.merge(enable)
        other.merge(disable)
        #expect(!flag.isEmptyForReaders && flag == other)

        var map = ReplicatedValue.empty(.map)
        _ = try map.apply(.map([.update(FieldKey("visits", .counter), .increment(2)), .update(FieldKey("name", .register), .assign("ada"))]), by: 1)
        guard case .map(let riak) = map else { Issue.record("kind"); return }
        #expect(riak[FieldKey("visits", .counter)]?.counter.value == 2)
        var mapCopy = map
        #expect(throws: OperationError.wrongFieldKind(FieldKey("visits", .set))) {
            _ = try mapCopy.apply(.map([.update(FieldKey("visits", .set), .increment(1))]), by: 1)
        }
        var counterCopy = a
        #expect(throws: OperationError.wrongKind(key: .counter, operation: .set)) {
            _ = try counterCopy.apply(.setInsert([[1]]), by: 1)
        }
    }
}

private func encode(_ set: Set<Int>) -> [UInt8] { Array(set.sorted().map(String.init).joined(separator: ",").utf8) }
private func decode(_ bytes: [UInt8]) -> Set<Int> {
    Set(String(decoding: bytes, as: UTF8.self).split(separator: ",").compactMap { Int($0) })
}
