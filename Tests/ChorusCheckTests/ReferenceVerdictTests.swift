import ChorusCheck
import ChorusSimulation
import ChorusTesting
import Foundation
import Testing

/// Every history in the shared Jepsen etcd and Porcupine kv data gets exactly
/// the verdict its VERDICTS file records. The searches run on
/// `DedicatedThread`s (one per core across the process), off the cooperative
/// pool: ninety of them at once held the pool for a minute in `swift test`,
/// and tests waiting on a deadline starved.
@Suite struct ReferenceVerdictTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var file: URL
        var expected: Verdict
        var testDescription: String { file.lastPathComponent }
    }

    static func cases(_ folder: String, suffix: String) -> [Case] {
        guard let directory = ReferenceData.directory(folder),
            let text = try? String(contentsOf: directory.appendingPathComponent("VERDICTS"), encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2 else { return nil }
            let name = fields[0].hasSuffix(suffix) ? String(fields[0]) : String(fields[0]) + suffix
            return Case(
                file: directory.appendingPathComponent(name),
                expected: fields[1] == "linearizable" ? .satisfied : .violated)
        }
    }

    /// `body` on a dedicated thread, its error rethrown here.
    static func offPool<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await DedicatedThread.run { Result { try body() } }.get()
    }

    static func check(_ testCase: Case, model: ModelKind) throws -> (History, CheckResult) {
        let bytes = try [UInt8](Data(contentsOf: testCase.file))
        let history = try HistoryFormat.history(from: bytes, format: nil)
        return (history, try model.check(history, condition: .linearizable))
    }

    @Test(.enabled(if: ReferenceData.isPresent("jepsen-etcd"), Comment(rawValue: ReferenceData.missingMessage("jepsen-etcd"))))
    func everyEtcdHistoryHasAVerdict() throws {
        let directory = try #require(ReferenceData.directory("jepsen-etcd"))
        #expect(Self.cases("jepsen-etcd", suffix: ".log").count == 52, "VERDICTS in \(directory.path)")
    }

    @Test(.enabled(if: ReferenceData.isPresent("porcupine-kv"), Comment(rawValue: ReferenceData.missingMessage("porcupine-kv"))))
    func everyKeyValueHistoryHasAVerdict() {
        #expect(Self.cases("porcupine-kv", suffix: ".edn").count == 4)
    }

    @Test(arguments: cases("jepsen-etcd", suffix: ".log"))
    func etcd(_ testCase: Case) async throws {
        let (history, result) = try await Self.offPool { try Self.check(testCase, model: .casRegister) }
        #expect(result.verdict == testCase.expected)
        try Self.checkEvidence(history, result)
    }

    /// A linearizable history is sequentially consistent, so the linearizable
    /// kv histories must be, across all ten keys at once; the etcd ones too.
    @Test(arguments: cases("porcupine-kv", suffix: ".edn").filter { $0.expected == .satisfied }
        + cases("jepsen-etcd", suffix: ".log").filter { $0.expected == .satisfied })
    func linearizableHistoriesAreSequentiallyConsistent(_ testCase: Case) async throws {
        let result = try await Self.offPool {
            let bytes = try [UInt8](Data(contentsOf: testCase.file))
            let history = try HistoryFormat.history(from: bytes, format: nil)
            let model: ModelKind = testCase.file.pathExtension == "edn" ? .keyValue : .casRegister
            return try model.check(history, condition: .sequential, options: CheckOptions(timeout: .seconds(60)))
        }
        #expect(result.verdict == .satisfied)
    }

    /// The two kv histories that are not linearizable are not sequentially
    /// consistent either. `c10-bad` needs the combined search over ten keys,
    /// and it must find the violation within a modest memo: the per-key
    /// shortcut gives up early instead of spending the budget (68 MB peak in
    /// a release build, where the whole budget once took 2 GB).
    @Test(arguments: cases("porcupine-kv", suffix: ".edn").filter { $0.expected == .violated })
    func nonLinearizableKeyValueHistoriesAreNotSequentiallyConsistent(_ testCase: Case) async throws {
        let result = try await Self.offPool {
            let bytes = try [UInt8](Data(contentsOf: testCase.file))
            let history = try HistoryFormat.history(from: bytes, format: nil)
            return try ModelKind.keyValue.check(
                history, condition: .sequential, options: CheckOptions(timeout: .seconds(120), memoBytesMaximum: 256 << 20))
        }
        #expect(result.verdict == .violated)
        #expect(result.counterexample != nil)
    }

    @Test(arguments: cases("porcupine-kv", suffix: ".edn"))
    func keyValue(_ testCase: Case) async throws {
        let (history, result) = try await Self.offPool { try Self.check(testCase, model: .keyValue) }
        #expect(result.verdict == testCase.expected)
        // The parallel check must agree, counterexample included.
        let concurrent = try await ModelKind.keyValue.checkConcurrently(history, condition: .linearizable)
        #expect(concurrent.verdict == result.verdict)
        #expect(concurrent.counterexample == result.counterexample)
    }

    /// A satisfied verdict carries a witness an independent replay accepts; a
    /// violated one a counterexample whose blocking operation is unplaced.
    static func checkEvidence(_ history: History, _ result: CheckResult) throws {
        switch result.verdict {
        case .satisfied:
            let witness = try #require(result.partitions.first?.witness)
            #expect(witnessIsValid(witness, in: history, condition: .linearizable))
        case .violated:
            let counterexample = try #require(result.counterexample)
            let placed = Set(counterexample.prefix.map(\.operationID))
            let blocking = try #require(counterexample.blockingOperationID)
            #expect(!placed.contains(blocking))
            #expect(counterexample.candidates.contains(blocking))
            #expect(Set(counterexample.unplaceable).isSubset(of: Set(counterexample.candidates)))
            // The prefix itself must be a legal, real-time-respecting order.
            #expect(prefixIsLegal(counterexample.prefix.map(\.operationID), history))
        case .unknown:
            Issue.record("no budget was set, so the verdict cannot be unknown")
        }
    }

    static func prefixIsLegal(_ prefix: [Int], _ history: History) -> Bool {
        var register = HistoryValue.null
        for (position, id) in prefix.enumerated() {
            let operation = history.operations[id]
            for later in prefix[(position + 1)...] {
                let other = history.operations[later]
                if !other.outcome.isIndeterminate, let completed = other.completedAt, completed < operation.invokedAt {
                    return false
                }
            }
            switch operation.function {
            case "read": if operation.outcome == .ok && (operation.output ?? .null) != register { return false }
            case "write": register = operation.input
            default:
                let pair = operation.input.listValue ?? []
                if register == pair[0] { register = pair[1] } else if operation.outcome == .ok { return false }
            }
        }
        return true
    }
}
