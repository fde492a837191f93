import ChorusTesting
import ChorusCore
import Foundation
import Synchronization
import Testing

@testable import ChorusStorage

/// Random append / snapshot / crash sequences, each followed by a simulated
/// power loss (`FaultInjectingFileSystem.simulatePowerLoss`): unsynced data is
/// cut to a random prefix, sometimes zero-filled, and unsynced new files may
/// vanish. After every restart:
///
/// - every acknowledged record at or above the snapshot is recovered, unchanged;
/// - every recovered record is one that was appended with that sequence number
///   (nothing torn or invented is replayed), and they are contiguous;
/// - the snapshot is at least as new as the last save that returned.
///
/// The seed fixes the operations and the power-loss damage; where the crash
/// lands among in-flight appends also depends on thread timing, so a failure
/// prints its seed and the round, and the property must hold for every timing.
@Suite struct CrashPropertyTests {
    /// 24 seeds by default; set `CHORUS_STORAGE_PROPERTY_SEEDS=N` for a longer campaign.
    static let seeds: [UInt64] = Array(
        1...(ProcessInfo.processInfo.environment["CHORUS_STORAGE_PROPERTY_SEEDS"].flatMap { UInt64($0) } ?? 24))

    final class Model: Sendable {
        struct State {
            /// What was appended under each sequence number (after the last restart's truncation).
            var appended: [SequenceNumber: [UInt8]] = [:]
            var acknowledged: Set<SequenceNumber> = []
            var lastSavedSnapshot: SequenceNumber = .first
        }
        let state = Mutex(State())
    }

    @Test(arguments: seeds)
    func acknowledgedRecordsSurvivePowerLoss(seed: UInt64) async throws {
        let directory = TemporaryDirectory("property\(seed)")
        defer { directory.remove() }
        var generator = SeededGenerator(seed: seed)
        let fileSystem = FaultInjectingFileSystem()
        let model = Model()
        var configuration = smallConfiguration
        configuration.segmentRolloverBytes = 256 + Int(generator.next() % 2048)
        configuration.maximumBatchRecords = 1 + Int(generator.next() % 32)
        configuration.maximumPendingRecords = 4096

        for round in 0..<5 {
            let context = "seed \(seed), round \(round)"
            let (storage, recovered) = try await openStorage(
                directory.path, configuration: configuration, fileSystem: fileSystem)
            try check(recovered, model: model, context: context)

            let operations = 1 + Int(generator.next() % 12)
            for _ in 0..<operations {
                switch generator.next() % 10 {
                case 0..<6:
                    appendConcurrently(to: storage.log, model: model, generator: &generator)
                case 6..<8:
                    await waitForAcknowledgements(storage.log)
                default:
                    await waitForAcknowledgements(storage.log)
                    let covered = storage.log.durableNextSequence
                    try storage.saveSnapshot(Array("state below \(covered.rawValue)".utf8), coveringBelow: covered)
                    model.state.withLock { $0.lastSavedSnapshot = covered }
                }
            }
            // Crash with appends possibly still in flight.
            if generator.chance(0.5) { appendConcurrently(to: storage.log, model: model, generator: &generator) }
            fileSystem.crash()
            await storage.close()
            try fileSystem.simulatePowerLoss(using: &generator)
        }
        let (storage, recovered) = try await openStorage(
            directory.path, configuration: configuration, fileSystem: fileSystem)
        try check(recovered, model: model, context: "seed \(seed), final")
        await storage.close()
    }

    /// Several callers append a few records each, without waiting.
    private func appendConcurrently(to log: WriteAheadLog, model: Model, generator: inout SeededGenerator) {
        let callers = 1 + Int(generator.next() % 8)
        var requests: [[[UInt8]]] = []
        for _ in 0..<callers {
            let records = 1 + Int(generator.next() % 5)
            requests.append(
                (0..<records).map { _ in
                    let length = Int(generator.next() % 300)
                    return (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                })
        }
        let allRequests = requests
        DispatchQueue.concurrentPerform(iterations: allRequests.count) { index in
            let payloads = allRequests[index]
            // Hold the model's lock across the append so the acknowledgement,
            // which may come at once, finds the payloads already recorded.
            model.state.withLock { state in
                guard
                    let range = try? log.append(
                        contentsOf: payloads,
                        completion: { result in
                            if case .success(let range) = result {
                                model.state.withLock { $0.acknowledged.formUnion(range) }
                            }
                        })
                else { return }
                for (sequence, payload) in zip(range, payloads) { state.appended[sequence] = payload }
            }
        }
    }

    private func waitForAcknowledgements(_ log: WriteAheadLog) async {
        while log.durableNextSequence < log.nextSequence && log.failure == nil {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    private func check(_ recovered: DurableStorage.Recovered, model: Model, context: String) throws {
        try model.state.withLock { state in
            let covered = recovered.snapshot?.coveredBelow ?? .first
            #expect(covered >= state.lastSavedSnapshot, "\(context): snapshot went back")
            if let snapshot = recovered.snapshot {
                #expect(snapshot.payload == Array("state below \(covered.rawValue)".utf8), "\(context)")
            }
            var expected = covered
            for record in recovered.records {
                #expect(record.sequence == expected, "\(context): records not contiguous")
                let appended = try #require(state.appended[record.sequence], "\(context): record \(record.sequence) was never appended")
                #expect(record.payload == appended, "\(context): record \(record.sequence) changed")
                expected = record.sequence.next
            }
            let next = expected
            for sequence in state.acknowledged where sequence >= covered {
                #expect(sequence < next, "\(context): acknowledged record \(sequence) lost (log ends before \(next))")
            }
            // Records past the recovered end were never acknowledged and are gone;
            // the log will hand their numbers out again.
            state.appended = state.appended.filter { $0.key < next }
        }
    }
}
