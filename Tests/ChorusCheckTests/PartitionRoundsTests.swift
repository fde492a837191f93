import ChorusCheck
import ChorusCore
import Testing

/// The keys of a linearizability check take turns in rounds of doubling step
/// limits (`PartitionRounds`): a violation that is cheap to find on one key
/// ends the check however hard an earlier key is, the counterexample is the
/// one the rule names, and serial and parallel checks agree on it.
@Suite struct PartitionRoundsTests {
    static let firstRound = CheckLimits.firstRoundSearchSteps

    /// The round limit in which a violation found after `steps` steps shows up.
    static func roundLimit(for steps: Int) -> Int {
        var limit = firstRound
        while limit < steps { limit *= 2 }
        return limit
    }

    static func totalSteps(_ result: CheckResult) -> Int { result.partitions.reduce(0) { $0 + $1.searchSteps } }

    /// Porcupine's `c50-bad.txt` in miniature: the first key cannot be
    /// refuted in fewer than about e · 8! placements, the second fails at
    /// once. Searching keys in order (or waiting for the lower-numbered one)
    /// spent everything on the first; rounds stop after the first round.
    @Test func aCheapViolationOnALaterKeyEndsTheCheck() async throws {
        let events = unrefutableReadAfterAppends(key: "hard", count: 8, firstProcess: 0) + [
            HistoryEvent(process: 20, type: .invoke, function: "get", key: "easy"),
            HistoryEvent(process: 20, type: .ok, function: "get", key: "easy", value: "never written"),
        ]
        let history = try History(events: events)
        let result = try ModelKind.keyValue.check(history, condition: .linearizable)
        #expect(result.verdict == .violated)
        #expect(result.counterexample?.key == "easy")
        #expect(result.counterexample?.stateAtEnd == "\"\"")
        #expect(result.partitions.map(\.key) == ["hard", "easy"])
        #expect(result.partitions.map(\.verdict) == [.unknown, .violated])
        #expect(result.partitions[0].unknownReason == .cancelled)
        #expect(result.partitions[0].searchSteps == Self.firstRound)
        #expect(Self.totalSteps(result) <= Self.firstRound + 10)

        let concurrent = try await ModelKind.keyValue.checkConcurrently(history, condition: .linearizable)
        #expect(concurrent.verdict == .violated)
        #expect(concurrent.counterexample == result.counterexample)

        // The first key really is hard: alone, it does not decide within a
        // mebibyte of memo (it needs about 110,000 entries).
        let hardAlone = try ModelKind.keyValue.check(
            History(events: Array(events.dropLast(2))), condition: .linearizable,
            options: CheckOptions(memoBytesMaximum: 1 << 20))
        #expect(hardAlone.verdict == .unknown)
        #expect(hardAlone.unknownReason == .memoLimit(bytes: 1 << 20))
    }

    /// The shape of `c50-bad.txt` (50 clients, 10 keys, gets, appends and
    /// puts; `Scripts/kv_history.py` writes the same histories) with a hard
    /// key first and one corrupted get elsewhere: the corrupted key is
    /// reported, within a bounded number of steps.
    @Test(arguments: [UInt64(1), 2, 3])
    func fiftyClientHistoryWithAHardFirstKey(seed: UInt64) async throws {
        let generated = RandomKeyValueHistory(seed: seed, clients: 50, operations: 1_000, keys: 10)
        // The first get: refuting it needs only the few operations before it.
        let corrupted = try #require(generated.getCompletions.first, "seed \(seed)")
        let events = unrefutableReadAfterAppends(key: "hard", count: 8, firstProcess: 100)
            + generated.corruptingGet(at: corrupted)
        let history = try History(events: events)
        let result = try ModelKind.keyValue.check(history, condition: .linearizable)
        let corruptedIndex = events.count - generated.events.count + corrupted
        #expect(result.verdict == .violated, "seed \(seed)")
        #expect(result.counterexample?.key == events[corruptedIndex].key, "seed \(seed)")
        #expect(result.partitions.count == 11, "seed \(seed)")
        #expect(result.partitions.first?.key == "hard", "seed \(seed)")
        #expect(result.partitions.first?.verdict == .unknown, "seed \(seed)")
        let violating = try #require(result.partitions.first { $0.verdict == .violated }, "seed \(seed)")
        let bound = result.partitions.count * Self.roundLimit(for: violating.searchSteps)
        #expect(Self.totalSteps(result) <= bound, "seed \(seed): \(Self.totalSteps(result)) steps")
        #expect(bound <= 11 * 8 * Self.firstRound, "seed \(seed): the corrupted get took \(violating.searchSteps) steps")

        let concurrent = try await ModelKind.keyValue.checkConcurrently(history, condition: .linearizable)
        #expect(concurrent.verdict == .violated, "seed \(seed)")
        #expect(concurrent.counterexample == result.counterexample, "seed \(seed)")
    }

