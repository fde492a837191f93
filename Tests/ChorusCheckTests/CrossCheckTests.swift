import ChorusCheck
import ChorusCore
import Testing

/// Seeded property tests: the checker against a correct register and
/// against a brute-force checker. Every expectation names its seed.
@Suite struct CrossCheckTests {
    @Test func correctRegisterHistoriesAreLinearizable() throws {
        for seed in UInt64(1)...60 {
            let history = try History(events: RandomRegisterHistory(seed: seed, clients: 5, operations: 150).events)
            let result = try ModelKind.casRegister.check(history, condition: .linearizable)
            #expect(result.verdict == .satisfied, "seed \(seed)")
            if let witness = result.partitions.first?.witness {
                #expect(witnessIsValid(witness, in: history, condition: .linearizable), "seed \(seed)")
            }
        }
    }

    @Test func correctRegisterHistoriesAreSequentiallyConsistent() throws {
        for seed in UInt64(100)...140 {
            let history = try History(events: RandomRegisterHistory(seed: seed, clients: 4, operations: 60).events)
            let result = try ModelKind.casRegister.check(history, condition: .sequential)
            #expect(result.verdict == .satisfied, "seed \(seed)")
            if let witness = result.partitions.first?.witness {
                #expect(witnessIsValid(witness, in: history, condition: .sequential), "seed \(seed)")
            }
        }
    }

    @Test func oneCorruptedReadUsuallyBreaksLinearizability() throws {
        var violated = 0
        var total = 0
        for seed in UInt64(200)...279 {
            let generated = RandomRegisterHistory(seed: seed, clients: 3, operations: 80)
            guard let corrupted = generated.corruptingOneRead(seed: seed) else { continue }
            total += 1
            let result = try ModelKind.casRegister.check(History(events: corrupted), condition: .linearizable)
            #expect(result.verdict != .unknown, "seed \(seed)")
            if result.verdict == .violated { violated += 1 }
        }
        // A changed read can still be explained by concurrency, but rarely.
        #expect(total >= 70)
        #expect(violated * 100 >= total * 55, "only \(violated) of \(total) corrupted histories were caught")
    }

    @Test(arguments: [ConsistencyCondition.linearizable, .sequential])
    func agreesWithBruteForceOnSmallHistories(_ condition: ConsistencyCondition) throws {
        var disagreements: [UInt64] = []
        var violations = 0
        for seed in UInt64(1_000)...1_599 {
            let generated = RandomRegisterHistory(
                seed: seed, clients: 3, operations: 6, indeterminateChance: 0.25)
            let variants = [generated.events] + (generated.corruptingOneRead(seed: seed).map { [$0] } ?? [])
            for events in variants {
                let history = try History(events: events)
                guard history.operations.filter({ $0.outcome != .fail }).count <= 7 else { continue }
                let expected = BruteForceChecker.isConsistent(history, condition: condition)
                let result = try ModelKind.casRegister.check(history, condition: condition)
                if result.verdict != (expected ? .satisfied : .violated) { disagreements.append(seed) }
                if !expected { violations += 1 }
            }
        }
        #expect(disagreements.isEmpty, "seeds where the checker and brute force disagree: \(disagreements)")
        // The comparison means something only if both answers occur.
        #expect(violations >= 50, "only \(violations) violations among the small histories")
    }

    /// Several keys: linearizability is checked key by key, and sequential
    /// consistency first tries the keys' merged linearizations and each key
    /// alone before one combined search. None of these shortcuts may change a
    /// verdict, and every witness must hold up.
    @Test(arguments: [ConsistencyCondition.linearizable, .sequential])
    func agreesWithBruteForceOnSmallKeyedHistories(_ condition: ConsistencyCondition) throws {
        var disagreements: [UInt64] = []
        var violations = 0
        var satisfied = 0
        for seed in UInt64(5_000)...5_399 {
            let generated = RandomRegisterHistory(
                seed: seed, clients: 3, operations: 7, indeterminateChance: 0.2, keys: 2)
            let variants = [generated.events] + (generated.corruptingOneRead(seed: seed).map { [$0] } ?? [])
            for events in variants {
                let history = try History(events: events)
                guard history.operations.filter({ $0.outcome != .fail }).count <= 7 else { continue }
                let expected = BruteForceChecker.isConsistent(history, condition: condition)
                let result = try ModelKind.casRegister.check(history, condition: condition)
                if result.verdict != (expected ? .satisfied : .violated) { disagreements.append(seed) }
                if let witness = result.partitions.first?.witness, condition == .sequential {
                    #expect(witnessIsValid(witness, in: history, condition: .sequential), "seed \(seed)")
                }
                if expected { satisfied += 1 } else { violations += 1 }
            }
        }
        #expect(disagreements.isEmpty, "seeds where the checker and brute force disagree: \(disagreements)")
        #expect(violations >= 30 && satisfied >= 30, "\(violations) violations, \(satisfied) satisfied: too one-sided")
    }

    /// Larger keyed histories from a correct store: sequentially consistent,
    /// settled by the merged per-key linearizations with a witness that holds up.
    @Test func correctKeyedHistoriesAreSequentiallyConsistentWithAMergedWitness() throws {
        for seed in UInt64(6_000)...6_030 {
            let history = try History(events: RandomRegisterHistory(seed: seed, clients: 6, operations: 300, keys: 5).events)
            let result = try ModelKind.casRegister.check(history, condition: .sequential)
            #expect(result.verdict == .satisfied, "seed \(seed)")
            let witness = try #require(result.partitions.first?.witness, "seed \(seed)")
            #expect(witnessIsValid(witness, in: history, condition: .sequential), "seed \(seed)")
            #expect(witnessIsValid(witness, in: history, condition: .linearizable), "seed \(seed): the merge keeps real time")
        }
    }
}
