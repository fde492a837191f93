import ChorusCRDT
import ChorusClocks
import ChorusCore
import Testing

/// How to exercise one CRDT type in the generic law checks: a random
/// mutation (returning its delta) and the value a user observes.
protocol CRDTFixture {
    associatedtype Subject: DeltaCRDT
    associatedtype Observed: Equatable
    static var name: String { get }
    static func mutate(_ state: inout Subject, by replica: ReplicaID, using random: inout SeededGenerator) throws -> Subject.Delta
    static func observe(_ state: Subject) -> Observed
}

/// The laws every CRDT here must satisfy, checked on random histories:
/// - merge is commutative, associative and idempotent;
/// - a mutator's delta, joined into the old state, gives the new state, and
///   joining the delta anywhere equals joining the new state there;
/// - replicas that receive the same deltas in any order, duplicated and
///   delayed, converge to equal states and observed values, equal to the
///   join of all the replicas that made them;
/// - decode(encode(x)) == x, the encoding is canonical, and malformed bytes
///   are errors, never traps.
enum CRDTLaws {
    struct History<Subject: DeltaCRDT> {
        var replicas: [Subject]
        var deltas: [Subject.Delta]
    }

    static let replicaIDs: [ReplicaID] = [3, 10, 17, 24, 31]

    static func history<Fixture: CRDTFixture>(
        _ fixture: Fixture.Type, seed: UInt64, replicaCount: Int, steps: Int
    ) throws -> History<Fixture.Subject> {
        var random = SeededGenerator(seed: seed)
        var replicas = [Fixture.Subject](repeating: Fixture.Subject(), count: replicaCount)
        var deltas: [Fixture.Subject.Delta] = []
        for _ in 0..<steps {
            let index = Int.random(in: 0..<replicaCount, using: &random)
            if random.chance(0.2) {
                let source = Int.random(in: 0..<replicaCount, using: &random)
                replicas[index].merge(replicas[source])
            } else {
                let before = replicas[index]
                let delta = try Fixture.mutate(&replicas[index], by: replicaIDs[index], using: &random)
                var joined = before
                joined.apply(delta)
                #expect(joined == replicas[index], "\(Fixture.name) seed \(seed): old state ⊔ delta ≠ new state")
                deltas.append(delta)
            }
        }
        return History(replicas: replicas, deltas: deltas)
    }

    static func check<Fixture: CRDTFixture>(_ fixture: Fixture.Type, seeds: ClosedRange<UInt64> = 1...10, steps: Int = 60) throws {
        for seed in seeds {
            let replicaCount = 3 + Int(seed % 3)
            let history = try history(fixture, seed: seed, replicaCount: replicaCount, steps: steps)
            let (a, b, c) = (history.replicas[0], history.replicas[1], history.replicas[2])
            let label = "\(Fixture.name) seed \(seed)"

            #expect(a.merging(b) == b.merging(a), "\(label): commutativity")
            #expect(a.merging(b).merging(c) == a.merging(b.merging(c)), "\(label): associativity")
            #expect(a.merging(a) == a, "\(label): idempotence")
            #expect(a.merging(b).merging(b) == a.merging(b), "\(label): idempotence after a merge")
            #expect(a.merging(Fixture.Subject()) == a, "\(label): bottom is the identity")

            // Joining a delta elsewhere equals joining the state it came from.
            var random = SeededGenerator(seed: seed &* 31 &+ 7)
            var source = b
            let delta = try Fixture.mutate(&source, by: replicaIDs[1], using: &random)
            var viaDelta = a.merging(b)
            viaDelta.apply(delta)
            #expect(viaDelta == a.merging(source), "\(label): delta join ≠ state join")

            // Delivery in any order, duplicated, delayed.
            var all = Fixture.Subject()
            for replica in history.replicas { all.merge(replica) }
            var receivers: [Fixture.Subject] = []
            for _ in 0..<3 {
                var deliveries = Array(history.deltas.indices)
                for index in history.deltas.indices where random.chance(0.3) { deliveries.append(index) }
                deliveries.shuffle(using: &random)
                var receiver = Fixture.Subject()
                for index in deliveries { receiver.apply(history.deltas[index]) }
                receivers.append(receiver)
            }
            for receiver in receivers {
                #expect(receiver == receivers[0], "\(label): receivers diverge")
                #expect(Fixture.observe(receiver) == Fixture.observe(receivers[0]), "\(label): observed values diverge")
                #expect(receiver == all, "\(label): receivers differ from the join of all replicas")
            }

            // Encoding.
            for state in history.replicas + [all, Fixture.Subject()] {
                let bytes = state.encodedBytes
                let decoded = try Fixture.Subject(decodingAll: bytes)
                #expect(decoded == state, "\(label): decode(encode(x)) ≠ x")
                #expect(Fixture.observe(decoded) == Fixture.observe(state), "\(label): observed value changed by encoding")
                #expect(decoded.encodedBytes == bytes, "\(label): encoding not canonical")
            }
            for delta in history.deltas.prefix(5) {
                let decoded = try Fixture.Subject.Delta(decodingAll: delta.encodedBytes)
                var viaDecoded = a
                viaDecoded.apply(decoded)
                var viaOriginal = a
                viaOriginal.apply(delta)
                #expect(viaDecoded == viaOriginal, "\(label): a decoded delta acts differently")
            }
            fuzzDecoder(Fixture.self, valid: all.encodedBytes, seed: seed)
        }
    }

    /// Random and mutated bytes: decoding may fail, never trap, and what it
    /// accepts must still merge.
    static func fuzzDecoder<Fixture: CRDTFixture>(_ fixture: Fixture.Type, valid: [UInt8], seed: UInt64) {
        var random = SeededGenerator(seed: seed ^ 0xF00D)
        for iteration in 0..<150 {
            var bytes: [UInt8]
            if iteration % 3 == 0 || valid.isEmpty {
                bytes = (0..<Int.random(in: 0...24, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else if iteration % 3 == 1 {
                bytes = valid
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            } else {
                bytes = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &random)))
            }
            if let decoded = try? Fixture.Subject(decodingAll: bytes) {
                _ = decoded.merging(Fixture.Subject())
                _ = Fixture.observe(decoded)
            }
        }
    }
}
