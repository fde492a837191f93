import ChorusCore
import ChorusTesting
import Foundation
import Testing

@testable import ChorusStorage

/// The `chorus` executable built beside this test bundle (`swift test` builds it).
func chorusExecutable() -> URL? {
    let fileManager = FileManager.default
    var candidates: [URL] = []
    if let bundle = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundle) }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    for directory in candidates {
        var folder = directory
        // From inside an .xctest bundle, walk up to the build folder that holds it.
        for _ in 0..<4 {
            let executable = folder.appendingPathComponent("chorus")
            if fileManager.isExecutableFile(atPath: executable.path) { return executable }
            folder = folder.deletingLastPathComponent()
        }
    }
    let fallback = ReferenceData.packageRoot.appendingPathComponent(".build/debug/chorus")
    return fileManager.isExecutableFile(atPath: fallback.path) ? fallback : nil
}

/// Runs blocking work on its own thread, so that waiting on a child process
/// never holds a thread of the cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

struct ProcessOutcome: Sendable {
    var standardOutput: String
    var standardError: String
    var wasKilled: Bool
    var exitStatus: Int32
}

/// Starts `chorus` with `arguments`, reads its output line by line, and sends
/// SIGKILL once `killWhen` says so (given the lines so far) or after
/// `killAfterMilliseconds`, whichever comes first. A watchdog kills it after
/// `timeoutSeconds` regardless.
func runChorus(
    _ executable: URL, _ arguments: [String], killAfterMilliseconds: Int? = nil, timeoutSeconds: Double = 30,
    killWhen: @escaping @Sendable ([Substring]) -> Bool = { _ in false }
) async throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: watchdog)
    if let killAfterMilliseconds {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(killAfterMilliseconds)) { kill(pid, SIGKILL) }
    }
    let outcome = await onOwnThread { () -> ProcessOutcome in
        var text = ""
        var killed = false
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if !killed {
                let complete = text.split(separator: "\n", omittingEmptySubsequences: true)
                let lines = text.hasSuffix("\n") ? complete : complete.dropLast()
                if killWhen(Array(lines)) {
                    kill(pid, SIGKILL)
                    killed = true
                }
            }
        }
        process.waitUntilExit()
        let standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ProcessOutcome(
            standardOutput: text, standardError: standardError,
            wasKilled: process.terminationReason == .uncaughtSignal, exitStatus: process.terminationStatus)
    }
    watchdog.cancel()
    return outcome
}

/// Real processes, really killed: `chorus storage stress` appends with four
/// concurrent writers and prints each acknowledgement after its fsync; the
/// test SIGKILLs it at a random point, recovers the directory in-process, and
/// checks every acknowledged record. Then the next run recovers and continues.
@Suite(.serialized) struct ProcessCrashTests {
    static let runs = 30
    static let configuration = StorageConfiguration(segmentRolloverBytes: 16 << 10)

