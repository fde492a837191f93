import ChorusCore
import ChorusStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wraps a real file system to fail chosen calls and to simulate a power loss,
/// so tests can prove what the log does when the disk misbehaves: a failed
/// fsync stops it for good, a torn write is truncated on recovery, and no
/// acknowledged record is lost when unsynced data vanishes.
///
/// It models the disk the way the recovery rules assume it behaves: data
/// written since a file's last successful `fdatasync`/`fsync` may be lost, or
/// survive only as a prefix, possibly followed by zeroed blocks; a file created
/// since its directory's last `fsync` may vanish. Everything else survives.
/// (It does not model reordered page write-back; see `SegmentScanner` for what
/// recovery does then.)
///
/// Every call runs under one lock, so `crash()` splits the calls cleanly into
/// those that completed before it and those that fail after it.
public final class FaultInjectingFileSystem: StorageFileSystem {
    public enum Operation: Hashable, Sendable, CaseIterable {
        case open, read, write, truncate, synchronizeData, synchronize, rename, removeFile
        case synchronizeDirectory, createDirectory, contentsOfDirectory, size, lock
    }

    /// A rule that fails matching calls.
    public struct Fault: Sendable, Equatable {
        public var operation: Operation
        /// Only calls whose path contains this string match; nil matches every path.
        public var pathContains: String?
        /// How many matching calls succeed before the first failure.
        public var succeedingCalls: Int
        public var errorNumber: Int32
        /// Keep failing every matching call after the first failure.
        public var isPersistent: Bool
        /// For `.write`: write only this many leading bytes before failing (a torn write).
        public var writtenPrefixBytes: Int

        public init(
            _ operation: Operation, pathContains: String? = nil, succeedingCalls: Int = 0,
            errorNumber: Int32 = EIO, isPersistent: Bool = false, writtenPrefixBytes: Int = 0
        ) {
            self.operation = operation
            self.pathContains = pathContains
            self.succeedingCalls = succeedingCalls
            self.errorNumber = errorNumber
            self.isPersistent = isPersistent
            self.writtenPrefixBytes = writtenPrefixBytes
        }
    }

    struct TrackedFile {
        /// Bytes known to be on the disk: the size at the last successful sync.
        var durableSize: Int
        /// Whether the directory entry is durable (the directory was fsynced since creation).
        var entryIsDurable: Bool
    }

    struct State {
        var faults: [Fault] = []
        var hasCrashed = false
        var files: [String: TrackedFile] = [:]
        var callCounts: [Operation: Int] = [:]
        var injectedFailures = 0
    }

    /// Makes every write slow and piecemeal: split into `chunkBytes` pieces
    /// with a pause after each, like a slow disk. A process killed during a
    /// write then leaves a torn final record behind, which crash tests need.
    public struct WritePacing: Sendable, Equatable {
        public var chunkBytes: Int
        public var pauseMicroseconds: UInt32

        public init(chunkBytes: Int, pauseMicroseconds: UInt32) {
            precondition(chunkBytes >= 1, "chunkBytes must be at least 1")
            self.chunkBytes = chunkBytes
            self.pauseMicroseconds = pauseMicroseconds
        }
    }

    private let base: any StorageFileSystem
    private let writePacing: WritePacing?
    private let state = Mutex(State())

    public init(wrapping base: any StorageFileSystem = PosixFileSystem(), writePacing: WritePacing? = nil) {
        self.base = base
        self.writePacing = writePacing
    }

    /// Adds a rule; rules are checked in the order they were added.
    public func inject(_ fault: Fault) {
        state.withLock { $0.faults.append(fault) }
    }

    public func removeAllFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    /// From now on every call fails with `EIO`, as if the machine had stopped.
    public func crash() {
        state.withLock { $0.hasCrashed = true }
    }

    /// How many times `operation` was called (failed calls included).
    public func callCount(_ operation: Operation) -> Int {
        state.withLock { $0.callCounts[operation, default: 0] }
    }

    /// How many calls failed because of an injected fault or a crash.
    public var injectedFailureCount: Int { state.withLock { $0.injectedFailures } }

