import ChorusCore
import Synchronization

/// A node's storage directory: a write-ahead log, its snapshots, and a lock
/// that keeps a second process out.
///
/// ```
/// DIR/LOCK                                   flock(2): one owner at a time
/// DIR/OWNER                                  who the directory belongs to (such as `node 2`)
/// DIR/FORMAT                                 the format of what the records hold (such as `chorus-node 2`)
/// DIR/TERM                                   the highest term the owner entered (`TermFile`)
/// DIR/wal/segment-<first sequence>.wal       the log (see SegmentFormat)
/// DIR/snapshots/snapshot-<covered below>.snap
/// ```
///
/// **Start-up** (`open`) loads the newest valid snapshot (coverage `S`), then
/// recovers the log from `S` on (`LogRecovery`), and hands back both: the
/// caller restores the snapshot and replays the records in order.
///
/// **Compaction** (`saveSnapshot`): the caller snapshots its state as of every
/// record below `S`; the snapshot is written atomically, old snapshots beyond
/// `retainedSnapshotCount` are deleted, and log segments below the oldest kept
/// snapshot are released.
public final class DurableStorage: Sendable {
    public let directory: String
    public let log: WriteAheadLog
    let snapshots: SnapshotStore
    /// Serialises snapshot saves, and holds the lock file until `close`.
    private let exclusive: Mutex<StorageFile?>
    /// What `TERM` holds; zero while there is no such file.
    private let recordedTermValue: Mutex<Term>

    public static let lockFileName = "LOCK"
    public static let ownerFileName = "OWNER"
    public static let formatFileName = "FORMAT"
    static let ownerBytesMaximum = 256
    public static let logDirectoryName = "wal"
    public static let snapshotDirectoryName = "snapshots"

    /// Everything start-up read back.
    public struct Recovered: Sendable {
        /// The newest valid snapshot, if any. Restore it first.
        public var snapshot: Snapshot?
        /// The log records at or above the snapshot's coverage, in order. Replay them after it.
        public var records: [WriteAheadLogRecord]
        public var logReport: LogRecoveryReport
        public var snapshotReport: SnapshotRecoveryReport
        /// The term in `TERM`: zero when the directory has none yet.
        public var recordedTerm: Term
    }

    private init(directory: String, log: WriteAheadLog, snapshots: SnapshotStore, lockFile: StorageFile, recordedTerm: Term) {
        self.directory = directory
        self.log = log
        self.snapshots = snapshots
        self.exclusive = Mutex(lockFile)
        self.recordedTermValue = Mutex(recordedTerm)
    }

    /// The highest term recorded in `TERM`.
    public var recordedTerm: Term { recordedTermValue.withLock { $0 } }

    /// Records `term` in `TERM` (atomically, synced) if it is higher than the
    /// term recorded. Blocking: three syncs, once per term.
    public func raiseRecordedTerm(to term: Term) throws(StorageError) {
        try recordedTermValue.withLock { (recorded: inout Term) throws(StorageError) in
            guard term > recorded else { return }
            try TermFile.write(term, in: directory, fileSystem: log.fileSystem)
            recorded = term
        }
    }