    @Test func killedWritersNeverLoseAcknowledgedRecords() async throws {
        let executable = try #require(chorusExecutable(), "the chorus executable was not built; run swift build")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var generator = SeededGenerator(seed: 0x5EED_C4A5)
        /// The tag of every record known to have been written, by sequence number.
        var known: [SequenceNumber: UInt64] = [:]
        var acknowledged: Set<SequenceNumber> = []
        var killedDuringWrites = 0
        var tornTails = 0
        var snapshotsLoaded = 0
        var segmentsReleased = 0

        for run in 0..<Self.runs {
            let context = "run \(run)"
            let byDelay = generator.chance(0.2)
            let delay = Int(generator.next() % 40)
            let acknowledgementsBeforeKill = 1 + Int(generator.next() % 250)
            // Half the runs write slowly, piece by piece, so that a kill can land inside a batch.
            let slowWrites = generator.chance(0.5) ? ["--slow-writes"] : []
            let outcome = try await runChorus(
                executable,
                [
                    "storage", "stress", "--directory", directory.path, "--records", "1000000", "--writers", "4",
                    "--record-bytes", "300", "--segment-bytes", "\(16 << 10)", "--snapshot-every", "150",
                    "--run", "\(run)",
                ] + slowWrites,
                killAfterMilliseconds: byDelay ? delay : nil,
                killWhen: { lines in
                    !byDelay && lines.lazy.filter { $0.hasPrefix("ack ") }.count >= acknowledgementsBeforeKill
                })
            #expect(outcome.wasKilled, "\(context): stress exited on its own (\(outcome.exitStatus)): \(outcome.standardError)")
            #expect(outcome.standardError.isEmpty, "\(context): \(outcome.standardError)")
            var acknowledgedThisRun = 0
            for line in outcome.standardOutput.split(separator: "\n") where line.hasPrefix("ack ") {
                let fields = line.split(separator: " ")
                let sequence = SequenceNumber(try #require(UInt64(fields[1]), "\(context): \(line)"))
                let tag = try #require(UInt64(fields[2]), "\(context): \(line)")
                #expect(known[sequence] == nil || known[sequence] == tag, "\(context): \(sequence) acknowledged twice")
                known[sequence] = tag
                acknowledged.insert(sequence)
                acknowledgedThisRun += 1
            }
            if acknowledgedThisRun > 0 { killedDuringWrites += 1 }

            let (storage, recovered) = try await openStorage(directory.path, configuration: Self.configuration)
            var state = StressWorkload.State()
            if recovered.logReport.truncatedBytes > 0 || recovered.logReport.tornSegmentFile != nil { tornTails += 1 }
            segmentsReleased = max(segmentsReleased, Int(recovered.logReport.segments.first?.firstSequence.rawValue ?? 1) - 1)
            if let snapshot = recovered.snapshot {
                snapshotsLoaded += 1
                state = try StressWorkload.State(decoding: snapshot.payload)
                #expect(state.nextSequence == snapshot.coveredBelow, "\(context)")
                // The snapshot's hash proves that every covered record was applied once, in order.
                var replayed = StressWorkload.State()
                for sequence in SequenceNumber.first..<snapshot.coveredBelow {
                    let tag = try #require(known[sequence], "\(context): covered record \(sequence) never seen")
                    replayed.apply(sequence: sequence, tag: tag)
                }
                #expect(replayed == state, "\(context): snapshot state disagrees with the records it covers")
            }
            for record in recovered.records {
                let tag = try #require(
                    StressWorkload.validatedTag(of: record.payload),
                    "\(context): record \(record.sequence) replayed with a damaged payload")
                #expect(known[record.sequence] == nil || known[record.sequence] == tag, "\(context): \(record.sequence) changed")
                try #require(record.sequence == state.nextSequence, "\(context): records not contiguous at \(record.sequence)")
                known[record.sequence] = tag
                state.apply(sequence: record.sequence, tag: tag)
            }
            let next = state.nextSequence
            let lost = acknowledged.filter { $0 >= next }.sorted()
            #expect(lost.isEmpty, "\(context): acknowledged records lost: \(lost.prefix(10)) (log ends before \(next))")
            // Unacknowledged records past the end were never durable; their numbers will be reused.
            known = known.filter { $0.key < next }
            await storage.close()
        }
        #expect(killedDuringWrites >= Self.runs / 2, "most kills should land while records are being written")
        print(
            "process crash test: \(Self.runs) kills, \(killedDuringWrites) during writes, \(acknowledged.count) "
                + "acknowledged records checked, \(tornTails) torn tails repaired, \(snapshotsLoaded) restarts from a "
                + "snapshot, log starts at record \(segmentsReleased + 1) after releases")

        let verify = try await runChorus(executable, ["storage", "verify", directory.path])
        #expect(verify.exitStatus == 0 && verify.standardOutput.hasSuffix("ok\n"), "\(verify.standardOutput)\(verify.standardError)")
    }

    @Test func verifyReportsCorruptionWithFileAndOffset() async throws {
        let executable = try #require(chorusExecutable(), "the chorus executable was not built; run swift build")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let (storage, _) = try await openStorage(directory.path)
        for index in 0..<5 { _ = try await storage.log.append(payload(index)) }
        await storage.close()
        let segment = directory.file("wal/" + SegmentFormat.fileName(firstSequence: 1))
        var bytes = try readFile(segment)
        let second = SegmentFormat.headerBytes + SegmentFormat.frameBytes(payloadBytes: 24)
        bytes[second + 18] ^= 0x80
        try writeFile(segment, bytes)

        let outcome = try await runChorus(executable, ["storage", "verify", directory.path])
        #expect(outcome.exitStatus == 1)
        #expect(outcome.standardError.contains("\(segment) at byte \(second)"), "\(outcome.standardError)")

        let missing = try await runChorus(executable, ["storage", "verify", directory.file("absent")])
        #expect(missing.exitStatus == 2, "\(missing.standardError)")

        // The damage moved into the final record: complete, failing its checksum, nothing after it.
        bytes[second + 18] ^= 0x80
        bytes[bytes.count - 2] ^= 0x01
        try writeFile(segment, bytes)
        let uncertain = try await runChorus(executable, ["storage", "verify", directory.path])
        #expect(uncertain.exitStatus == 3, "\(uncertain.standardOutput)\(uncertain.standardError)")
        #expect(uncertain.standardOutput.contains("UNCERTAIN final record"), "\(uncertain.standardOutput)")
    }
}