    /// Rewrites the files as a power loss could have left them, then clears the
    /// crash so the files can be reopened: unsynced data is cut to a random
    /// prefix, sometimes followed by zeroed bytes, and files whose directory
    /// entry was never synced vanish half of the time.
    ///
    /// Call it only when nothing has the files open for writing (after the log
    /// using this file system was closed), since it truncates them in place.
    public func simulatePowerLoss(using generator: inout SeededGenerator) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            for path in state.files.keys.sorted() {
                guard let tracked = state.files[path] else { continue }
                if !tracked.entryIsDurable && generator.chance(0.5) {
                    try base.removeFile(atPath: path)
                    state.files[path] = nil
                    continue
                }
                let file = try base.open(path, mode: .readWrite)
                defer { base.close(file) }
                let size = try base.size(of: file)
                var kept = size
                if size > tracked.durableSize {
                    kept = tracked.durableSize + Int(generator.next() % UInt64(size - tracked.durableSize + 1))
                    try base.truncate(file, toSize: kept)
                    if generator.chance(0.3) {
                        let zeros = 1 + Int(generator.next() % 4096)
                        try base.write(file, [UInt8](repeating: 0, count: zeros), at: kept)
                        kept += zeros
                    }
                }
                state.files[path] = TrackedFile(durableSize: kept, entryIsDurable: true)
            }
            state.hasCrashed = false
        }
    }

    /// Counts the call and throws if a fault or the crash says it must fail.
    /// Returns the torn-write prefix length when a `.write` fault asks for one.
    private func check(_ operation: Operation, path: String, in state: inout State) throws(StorageIOError) -> Int? {
        state.callCounts[operation, default: 0] += 1
        if state.hasCrashed {
            state.injectedFailures += 1
            throw StorageIOError(ioOperation(operation), path: path, errorNumber: EIO)
        }
        for index in state.faults.indices {
            let fault = state.faults[index]
            guard fault.operation == operation, fault.pathContains.map({ path.contains($0) }) ?? true else { continue }
            if state.faults[index].succeedingCalls > 0 {
                state.faults[index].succeedingCalls -= 1
                continue
            }
            if !fault.isPersistent { state.faults.remove(at: index) }
            state.injectedFailures += 1
            if operation == .write && fault.writtenPrefixBytes > 0 { return fault.writtenPrefixBytes }
            throw StorageIOError(ioOperation(operation), path: path, errorNumber: fault.errorNumber)
        }
        return nil
    }

    private func ioOperation(_ operation: Operation) -> StorageIOError.Operation {
        switch operation {
        case .open: .open
        case .read: .read
        case .write: .write
        case .truncate: .truncate
        case .synchronizeData: .fdatasync
        case .synchronize: .fsync
        case .rename: .rename
        case .removeFile: .remove
        case .synchronizeDirectory: .synchronizeDirectory
        case .createDirectory: .createDirectory
        case .contentsOfDirectory: .listDirectory
        case .size: .size
        case .lock: .lock
        }
    }

    // MARK: StorageFileSystem

    public func createDirectory(atPath path: String) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.createDirectory, path: path, in: &state)
            try base.createDirectory(atPath: path)
        }
    }

    public func contentsOfDirectory(atPath path: String) throws(StorageIOError) -> [String] {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.contentsOfDirectory, path: path, in: &state)
            return try base.contentsOfDirectory(atPath: path)
        }
    }

    public func open(_ path: String, mode: StorageOpenMode) throws(StorageIOError) -> StorageFile {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.open, path: path, in: &state)
            let file = try base.open(path, mode: mode)
            switch mode {
            case .createNew, .createOrTruncate:
                let wasDurable = state.files[path]?.entryIsDurable ?? false
                state.files[path] = TrackedFile(durableSize: 0, entryIsDurable: mode == .createOrTruncate && wasDurable)
            case .readOnly, .readWrite:
                if state.files[path] == nil {
                    let size = (try? base.size(of: file)) ?? 0
                    state.files[path] = TrackedFile(durableSize: size, entryIsDurable: true)
                }
            }
            return file
        }
    }

    public func close(_ file: StorageFile) {
        base.close(file)
    }

    public func size(of file: StorageFile) throws(StorageIOError) -> Int {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.size, path: file.path, in: &state)
            return try base.size(of: file)
        }
    }

    public func read(_ file: StorageFile, offset: Int, count: Int) throws(StorageIOError) -> [UInt8] {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.read, path: file.path, in: &state)
            return try base.read(file, offset: offset, count: count)
        }
    }

    public func write(_ file: StorageFile, _ bytes: [UInt8], at offset: Int) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            if let prefix = try check(.write, path: file.path, in: &state) {
                try base.write(file, Array(bytes.prefix(prefix)), at: offset)
                throw StorageIOError(.write, path: file.path, errorNumber: EIO)
            }
            guard let writePacing else {
                try base.write(file, bytes, at: offset)
                return
            }
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + writePacing.chunkBytes)
                try base.write(file, Array(bytes[start..<end]), at: offset + start)
                usleep(writePacing.pauseMicroseconds)
                start = end
            }
        }
    }

    public func truncate(_ file: StorageFile, toSize size: Int) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.truncate, path: file.path, in: &state)
            try base.truncate(file, toSize: size)
            if let tracked = state.files[file.path], tracked.durableSize > size {
                state.files[file.path]?.durableSize = size
            }
        }
    }

    public func synchronizeData(_ file: StorageFile) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.synchronizeData, path: file.path, in: &state)
            try base.synchronizeData(file)
            state.files[file.path, default: TrackedFile(durableSize: 0, entryIsDurable: true)].durableSize =
                try base.size(of: file)
        }
    }

    public func synchronize(_ file: StorageFile) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.synchronize, path: file.path, in: &state)
            try base.synchronize(file)
            state.files[file.path, default: TrackedFile(durableSize: 0, entryIsDurable: true)].durableSize =
                try base.size(of: file)
        }
    }

    public func rename(_ source: String, to destination: String) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.rename, path: source, in: &state)
            try base.rename(source, to: destination)
            state.files[destination] = state.files.removeValue(forKey: source)
        }
    }

    public func removeFile(atPath path: String) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.removeFile, path: path, in: &state)
            try base.removeFile(atPath: path)
            state.files[path] = nil
        }
    }

    public func synchronizeDirectory(atPath path: String) throws(StorageIOError) {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.synchronizeDirectory, path: path, in: &state)
            try base.synchronizeDirectory(atPath: path)
            let prefix = path.hasSuffix("/") ? path : path + "/"
            for file in state.files.keys where file.hasPrefix(prefix) && !file.dropFirst(prefix.count).contains("/") {
                state.files[file]?.entryIsDurable = true
            }
        }
    }

    public func lockExclusively(_ path: String) throws(StorageIOError) -> StorageFile {
        try state.withLock { (state: inout State) throws(StorageIOError) in
            _ = try check(.lock, path: path, in: &state)
            return try base.lockExclusively(path)
        }
    }
}
