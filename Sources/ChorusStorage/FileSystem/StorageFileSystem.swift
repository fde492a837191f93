/// An open file: the descriptor and the path it was opened with, so that every
/// error can name the file.
public struct StorageFile: Hashable, Sendable {
    public let descriptor: Int32
    public let path: String

    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }
}

public enum StorageOpenMode: Sendable, Equatable {
    case readOnly
    /// Read and write an existing file.
    case readWrite
    /// Create a file that must not exist yet (`O_CREAT | O_EXCL`).
    case createNew
    /// Create a file, or empty an existing one (`O_CREAT | O_TRUNC`).
    case createOrTruncate
}

/// The file operations storage needs, as a seam: `PosixFileSystem` is the real
/// thing, and `FaultInjectingFileSystem` wraps it to fail chosen calls and to
/// simulate power loss in tests.
///
/// Every method blocks. None may be called on an event-loop thread.
public protocol StorageFileSystem: Sendable {
    /// Creates `path` and any missing parents; succeeds if it already exists.
    func createDirectory(atPath path: String) throws(StorageIOError)
    /// The names in `path`, sorted bytewise (never in directory order).
    func contentsOfDirectory(atPath path: String) throws(StorageIOError) -> [String]
    func open(_ path: String, mode: StorageOpenMode) throws(StorageIOError) -> StorageFile
    /// Closes the descriptor. Errors from close are not actionable and are ignored.
    func close(_ file: StorageFile)
    func size(of file: StorageFile) throws(StorageIOError) -> Int
    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(_ file: StorageFile, offset: Int, count: Int) throws(StorageIOError) -> [UInt8]
    /// Writes all of `bytes` at `offset`.
    func write(_ file: StorageFile, _ bytes: [UInt8], at offset: Int) throws(StorageIOError)
    func truncate(_ file: StorageFile, toSize size: Int) throws(StorageIOError)
    /// `fdatasync`: the data, and the metadata needed to read it back (the size).
    func synchronizeData(_ file: StorageFile) throws(StorageIOError)
    /// `fsync`: data and all metadata.
    func synchronize(_ file: StorageFile) throws(StorageIOError)
    func rename(_ source: String, to destination: String) throws(StorageIOError)
    func removeFile(atPath path: String) throws(StorageIOError)
    /// `fsync` of a directory, which makes creations, renames and removals in it durable.
    func synchronizeDirectory(atPath path: String) throws(StorageIOError)
    /// Opens (creating if needed) `path` and takes an exclusive, non-blocking
    /// advisory lock on it, held until the file is closed or the process exits.
    /// Fails with `EWOULDBLOCK` when another holder has it.
    func lockExclusively(_ path: String) throws(StorageIOError) -> StorageFile
}

extension StorageFileSystem {
    /// The whole content of `path`, refusing files larger than `limit` bytes.
    func readWholeFile(_ path: String, limit: Int) throws(StorageError) -> [UInt8] {
        let file: StorageFile
        do { file = try open(path, mode: .readOnly) } catch { throw .io(error) }
        defer { close(file) }
        let size: Int
        do { size = try self.size(of: file) } catch { throw .io(error) }
        guard size <= limit else {
            throw .corruption(StorageCorruption(file: path, offset: 0, reason: .fileTooLarge(bytes: size, limit: limit)))
        }
        do { return try read(file, offset: 0, count: size) } catch { throw .io(error) }
    }

    /// Replaces `path` with `bytes` atomically: write `temporaryPath`, fsync
    /// it, rename it over `path`, fsync `directory`. After a crash the file
    /// is either its old self or whole, never partial, and once this returns
    /// the rename itself is durable (Pillai et al., OSDI 2014).
    func writeAtomically(_ bytes: [UInt8], to path: String, through temporaryPath: String, in directory: String)
        throws(StorageIOError)
    {
        let file = try open(temporaryPath, mode: .createOrTruncate)
        do throws(StorageIOError) {
            try write(file, bytes, at: 0)
            try synchronize(file)
        } catch {
            close(file)
            throw error
        }
        close(file)
        try rename(temporaryPath, to: path)
        try synchronizeDirectory(atPath: directory)
    }
}

/// `directory/name`, without doubling a trailing slash.
func join(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
