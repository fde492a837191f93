import ChorusCore
import Foundation
import Synchronization
import Testing

@testable import ChorusStorage

/// A fresh directory under the temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    private static let counter = Atomic<Int>(0)
    let path: String

    init(_ label: String = #function) {
        let number = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "chorus-storage-tests-\(getpid())-\(number)-\(safe.prefix(40))"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Small limits so that tests roll segments over quickly.
let smallConfiguration = StorageConfiguration(
    maximumRecordBytes: 4096, segmentRolloverBytes: 1024, maximumBatchRecords: 64, maximumBatchBytes: 64 << 10,
    maximumPendingRecords: 4096, maximumPendingBytes: 4 << 20)

/// A deterministic payload for record number `index`, `length` bytes long.
func payload(_ index: Int, length: Int = 24) -> [UInt8] {
    (0..<length).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0 &* 7 &+ 1) }
}

/// Opens a log in `directory`, appends `payloads` one at a time, closes it,
/// and returns the recovered records of the first open.
@discardableResult
func writeLog(
    _ directory: String, _ payloads: [[UInt8]], configuration: StorageConfiguration = smallConfiguration
) async throws -> [WriteAheadLogRecord] {
    let (log, recovered) = try WriteAheadLog.open(directory: directory, configuration: configuration)
    for payload in payloads { _ = try await log.append(payload) }
    await log.close()
    return recovered.records
}

/// Opens, reads everything back, closes.
func readLog(
    _ directory: String, configuration: StorageConfiguration = smallConfiguration,
    coveredBelow: SequenceNumber = .first
) async throws(StorageError) -> WriteAheadLog.Recovered {
    let (log, recovered) = try WriteAheadLog.open(
        directory: directory, configuration: configuration, coveredBelow: coveredBelow)
    await log.close()
    return recovered
}

/// The segment file names in `directory`, in order.
func segmentFiles(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wal") }.sorted()
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The corruption an operation threw, or nil if it threw something else or nothing.
func corruption<T>(_ body: () async throws(StorageError) -> T) async -> StorageCorruption? {
    do {
        _ = try await body()
        return nil
    } catch {
        if case .corruption(let corruption) = error { return corruption }
        return nil
    }
}

/// `DurableStorage.open`, retrying for up to two seconds while the directory
/// is locked.
///
/// The lock is an `flock` on an open file description, which a `fork` shares
/// with the child until the child's `exec` closes it (the descriptor is
/// close-on-exec). Tests that start `chorus` processes fork concurrently with
/// other tests, so a directory closed a moment ago can look locked for that
/// instant. Real contention lasts longer than two seconds and still fails.
func openStorage(
    _ directory: String, configuration: StorageConfiguration = .default,
    fileSystem: any StorageFileSystem = PosixFileSystem()
) async throws -> (storage: DurableStorage, recovered: DurableStorage.Recovered) {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(2)
    while true {
        do {
            return try DurableStorage.open(directory: directory, configuration: configuration, fileSystem: fileSystem)
        } catch {
            guard case .directoryLocked = error, clock.now < deadline else { throw error }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