    /// Opens (creating if needed) and recovers the storage in `directory`.
    ///
    /// Blocking; call it off any event loop.
    /// - Parameter owner: who the directory belongs to, such as `node 2`.
    ///   The first open records it (atomically, in `OWNER`); later opens
    ///   refuse a directory recorded for another owner, so two nodes' data
    ///   directories swapped by mistake cannot replay each other's votes.
    /// - Parameter format: what the records and snapshots hold, in the
    ///   caller's words and version (such as `chorus-node 2`). A fresh
    ///   directory records it in `FORMAT`; a directory that records another,
    ///   or none although it has an owner already (it was written before
    ///   formats were recorded), is refused, naming both.
    /// - Parameter lockWaitMilliseconds: how long to retry a lock that is
    ///   held. A process that closed the directory an instant ago can still
    ///   hold the lock for a moment: a child it was spawning at that instant
    ///   shares the open lock file until its `exec` closes it.
    /// - Throws: `.directoryLocked` if another process has it open,
    ///   `.ownerMismatch` for another owner's directory, `.formatMismatch`,
    ///   `.corruption` for damage recovery must not repair, `.io` for failed calls.
    public static func open(
        directory: String, configuration: StorageConfiguration = .default,
        fileSystem: any StorageFileSystem = PosixFileSystem(), owner: String? = nil, format: String? = nil,
        lockWaitMilliseconds: Int = 0, batchObserver: (@Sendable (SynchronizedBatch) -> Void)? = nil
    ) throws(StorageError) -> (storage: DurableStorage, recovered: Recovered) {
        try configuration.validate()
        let lockFile: StorageFile
        var waited = 0
        while true {
            do {
                try fileSystem.createDirectory(atPath: directory)
                lockFile = try fileSystem.lockExclusively(join(directory, lockFileName))
                break
            } catch {
                guard error.operation == .lock && (error.errorNumber == EWOULDBLOCK || error.errorNumber == EAGAIN) else {
                    throw .io(error)
                }
                guard waited < lockWaitMilliseconds else { throw .directoryLocked(path: directory) }
                usleep(20_000)
                waited += 20
            }
        }
        do throws(StorageError) {
            if let format { try checkFormat(directory, format: format, fileSystem: fileSystem) }
            if let owner { try claim(directory, for: owner, fileSystem: fileSystem) }
            let logDirectory = join(directory, logDirectoryName)
            let snapshotDirectory = join(directory, snapshotDirectoryName)
            do {
                try fileSystem.createDirectory(atPath: logDirectory)
                try fileSystem.createDirectory(atPath: snapshotDirectory)
                // Make the directories' own entries durable, whether just created or not.
                try fileSystem.synchronizeDirectory(atPath: directory)
                try fileSystem.synchronizeDirectory(atPath: parentDirectory(of: directory))
            } catch {
                throw .io(error)
            }
            let recordedTerm = try TermFile.read(in: directory, fileSystem: fileSystem)
            let snapshots = SnapshotStore(
                directory: snapshotDirectory, fileSystem: fileSystem, configuration: configuration)
            let (snapshot, snapshotReport) = try snapshots.load(repair: true)
            let (log, recovered) = try WriteAheadLog.open(
                directory: logDirectory, configuration: configuration, fileSystem: fileSystem,
                coveredBelow: snapshot?.coveredBelow ?? .first, batchObserver: batchObserver)
            let storage = DurableStorage(
                directory: directory, log: log, snapshots: snapshots, lockFile: lockFile, recordedTerm: recordedTerm)
            // A crash between a snapshot save and its segment release leaves
            // releasable segments behind; release them now.
            if let oldestKept = try snapshots.prune() {
                try log.releaseSegments(coveredBelow: oldestKept)
            }
            return (
                storage,
                Recovered(
                    snapshot: snapshot, records: recovered.records, logReport: recovered.report,
                    snapshotReport: snapshotReport, recordedTerm: recordedTerm)
            )
        } catch {
            fileSystem.close(lockFile)
            throw error
        }
    }

    /// Records `owner` in a fresh directory, or checks the one recorded.
    /// The file is written atomically, so it is either absent or whole.
    private static func claim(_ directory: String, for owner: String, fileSystem: any StorageFileSystem) throws(StorageError) {
        let path = join(directory, ownerFileName)
        let names: [String]
        do { names = try fileSystem.contentsOfDirectory(atPath: directory) } catch { throw .io(error) }
        if names.contains(ownerFileName) {
            let recorded = String(decoding: try fileSystem.readWholeFile(path, limit: ownerBytesMaximum), as: UTF8.self)
            guard recorded == owner else { throw .ownerMismatch(path: directory, recorded: recorded, expected: owner) }
            return
        }
        do {
            try fileSystem.writeAtomically(Array(owner.utf8), to: path, through: path + ".tmp", in: directory)
        } catch {
            throw .io(error)
        }
    }

