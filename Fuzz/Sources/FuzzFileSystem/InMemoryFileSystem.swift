import FuzzedChorusStorage
import Synchronization

/// A `StorageFileSystem` held in memory, so recovery can run thousands of
/// times a second on fuzzed directories: a map from path to contents, and
/// open files as descriptors naming a path. Directories are implicit (every
/// path under a directory lists in it). Synchronization calls do nothing.
public final class InMemoryFileSystem: StorageFileSystem {
    struct State {
        var files: [String: [UInt8]] = [:]
        var open: [Int32: String] = [:]
        var nextDescriptor: Int32 = 3
    }

    let state = Mutex(State())

    public init(files: [String: [UInt8]]) { state.withLock { $0.files = files } }

    public var files: [String: [UInt8]] { state.withLock { $0.files } }

    private func missing(_ operation: StorageIOError.Operation, _ path: String) -> StorageIOError {
        StorageIOError(operation, path: path, errorNumber: 2)
    }

    public func createDirectory(atPath path: String) throws(StorageIOError) {}

    public func contentsOfDirectory(atPath path: String) throws(StorageIOError) -> [String] {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        return state.withLock { state in
            state.files.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
                .filter { !$0.contains("/") }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }

    public func open(_ path: String, mode: StorageOpenMode) throws(StorageIOError) -> StorageFile {
        let result: Result<StorageFile, StorageIOError> = state.withLock { state in
            switch mode {
            case .readOnly, .readWrite:
                guard state.files[path] != nil else { return .failure(missing(.open, path)) }
            case .createNew:
                guard state.files[path] == nil else { return .failure(StorageIOError(.open, path: path, errorNumber: 17)) }
                state.files[path] = []
            case .createOrTruncate:
                state.files[path] = []
            }
            let descriptor = state.nextDescriptor
            state.nextDescriptor += 1
            state.open[descriptor] = path
            return .success(StorageFile(descriptor: descriptor, path: path))
        }
        return try result.get()
    }

    public func close(_ file: StorageFile) { _ = state.withLock { $0.open.removeValue(forKey: file.descriptor) } }

    private func contents(_ file: StorageFile, _ operation: StorageIOError.Operation) throws(StorageIOError) -> [UInt8] {
        let bytes: [UInt8]? = state.withLock { state in
            state.open[file.descriptor] == nil ? nil : state.files[file.path]
        }
        guard let bytes else { throw missing(operation, file.path) }
        return bytes
    }

    public func size(of file: StorageFile) throws(StorageIOError) -> Int { try contents(file, .size).count }

    public func read(_ file: StorageFile, offset: Int, count: Int) throws(StorageIOError) -> [UInt8] {
        let bytes = try contents(file, .read)
        guard offset < bytes.count else { return [] }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }

    public func write(_ file: StorageFile, _ bytes: [UInt8], at offset: Int) throws(StorageIOError) {
        var current = try contents(file, .write)
        if current.count < offset + bytes.count { current += [UInt8](repeating: 0, count: offset + bytes.count - current.count) }
        current.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        state.withLock { $0.files[file.path] = current }
    }

    public func truncate(_ file: StorageFile, toSize size: Int) throws(StorageIOError) {
        var current = try contents(file, .truncate)
        if current.count > size { current.removeSubrange(size...) } else { current += [UInt8](repeating: 0, count: size - current.count) }
        state.withLock { $0.files[file.path] = current }
    }

    public func synchronizeData(_ file: StorageFile) throws(StorageIOError) {}
    public func synchronize(_ file: StorageFile) throws(StorageIOError) {}

    public func rename(_ source: String, to destination: String) throws(StorageIOError) {
        let moved: Bool = state.withLock { state in
            guard let bytes = state.files.removeValue(forKey: source) else { return false }
            state.files[destination] = bytes
            return true
        }
        if !moved { throw missing(.rename, source) }
    }

    public func removeFile(atPath path: String) throws(StorageIOError) {
        let removed = state.withLock { $0.files.removeValue(forKey: path) != nil }
        if !removed { throw missing(.remove, path) }
    }

    public func synchronizeDirectory(atPath path: String) throws(StorageIOError) {}

    public func lockExclusively(_ path: String) throws(StorageIOError) -> StorageFile {
        try open(path, mode: .createOrTruncate)
    }
}
