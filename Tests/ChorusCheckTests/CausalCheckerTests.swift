import ChorusCheck
import Testing

/// Causal consistency by the bad patterns of Bouajjani, Enea, Guerraoui and
/// Hamza (POPL 2017), on the example histories of their Figure 2 with the
/// verdicts the paper gives (also in nurturenature/jepsen-causal-consistency's
/// `adya_test.clj`), and on the minimal anomalies of that repository.
@Suite struct CausalCheckerTests {
    /// `"w x 1"`, `"r x 2"`, `"r x -"` (the initial value), one list per
    /// session; the sessions' operations are interleaved in list order.
    func history(_ sessions: [[String]]) throws -> KeyValueHistory {
        var builder = KeyValueHistoryBuilder()
        let longest = sessions.map(\.count).max() ?? 0
        for step in 0..<longest {
            for (number, session) in sessions.enumerated() where step < session.count {
                let parts = session[step].split(separator: " ").map(String.init)
                let value: HistoryValue = parts[2] == "-" ? .null : .integer(Int64(parts[2])!)
                if parts[0] == "w" {
                    builder.write("p\(number)", parts[1], value)
                } else {
                    builder.read("p\(number)", parts[1], value)
                }
            }
        }
        return try builder.history()
    }

    func found(_ result: CausalCheckResult) -> [String] {
        result.patterns.filter { $0.verdict == .violated }.map(\.name)
    }

    func models(_ result: CausalCheckResult) -> [String: Verdict] {
        Dictionary(uniqueKeysWithValues: CausalModel.allCases.map { ($0.rawValue, result.verdict($0)) })
    }

    // MARK: The paper's Figure 2

    @Test func figure2aIsCausalMemoryButNotCausalConvergence() throws {
        let result = try CausalChecker.check(history([["w x 1", "r x 2"], ["w x 2", "r x 1"]]))
        #expect(found(result) == ["cyclic-cf"])
        #expect(models(result) == ["cc": .satisfied, "ccv": .violated, "cm": .satisfied])
    }

    @Test func figure2bIsCausalConvergenceButNotCausalMemory() throws {
        let result = try CausalChecker.check(history([
            ["w z 1", "w x 1", "w y 1"],
            ["w x 2", "r z -", "r y 1", "r x 2"],
        ]))
        #expect(found(result) == ["write-hb-init-read"])
        #expect(models(result) == ["cc": .satisfied, "ccv": .satisfied, "cm": .violated])
        // The first operation whose view shows it is the read of x = 2 (6): in
        // its view w(z,1) → w(x,1) → w(x,2) → r(z,0), the middle step because
        // that read returned x = 2 after w(x,1) was visible.
        let violation = try #require(result.pattern(.writeHBInitRead).violations.first)
        #expect(violation.explanation.contains("returned the initial value"))
        #expect(violation.operationIDs == [0, 2, 1, 3, 6])
    }

    @Test func figure2cIsCausalButNeitherCausalMemoryNorConvergence() throws {
        let result = try CausalChecker.check(history([["w x 1"], ["w x 2", "r x 1", "r x 2"]]))
        #expect(found(result) == ["cyclic-cf", "cyclic-hb"])
        #expect(models(result) == ["cc": .satisfied, "ccv": .violated, "cm": .violated])
    }

    @Test func figure2dIsAllThreeThoughNotSequentiallyConsistent() throws {
        let result = try CausalChecker.check(history([
            ["w x 1", "r y -", "w y 1", "r x 1"],
            ["w x 2", "r y -", "w y 2", "r x 2"],
        ]))
        #expect(found(result) == [])
        #expect(models(result) == ["cc": .satisfied, "ccv": .satisfied, "cm": .satisfied])
    }

    @Test func figure2eIsNotCausal() throws {
        let result = try CausalChecker.check(history([["w x 1", "w y 1"], ["r y 1", "w x 2"], ["r x 2", "r x 1"]]))
        #expect(found(result).contains("write-co-read"))
        #expect(models(result) == ["cc": .violated, "ccv": .violated, "cm": .violated])
        let violation = try #require(result.pattern(.writeCORead).violations.first)
        // w(x,1) → w(y,1) → r(y,1) → w(x,2) → r(x,2) → r(x,1): six operations, all needed.
        #expect(violation.operationIDs.count == 6)
    }

