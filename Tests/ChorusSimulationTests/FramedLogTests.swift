import ChorusCore
import Testing

@testable import ChorusSimulation

/// The shared framed log: a crash keeps what a sync made durable, loses or
/// tears the rest, and recovery cuts the log at the first bad record.
@Suite struct FramedLogTests {
    static func payload(_ byte: UInt8, count: Int = 10) -> [UInt8] { Array(repeating: byte, count: count) }

    @Test func aCrashLosesExactlyTheUnsyncedTail() {
        var log = FramedLog()
        log.append(Self.payload(1))
        log.append(Self.payload(2))
        log.sync()
        log.append(Self.payload(3))
        var random = SeededGenerator(seed: 1)
        log.crash(random: &random, tornWriteProbability: 0)
        #expect(log.recover { $0 } == [Self.payload(1), Self.payload(2)])
        #expect(log.tornRecoveries == 0)
    }

    /// With every crash tearing, some seed leaves part of a record behind;
    /// recovery never returns a partial record and truncates the log to the
    /// good prefix, after which it appends cleanly.
    @Test func aTornTailIsCutAtTheFirstBadRecord() {
        var tornSeen = 0
        for seed in UInt64(1)...40 {
            var log = FramedLog()
            log.append(Self.payload(1))
            log.sync()
            log.append(Self.payload(2, count: 100))
            log.append(Self.payload(3, count: 100))
            var random = SeededGenerator(seed: seed)
            log.crash(random: &random, tornWriteProbability: 1)
            let recovered = log.recover { $0 }
            #expect(recovered.first == Self.payload(1), "seed \(seed)")
            #expect(recovered.allSatisfy { [Self.payload(1), Self.payload(2, count: 100), Self.payload(3, count: 100)].contains($0) }, "seed \(seed)")
            tornSeen += log.tornRecoveries
            log.append(Self.payload(4))
            log.sync()
            var again = SeededGenerator(seed: seed)
            log.crash(random: &again, tornWriteProbability: 0)
            #expect(log.recover { $0 } == recovered + [Self.payload(4)], "seed \(seed)")
        }
        #expect(tornSeen > 5, "tearing never left a partial record: \(tornSeen)")
    }

    /// A record the decoder refuses ends recovery there, like a bad checksum.
    @Test func recoveryStopsAtARecordThatDoesNotDecode() {
        var log = FramedLog()
        for byte in UInt8(1)...4 { log.append(Self.payload(byte)) }
        log.sync()
        let recovered = log.recover { $0 == Self.payload(3) ? nil : $0 }
        #expect(recovered == [Self.payload(1), Self.payload(2)])
        #expect(log.tornRecoveries == 1)
        #expect(log.recover { $0 } == [Self.payload(1), Self.payload(2)])
    }
}