    /// Records `format` in a fresh directory, or checks the one recorded. A
    /// directory with an owner but no format was written before formats were
    /// recorded, and is refused as such.
    private static func checkFormat(_ directory: String, format: String, fileSystem: any StorageFileSystem) throws(StorageError) {
        let path = join(directory, formatFileName)
        let names: [String]
        do { names = try fileSystem.contentsOfDirectory(atPath: directory) } catch { throw .io(error) }
        if names.contains(formatFileName) {
            let recorded = String(decoding: try fileSystem.readWholeFile(path, limit: ownerBytesMaximum), as: UTF8.self)
            guard recorded == format else { throw .formatMismatch(path: directory, recorded: recorded, expected: format) }
            return
        }
        if names.contains(ownerFileName) {
            throw .formatMismatch(path: directory, recorded: nil, expected: format)
        }
        do {
            try fileSystem.writeAtomically(Array(format.utf8), to: path, through: path + ".tmp", in: directory)
        } catch {
            throw .io(error)
        }
    }

    /// Saves a snapshot standing in for every record below `coveredBelow`, then
    /// prunes old snapshots and releases the log segments no kept snapshot needs.
    ///
    /// `coveredBelow` must not exceed `log.durableNextSequence`: a snapshot may
    /// only cover records that are already durable, or a crash could leave a
    /// snapshot ahead of the log. Blocking; call it off any event loop.
    public func saveSnapshot(_ payload: [UInt8], coveringBelow coveredBelow: SequenceNumber) throws(StorageError) {
        let durable = log.durableNextSequence
        precondition(
            coveredBelow >= .first && coveredBelow <= durable,
            "a snapshot may cover only durable records (below \(durable)), not below \(coveredBelow)")
        try exclusive.withLock { (lockFile: inout StorageFile?) throws(StorageError) in
            precondition(lockFile != nil, "saveSnapshot after close")
            try snapshots.save(Snapshot(coveredBelow: coveredBelow, payload: payload))
            if let oldestKept = try snapshots.prune() {
                try log.releaseSegments(coveredBelow: oldestKept)
            }
        }
    }

    /// Closes the log (draining accepted appends) and releases the directory lock. Idempotent.
    public func close() async {
        await log.close()
        exclusive.withLock { lockFile in
            if let file = lockFile { log.fileSystem.close(file) }
            lockFile = nil
        }
    }

    /// Reads a storage directory and reports what recovery would find and do,
    /// changing nothing and taking no lock (for `chorus storage verify`).
    public static func inspect(
        directory: String, configuration: StorageConfiguration = .default,
        fileSystem: any StorageFileSystem = PosixFileSystem()
    ) throws(StorageError) -> Inspection {
        let snapshots = SnapshotStore(
            directory: join(directory, snapshotDirectoryName), fileSystem: fileSystem, configuration: configuration)
        let (snapshot, snapshotReport) = try snapshots.load(repair: false)
        let recordedTerm = try TermFile.read(in: directory, fileSystem: fileSystem)
        let outcome = try LogRecovery.recover(
            directory: join(directory, logDirectoryName), fileSystem: fileSystem,
            coveredBelow: snapshot?.coveredBelow ?? .first, mode: .inspect, collectRecords: false)
        return Inspection(
            snapshotCoveredBelow: snapshot?.coveredBelow, snapshotPayloadBytes: snapshot?.payload.count,
            logReport: outcome.report, snapshotReport: snapshotReport, recordedTerm: recordedTerm)
    }

    public struct Inspection: Sendable, Equatable {
        public var snapshotCoveredBelow: SequenceNumber?
        public var snapshotPayloadBytes: Int?
        public var logReport: LogRecoveryReport
        public var snapshotReport: SnapshotRecoveryReport
        public var recordedTerm: Term
    }
}

/// The directory holding `path`: "/a/b" → "/a", "b" → ".", "/a" → "/".
func parentDirectory(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