    // MARK: jepsen-causal-consistency's minimal anomalies

    @Test func aReadOfTheInitialValueAfterItsCause() throws {
        // invalid-cc: p1 reads x = 0 and writes y; p2 reads y, then x as nil.
        let result = try CausalChecker.check(history([["w x 0"], ["r x 0", "w y 0"], ["r y 0", "r x -"]]))
        // HB_o holds CO, so causal memory's own pattern sees it too.
        #expect(found(result) == ["write-co-init-read", "write-hb-init-read"])
        #expect(result.pattern(.writeCOInitRead).violations.first?.operationIDs.count == 5)
    }

    @Test func causalButNotSequentialHistoriesPass() throws {
        // valid-cc and valid-cc-rw.
        #expect(found(try CausalChecker.check(history([["w x 0", "r x 1"], ["w x 1"]]))) == [])
        #expect(found(try CausalChecker.check(history([["w x 0"], ["w y 0"], ["r x 0", "r y -"], ["r x -", "r y 0"]]))) == [])
    }

    @Test func readingOneselfFromTheFutureIsACycle() throws {
        // invalid-wr-single-process: [:r :x [0]] then [:append :x 0].
        let result = try CausalChecker.check(history([["r x 0", "w x 0"]]))
        #expect(found(result) == ["cyclic-co"])
        #expect(result.pattern(.cyclicCO).violations.first?.operationIDs == [0, 1])
        #expect(result.pattern(.writeCORead).verdict == .unknown)
        #expect(models(result) == ["cc": .violated, "ccv": .violated, "cm": .violated])
    }

    @Test func aThinAirRead() throws {
        var builder = KeyValueHistoryBuilder()
        builder.write("a", "x", 1)
        builder.write("a", "x", 2, outcome: .fail)
        builder.read("b", "x", 3)
        builder.read("b", "x", 2)
        let result = try CausalChecker.check(builder.history())
        #expect(found(result) == ["thin-air-read"])
        #expect(result.pattern(.thinAirRead).violationCount == 2)
        #expect(result.pattern(.thinAirRead).violations.last?.explanation.contains("failed") == true)
    }

    @Test func anIndeterminateWriteThatWasReadTookEffect() throws {
        var builder = KeyValueHistoryBuilder()
        builder.write("a", "x", 1, outcome: .info)
        builder.read("a", "x", .null)
        builder.read("b", "x", 1)
        builder.read("b", "x", .null)
        let result = try CausalChecker.check(builder.history())
        // The write may have taken effect after a's read, but b read it before reading nil.
        #expect(found(result) == ["write-co-init-read", "write-hb-init-read"])
    }

    // MARK: Input

    @Test func historiesMustBeDifferentiatedAndSequential() throws {
        #expect(throws: HistoryError.self) { try CausalChecker.check(history([["w x 1"], ["w x 1"]])) }
        var deleting = KeyValueHistoryBuilder()
        deleting.delete("a", "x", v: 1)
        #expect(throws: HistoryError.self) { try CausalChecker.check(deleting.history()) }
        var overlapping = KeyValueHistoryBuilder()
        overlapping.write("a", "x", 1, from: 0, to: 10)
        overlapping.write("a", "y", 1, from: 5, to: 6)
        #expect(throws: HistoryError.self) { try CausalChecker.check(overlapping.history()) }
    }

    // MARK: Properties

    @Test func aSessionConsistentReplicatedLogIsCausalMemory() throws {
        for seed in UInt64(1)...10 {
            var store = ReplicatedStoreSimulation(seed: seed, replicas: 3)
            store.run(sessions: 4, keys: 3, operations: 400, sessionConsistent: true)
            let result = try CausalChecker.check(store.builder.history())
            #expect(found(result) == [], "seed \(seed)")
        }
    }

    @Test func readsFromAnyReplicaAreCaught() throws {
        var violations = 0
        for seed in UInt64(1)...10 {
            var store = ReplicatedStoreSimulation(seed: seed, replicas: 3)
            store.run(sessions: 4, keys: 3, operations: 400, sessionConsistent: false)
            let result = try CausalChecker.check(store.builder.history())
            if result.verdict(.causalConsistency) == .violated { violations += 1 }
            #expect(result.pattern(.thinAirRead).verdict == .satisfied, "seed \(seed)")
        }
        #expect(violations == 10)
    }
}
