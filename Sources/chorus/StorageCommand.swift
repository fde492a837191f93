import ArgumentParser
import ChorusCore
import ChorusStorage
import ChorusTesting
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `chorus storage …`: look after a node's storage directory.
struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Inspect a storage directory (write-ahead log and snapshots).",
        subcommands: [StorageVerifyCommand.self, StorageStressCommand.self]
    )
}

/// `chorus storage verify DIR`: what recovery would find, without changing anything.
struct StorageVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a storage directory the way start-up recovery would, changing nothing.",
        discussion: """
            Exit status: 0 when the directory recovers (a torn final record, which start-up \
            truncates, is reported but is not an error), 1 when it holds corruption that \
            recovery refuses to skip, 2 when it cannot be read, 3 when it recovers but its \
            final record is complete and fails its checks: it may have been acknowledged \
            before it was damaged, so a node starting on it suspends its votes until it has \
            caught up with a leader of a later term.
            """
    )

    @Argument(help: "The storage directory (holding wal/ and snapshots/).")
    var directory: String

    func run() async throws {
        var information = stat()
        guard stat(directory, &information) == 0, information.st_mode & S_IFMT == S_IFDIR else {
            printError("chorus storage verify: \(directory): no such directory")
            throw ExitCode(2)
        }
        guard ["wal", "snapshots"].contains(where: { stat(directory + "/" + $0, &information) == 0 }) else {
            printError("chorus storage verify: \(directory) holds neither wal/ nor snapshots/: not a Chorus storage directory")
            throw ExitCode(2)
        }
        let inspection: DurableStorage.Inspection
        do {
            inspection = try DurableStorage.inspect(directory: directory)
        } catch {
            printError("chorus storage verify: \(error)")
            if case .corruption = error { throw ExitCode(1) }
            throw ExitCode(2)
        }
        let snapshotReport = inspection.snapshotReport
        if let file = snapshotReport.loadedFile, let covered = inspection.snapshotCoveredBelow {
            print("snapshot  \(file): covers records below \(covered.rawValue), \(inspection.snapshotPayloadBytes ?? 0) byte(s)")
        } else {
            print("snapshot  none")
        }
        for corruption in snapshotReport.corruptFiles {
            print("snapshot  INVALID (would be set aside): \(corruption)")
        }
        for name in snapshotReport.temporaryFiles {
            print("snapshot  leftover temporary file (would be removed): \(name)")
        }
        let report = inspection.logReport
        for (index, segment) in report.segments.enumerated() {
            if index < report.staleSegmentCount {
                print("segment   \(segment.fileName): below the snapshot, not read")
            } else {
                let count = segment.recordCount ?? 0
                let records =
                    count == 0
                    ? "no records"
                    : "records \(segment.firstSequence.rawValue) through \(segment.firstSequence.rawValue + UInt64(count) - 1)"
                print("segment   \(segment.fileName): \(records), \(segment.byteCount ?? 0) byte(s)")
            }
        }
        if let torn = report.tornSegmentFile {
            print("segment   \(torn): header never completed (would be removed)")
        }
        switch report.tail {
        case .clean: print("tail      clean")
        case .zeroFilled(let offset, let count):
            print("tail      \(count) zero byte(s) at offset \(offset) (would be truncated)")
        case .tornRecord(let offset, let count, let reason):
            print("tail      torn final record at offset \(offset), \(count) byte(s): \(reason) (would be truncated)")
        case .uncertainRecord(let offset, let count, let reason):
            print(
                "tail      UNCERTAIN final record at offset \(offset), \(count) byte(s): \(reason): complete, so it may have been acknowledged (would be truncated, and the node would suspend its votes)"
            )
        }
        for name in report.ignoredFiles { print("ignored   \(name)") }
        print("next      sequence \(report.nextSequence.rawValue)")
        print("term      \(inspection.recordedTerm == .zero ? "none recorded" : "\(inspection.recordedTerm.rawValue) recorded")")
        if report.tail.mayHoldAcknowledgedData {
            print("uncertain")
            throw ExitCode(3)
        }
        print("ok")
    }
}

