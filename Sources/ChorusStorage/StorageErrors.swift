#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call on a storage file failed. Carries the operation, the path and
/// the `errno`, so that a message names exactly what went wrong where.
public struct StorageIOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable, Equatable {
        case open, close, read, write, size, truncate, rename, remove, lock
        case fsync, fdatasync
        case createDirectory = "create directory"
        case listDirectory = "list directory"
        case synchronizeDirectory = "fsync directory"
    }

    public var operation: Operation
    public var path: String
    /// The `errno` the call reported.
    public var errorNumber: Int32

    public init(_ operation: Operation, path: String, errorNumber: Int32) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
    }

    public var description: String {
        let reason = strerror(errorNumber).map { String(cString: $0) } ?? "unknown error"
        return "\(operation.rawValue) of \(path) failed: \(reason) (errno \(errorNumber))"
    }
}

/// Damage found while reading the log or a snapshot: the file, the byte offset
/// at which the damage starts, and what is wrong there.
///
/// Recovery reports corruption instead of skipping it (DESIGN.md §4): a record
/// inside the committed prefix may have been acknowledged, so dropping it, or
/// anything after it, could lose a write that a client was told is durable.
/// The node repairs such damage from its peers.
public struct StorageCorruption: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The stored CRC32C of a frame does not match its bytes.
        case checksumMismatch(stored: UInt32, computed: UInt32)
        /// A frame's length field is larger than the format allows.
        case recordLengthOutOfBounds(length: UInt64, limit: Int)
        /// A frame runs `needed` bytes past the end of its file.
        case truncatedRecord(needed: Int)
        /// A frame with a valid checksum carries the wrong sequence number.
        case unexpectedSequence(expected: SequenceNumber, found: SequenceNumber)
        /// A segment or snapshot header is malformed.
        case invalidHeader(String)
        /// The sequence number in a file's name disagrees with the one in its header.
        case nameDisagreesWithHeader(name: SequenceNumber, header: SequenceNumber)
        /// Records are missing between two files, or between the snapshot and the log.
        case missingRecords(from: SequenceNumber, through: SequenceNumber)
        /// A sealed segment ends in zero bytes where a frame should be.
        case unexpectedZeroBytes(count: Int)
        /// A file is larger than any file this format writes.
        case fileTooLarge(bytes: Int, limit: Int)
        /// The newest usable snapshot covers records the log never held.
        case snapshotAheadOfLog(coveredBelow: SequenceNumber, logNext: SequenceNumber)
        /// A directory holds a snapshot but no log segment at all.
        case missingLog

        public var description: String {
            switch self {
            case .checksumMismatch(let stored, let computed):
                "checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))"
            case .recordLengthOutOfBounds(let length, let limit):
                "record length \(length) exceeds the format limit of \(limit)"
            case .truncatedRecord(let needed):
                "record truncated: \(needed) more byte(s) needed"
            case .unexpectedSequence(let expected, let found):
                "record carries sequence number \(found.rawValue), expected \(expected.rawValue)"
            case .invalidHeader(let detail):
                "invalid header: \(detail)"
            case .nameDisagreesWithHeader(let name, let header):
                "file name says first sequence \(name.rawValue), header says \(header.rawValue)"
            case .missingRecords(let from, let through):
                "records \(from.rawValue) through \(through.rawValue) are missing"
            case .unexpectedZeroBytes(let count):
                "\(count) zero byte(s) where a record should be"
            case .fileTooLarge(let bytes, let limit):
                "file is \(bytes) bytes, more than the limit of \(limit)"
            case .snapshotAheadOfLog(let coveredBelow, let logNext):
                "snapshot covers records below \(coveredBelow.rawValue) but the log ends before \(logNext.rawValue)"
            case .missingLog:
                "a snapshot exists but no log segment does"
            }
        }
    }

    public var file: String
    public var offset: Int
    public var reason: Reason

    public init(file: String, offset: Int, reason: Reason) {
        self.file = file
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        "corruption in \(file) at byte \(offset): \(reason)"
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

/// Why storage could not be opened, recovered or written outside the append path.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    case io(StorageIOError)
    case corruption(StorageCorruption)
    case invalidConfiguration(String)
    /// Another process (or another `DurableStorage` in this one) holds the directory.
    case directoryLocked(path: String)
    /// A snapshot payload is larger than `StorageConfiguration.maximumSnapshotBytes`.
    case snapshotTooLarge(bytes: Int, limit: Int)
    /// The directory was created for another owner (`DurableStorage.open`'s `owner`).
    case ownerMismatch(path: String, recorded: String, expected: String)
    /// The directory holds another format than the one this release reads
    /// (`recorded` nil: written before formats were recorded).
    case formatMismatch(path: String, recorded: String?, expected: String)

    public var description: String {
        switch self {
        case .io(let error): "storage I/O error: \(error)"
        case .corruption(let corruption): corruption.description
        case .invalidConfiguration(let detail): "invalid storage configuration: \(detail)"
        case .directoryLocked(let path): "storage directory \(path) is locked by another process"
        case .snapshotTooLarge(let bytes, let limit): "snapshot of \(bytes) bytes exceeds the limit of \(limit)"
        case .ownerMismatch(let path, let recorded, let expected):
            "storage directory \(path) belongs to \(recorded), not \(expected); refusing to start on another's log and votes"
        case .formatMismatch(let path, let recorded?, let expected):
            "storage directory \(path) holds data format '\(recorded)'; this release reads '\(expected)' only"
        case .formatMismatch(let path, nil, let expected):
            "storage directory \(path) was written by an earlier release (data format 1: log commands without machine tags); this release reads '\(expected)' only: start it on an empty directory"
        }
    }
}

/// Why an append was not acknowledged.
public enum WriteAheadLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A write or fsync failed and the log stopped for good. Nothing appended
    /// after the failure is acknowledged, and the failed call is not retried:
    /// after a failed fsync Linux may already have marked the dirty pages
    /// clean and dropped the error, so a retry can "succeed" without the data
    /// ever reaching the disk (the PostgreSQL "fsyncgate" finding, 2018; Rebello
    /// et al., "Can Applications Recover from fsync Failures?", USENIX ATC 2020).
    /// The only safe continuation is to restart and recover from what is on disk.
    case failed(StorageIOError)
    /// The log was closed before this append was accepted.
    case closed
    /// The queue of appends waiting for the writer is full; try again later.
    case overloaded(pendingRecords: Int, pendingBytes: Int)
    /// One record is larger than `StorageConfiguration.maximumRecordBytes`.
    case recordTooLarge(bytes: Int, limit: Int)
    /// One append is larger than a whole batch may be.
    case appendTooLarge(records: Int, encodedBytes: Int)

    public var description: String {
        switch self {
        case .failed(let error): "write-ahead log failed permanently: \(error)"
        case .closed: "write-ahead log is closed"
        case .overloaded(let records, let bytes):
            "write-ahead log overloaded: \(records) record(s), \(bytes) byte(s) already pending"
        case .recordTooLarge(let bytes, let limit): "record of \(bytes) bytes exceeds the limit of \(limit)"
        case .appendTooLarge(let records, let bytes):
            "append of \(records) record(s), \(bytes) encoded byte(s) exceeds the batch limits"
        }
    }
}