    /// The rule, exactly, on random histories with corrupted gets on some
    /// keys: each key checked alone takes some steps to its verdict; the
    /// check reports the lowest-numbered key that violates within the first
    /// round limit at or above the cheapest violation, decided keys took
    /// the steps they take alone (pausing changes nothing), and undecided
    /// keys stopped at the round limit (those after the reported one, not
    /// reached in that round, at the previous limit).
    @Test func theReportedKeyIsTheOneTheRoundsRuleNames() async throws {
        for seed in UInt64(1)...16 {
            let generated = RandomKeyValueHistory(seed: seed, clients: 12, operations: 240, keys: 3)
            var random = SeededGenerator(seed: seed &* 7919)
            var events = generated.events
            let gets = generated.getCompletions
            for _ in 0..<Int(random.next() % 3) {
                events[gets[Int(random.next() % UInt64(gets.count))]].value = "corrupted"
            }
            // A key that takes from a few hundred to about 100,000 steps to
            // refute, anywhere in the history, so that rounds differ.
            let burst = unrefutableReadAfterAppends(key: "burst", count: 3 + Int(random.next() % 5), firstProcess: 100)
            events.insert(contentsOf: burst, at: Int(random.next() % UInt64(events.count)))
            let history = try History(events: events)
            let result = try ModelKind.keyValue.check(history, condition: .linearizable)
            let keys = result.partitions.map(\.key)
            var alone: [PartitionResult] = []
            for key in keys {
                let single = try ModelKind.keyValue.check(
                    History(events: events.filter { $0.key == key }), condition: .linearizable)
                alone.append(try #require(single.partitions.first, "seed \(seed)"))
            }
            let violationSteps = alone.filter { $0.verdict == .violated }.map(\.searchSteps)
            guard let cheapest = violationSteps.min() else {
                #expect(result.verdict == .satisfied, "seed \(seed)")
                #expect(result.partitions.map(\.searchSteps) == alone.map(\.searchSteps), "seed \(seed)")
                continue
            }
            let limit = Self.roundLimit(for: cheapest)
            let reported = try #require(
                alone.indices.first { alone[$0].verdict == .violated && alone[$0].searchSteps <= limit }, "seed \(seed)")
            #expect(result.verdict == .violated, "seed \(seed)")
            #expect(result.counterexample?.key == keys[reported], "seed \(seed)")
            // The serial check stops its last round at the reported key.
            let previousLimit = limit == Self.firstRound ? 0 : limit / 2
            for (index, partition) in result.partitions.enumerated() {
                let steps = alone[index].searchSteps
                if steps <= previousLimit || (index <= reported && steps <= limit) {
                    #expect(partition.verdict == alone[index].verdict, "seed \(seed), key \(index)")
                    #expect(partition.searchSteps == steps, "seed \(seed), key \(index)")
                } else {
                    #expect(partition.unknownReason == .cancelled, "seed \(seed), key \(index)")
                    #expect(partition.searchSteps == (index < reported ? limit : previousLimit), "seed \(seed), key \(index)")
                }
            }
            let concurrent = try await ModelKind.keyValue.checkConcurrently(history, condition: .linearizable)
            #expect(concurrent.verdict == result.verdict, "seed \(seed)")
            #expect(concurrent.counterexample == result.counterexample, "seed \(seed)")
        }
    }

    /// With a small memo budget (192 KiB) the paused searches hold half of
    /// it after the first round, and a last round runs the rest to their
    /// verdicts under their own budgets: the first key then runs out of memo
    /// (it needs about 770 KB), and the last key, which needs more steps
    /// than the first round gives but only about 110 KB, still shows the
    /// violation. Serial and parallel checks agree exactly.
    @Test func aSmallMemoBudgetEndsTheRoundsEarlyWithTheSameAnswers() async throws {
        var sawMemoLimit = false
        for seed in UInt64(1)...4 {
            let generated = RandomKeyValueHistory(seed: seed, clients: 12, operations: 240, keys: 3)
            var events = generated.events
            events.insert(contentsOf: unrefutableReadAfterAppends(key: "burst", count: 7, firstProcess: 100), at: 0)
            // Refuted after 7,827 steps, in about 110 KB of memo.
            events.append(contentsOf: unrefutableReadAfterAppends(key: "late", count: 6, firstProcess: 200))
            let history = try History(events: events)
            let small = CheckOptions(memoBytesMaximum: 192 << 10)
            let serial = try ModelKind.keyValue.check(history, condition: .linearizable, options: small)
            let concurrent = try await ModelKind.keyValue.checkConcurrently(history, condition: .linearizable, options: small)
            #expect(serial.verdict == concurrent.verdict, "seed \(seed)")
            #expect(serial.counterexample == concurrent.counterexample, "seed \(seed)")
            let large = try ModelKind.keyValue.check(history, condition: .linearizable)
            #expect(large.verdict == .violated, "seed \(seed)")
            #expect(serial.verdict == .violated, "seed \(seed)")
            #expect(serial.counterexample?.key == "late", "seed \(seed)")
            sawMemoLimit = sawMemoLimit || serial.partitions.contains { $0.unknownReason == .memoLimit(bytes: 192 << 10) }
        }
        #expect(sawMemoLimit, "the budget is meant to be small enough that some key runs out of it")
    }
}
