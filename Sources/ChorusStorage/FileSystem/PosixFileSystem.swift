#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real files through POSIX calls: `pread`/`pwrite` at explicit offsets,
/// `fdatasync` for appended data, `fsync` for directories.
///
/// POSIX rather than Foundation so that what reaches the disk, and when, is
/// exactly what the code says: no buffering layer, and durability calls that
/// map one to one onto the system calls the recovery rules reason about.
/// On Darwin, `fsync` does not flush the drive's cache, so both
/// synchronization calls use `F_FULLFSYNC` there.
public struct PosixFileSystem: StorageFileSystem {
    /// Permissions for created files: read and write for the owner, read for others.
    public static let filePermissions: mode_t = 0o644
    public static let directoryPermissions: mode_t = 0o755

    public init() {}

    public func createDirectory(atPath path: String) throws(StorageIOError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += component
            if mkdir(prefix, Self.directoryPermissions) != 0 {
                let error = errno
                var information = stat()
                guard error == EEXIST, stat(prefix, &information) == 0,
                    (information.st_mode & S_IFMT) == S_IFDIR
                else { throw StorageIOError(.createDirectory, path: prefix, errorNumber: error == EEXIST ? ENOTDIR : error) }
            }
            prefix += "/"
        }
    }

    public func contentsOfDirectory(atPath path: String) throws(StorageIOError) -> [String] {
        guard let directory = opendir(path) else { throw StorageIOError(.listDirectory, path: path, errorNumber: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw StorageIOError(.listDirectory, path: path, errorNumber: errno) }
                break
            }
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public func open(_ path: String, mode: StorageOpenMode) throws(StorageIOError) -> StorageFile {
        let flags: Int32 =
            switch mode {
            case .readOnly: O_RDONLY
            case .readWrite: O_RDWR
            case .createNew: O_RDWR | O_CREAT | O_EXCL
            case .createOrTruncate: O_RDWR | O_CREAT | O_TRUNC
            }
        while true {
            let descriptor = systemOpen(path, flags | O_CLOEXEC, Self.filePermissions)
            if descriptor >= 0 { return StorageFile(descriptor: descriptor, path: path) }
            if errno != EINTR { throw StorageIOError(.open, path: path, errorNumber: errno) }
        }
    }

    public func close(_ file: StorageFile) {
        _ = systemClose(file.descriptor)
    }

    public func size(of file: StorageFile) throws(StorageIOError) -> Int {
        var information = stat()
        guard fstat(file.descriptor, &information) == 0 else {
            throw StorageIOError(.size, path: file.path, errorNumber: errno)
        }
        return Int(information.st_size)
    }

    public func read(_ file: StorageFile, offset: Int, count: Int) throws(StorageIOError) -> [UInt8] {
        precondition(offset >= 0 && count >= 0, "read with a negative offset or count")
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let result = pread(
                    file.descriptor, buffer.baseAddress! + initialized, count - initialized,
                    off_t(offset + initialized))
                if result > 0 {
                    initialized += result
                } else if result == 0 {
                    break
                } else if errno != EINTR {
                    failure = errno
                    break
                }
            }
        }
        if failure != 0 { throw StorageIOError(.read, path: file.path, errorNumber: failure) }
        return bytes
    }

    public func write(_ file: StorageFile, _ bytes: [UInt8], at offset: Int) throws(StorageIOError) {
        precondition(offset >= 0, "write at a negative offset")
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let result = pwrite(
                    file.descriptor, raw.baseAddress! + written, raw.count - written, off_t(offset + written))
                if result >= 0 {
                    written += result
                } else if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        if failure != 0 { throw StorageIOError(.write, path: file.path, errorNumber: failure) }
    }

    public func truncate(_ file: StorageFile, toSize size: Int) throws(StorageIOError) {
        while ftruncate(file.descriptor, off_t(size)) != 0 {
            if errno != EINTR { throw StorageIOError(.truncate, path: file.path, errorNumber: errno) }
        }
    }

    public func synchronizeData(_ file: StorageFile) throws(StorageIOError) {
        #if canImport(Darwin)
        guard fcntl(file.descriptor, F_FULLFSYNC) == 0 else {
            throw StorageIOError(.fdatasync, path: file.path, errorNumber: errno)
        }
        #else
        // No EINTR loop: a failed fdatasync is never retried (see WriteAheadLogError.failed).
        guard fdatasync(file.descriptor) == 0 else {
            throw StorageIOError(.fdatasync, path: file.path, errorNumber: errno)
        }
        #endif
    }

    public func synchronize(_ file: StorageFile) throws(StorageIOError) {
        #if canImport(Darwin)
        guard fcntl(file.descriptor, F_FULLFSYNC) == 0 else {
            throw StorageIOError(.fsync, path: file.path, errorNumber: errno)
        }
        #else
        guard fsync(file.descriptor) == 0 else { throw StorageIOError(.fsync, path: file.path, errorNumber: errno) }
        #endif
    }

    public func rename(_ source: String, to destination: String) throws(StorageIOError) {
        guard systemRename(source, destination) == 0 else {
            throw StorageIOError(.rename, path: source + " -> " + destination, errorNumber: errno)
        }
    }

    public func removeFile(atPath path: String) throws(StorageIOError) {
        guard unlink(path) == 0 else { throw StorageIOError(.remove, path: path, errorNumber: errno) }
    }

    public func synchronizeDirectory(atPath path: String) throws(StorageIOError) {
        let descriptor = systemOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard descriptor >= 0 else { throw StorageIOError(.synchronizeDirectory, path: path, errorNumber: errno) }
        defer { _ = systemClose(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw StorageIOError(.synchronizeDirectory, path: path, errorNumber: errno)
        }
    }

    public func lockExclusively(_ path: String) throws(StorageIOError) -> StorageFile {
        let descriptor = systemOpen(path, O_RDWR | O_CREAT | O_CLOEXEC, Self.filePermissions)
        guard descriptor >= 0 else { throw StorageIOError(.lock, path: path, errorNumber: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            _ = systemClose(descriptor)
            throw StorageIOError(.lock, path: path, errorNumber: error)
        }
        return StorageFile(descriptor: descriptor, path: path)
    }
}

// The C functions whose names the protocol's methods shadow inside the type.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.open(path, flags, mode)
    #else
    Darwin.open(path, flags, mode)
    #endif
}

private func systemClose(_ descriptor: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(descriptor)
    #else
    Darwin.close(descriptor)
    #endif
}

private func systemRename(_ source: String, _ destination: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.rename(source, destination)
    #else
    Darwin.rename(source, destination)
    #endif
}