/// `chorus storage stress`: the writer the crash tests kill. Hidden from help.
///
/// Appends self-checking records from several concurrent writers and prints
/// `ack <sequence> <tag>` for each one, with an unbuffered write, only after
/// it is durable, so a test that SIGKILLs this process knows exactly which
/// records were acknowledged. Every `--snapshot-every` records it snapshots
/// its state (a hash of every record applied) and so releases old segments.
struct StorageStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stress",
        abstract: "Append self-checking records and print each acknowledgement (for crash tests).",
        shouldDisplay: false
    )

    @Option(help: "The storage directory.") var directory: String
    @Option(help: "Records to append in this run.") var records: Int = 1000
    @Option(help: "Concurrent writers.") var writers: Int = 4
    @Option(help: "Largest record payload in bytes (at least 8).") var recordBytes: Int = 200
    @Option(help: "Segment rollover size in bytes.") var segmentBytes: Int = 64 << 10
    @Option(help: "Snapshot after this many records (0: never).") var snapshotEvery: Int = 0
    @Option(help: "Run number, which makes this run's record tags unique.") var run: Int = 0
    @Flag(help: "Write in 16-byte pieces with a pause after each, like a slow disk, so a kill can tear a batch.")
    var slowWrites = false

    func validate() throws {
        guard records >= 0 else { throw ValidationError("--records must not be negative") }
        guard (1...255).contains(writers) else { throw ValidationError("--writers must be 1...255") }
        guard recordBytes >= 8 else { throw ValidationError("--record-bytes must be at least 8") }
        guard snapshotEvery >= 0 else { throw ValidationError("--snapshot-every must not be negative") }
        guard (0..<(1 << 24)).contains(run) else { throw ValidationError("--run must be 0..<2^24") }
    }

    struct Progress {
        var state: StressWorkload.State
        var lastSnapshot: SequenceNumber
        var snapshotInProgress = false
        var failed = false
    }

    /// The progress all writers and the log's acknowledgements share.
    final class Shared: Sendable {
        let progress: Mutex<Progress>
        init(_ progress: Progress) { self.progress = Mutex(progress) }
    }

    func run() async throws {
        var configuration = StorageConfiguration(segmentRolloverBytes: segmentBytes)
        configuration.maximumRecordBytes = max(configuration.maximumRecordBytes, recordBytes)
        let storage: DurableStorage
        var state = StressWorkload.State()
        do {
            let (opened, recovered) = try DurableStorage.open(
                directory: directory, configuration: configuration,
                fileSystem: slowWrites
                    ? FaultInjectingFileSystem(writePacing: .init(chunkBytes: 16, pauseMicroseconds: 50))
                    : PosixFileSystem())
            storage = opened
            if let snapshot = recovered.snapshot {
                guard let decoded = try? StressWorkload.State(decoding: snapshot.payload) else {
                    printError("snapshot payload is not a stress state")
                    throw ExitCode(3)
                }
                state = decoded
                guard state.nextSequence == snapshot.coveredBelow else {
                    printError("snapshot state ends at \(state.nextSequence), file says \(snapshot.coveredBelow)")
                    throw ExitCode(3)
                }
            }
            for record in recovered.records {
                guard let tag = StressWorkload.validatedTag(of: record.payload) else {
                    printError("recovered record \(record.sequence.rawValue) is not a valid stress payload")
                    throw ExitCode(3)
                }
                state.apply(sequence: record.sequence, tag: tag)
            }
            writeLine(
                "recovered next=\(state.nextSequence.rawValue) snapshot=\(recovered.snapshot?.coveredBelow.rawValue ?? 0)"
                    + " records=\(recovered.records.count)")
        } catch let error as StorageError {
            printError("chorus storage stress: \(error)")
            throw ExitCode(1)
        }

        let shared = Shared(Progress(state: state, lastSnapshot: state.nextSequence))
        let perWriter = (records + writers - 1) / writers
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let count = min(perWriter, records - writer * perWriter)
                guard count > 0 else { continue }
                group.addTask {
                    for counter in 0..<count {
                        let tag = StressWorkload.tag(run: UInt64(run), writer: UInt64(writer), counter: UInt64(counter))
                        let payload = StressWorkload.payload(tag: tag, maximumBytes: recordBytes)
                        let acknowledged = await append(payload, tag: tag, to: storage.log, shared: shared)
                        guard acknowledged else {
                            shared.progress.withLock { $0.failed = true }
                            return
                        }
                        snapshotIfDue(storage, shared: shared)
                    }
                }
            }
        }
        await storage.close()
        if shared.progress.withLock({ $0.failed }) { throw ExitCode(1) }
        writeLine("done")
    }

    /// Appends one record; on acknowledgement (on the log's writer thread, in
    /// sequence order) prints it and applies it to the state.
    private func append(
        _ payload: [UInt8], tag: UInt64, to log: WriteAheadLog, shared: Shared
    ) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            do {
                try log.append(contentsOf: [payload]) { result in
                    switch result {
                    case .success(let sequences):
                        writeLine("ack \(sequences.lowerBound.rawValue) \(tag)")
                        shared.progress.withLock { $0.state.apply(sequence: sequences.lowerBound, tag: tag) }
                        continuation.resume(returning: true)
                    case .failure(let error):
                        printError("append failed: \(error)")
                        continuation.resume(returning: false)
                    }
                }
            } catch {
                printError("append refused: \(error)")
                continuation.resume(returning: false)
            }
        }
    }

    private func snapshotIfDue(_ storage: DurableStorage, shared: Shared) {
        guard snapshotEvery > 0 else { return }
        let due: StressWorkload.State? = shared.progress.withLock { progress in
            guard !progress.snapshotInProgress,
                progress.lastSnapshot.distance(to: progress.state.nextSequence) >= snapshotEvery
            else { return nil }
            progress.snapshotInProgress = true
            return progress.state
        }
        guard let due else { return }
        do {
            try storage.saveSnapshot(due.encoded(), coveringBelow: due.nextSequence)
            writeLine("snapshot \(due.nextSequence.rawValue)")
        } catch {
            printError("snapshot failed: \(error)")
            shared.progress.withLock { $0.failed = true }
        }
        shared.progress.withLock {
            $0.snapshotInProgress = false
            $0.lastSnapshot = due.nextSequence
        }
    }
}
