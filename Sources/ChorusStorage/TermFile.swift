import ChorusCore

/// `DIR/TERM`: the highest term a node has entered, kept outside the log.
///
/// ```
/// TERM (16 B) = magic "CTRM" | term u64 | CRC32C u32 of bytes 0..<12
/// ```
///
/// Written atomically (temporary file, fsync, rename, fsync of the directory)
/// each time the term rises, before any message of the new term leaves. The
/// log's own hard-state records say the same, but a log's final record can be
/// lost in a way recovery cannot tell from a torn write (see `SegmentScanner`):
/// this file then bounds the terms the lost records can belong to. A term rises
/// once per election at most, so the three syncs are paid rarely.
public enum TermFile {
    public static let fileName = "TERM"
    static let magic: [UInt8] = Array("CTRM".utf8)
    static let byteCount = 16

    public static func encode(_ term: Term) -> [UInt8] {
        var writer = ByteWriter(capacity: byteCount)
        writer.writeRaw(magic)
        writer.writeFixed(term.rawValue)
        writer.writeFixed(CRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// The term in `bytes`, the whole file at `path`; damage is corruption (the
    /// file is replaced atomically, so it is never torn).
    public static func decode(_ bytes: [UInt8], path: String) throws(StorageCorruption) -> Term {
        guard bytes.count == byteCount else {
            throw StorageCorruption(
                file: path, offset: 0, reason: .invalidHeader("\(bytes.count) byte(s), not the \(byteCount) of a term file"))
        }
        guard Array(bytes[0..<4]) == magic else {
            throw StorageCorruption(file: path, offset: 0, reason: .invalidHeader("magic is not \"CTRM\""))
        }
        let stored = bytes.littleEndianUInt32(at: 12)
        let computed = CRC32C.checksum(bytes[0..<12])
        guard stored == computed else {
            throw StorageCorruption(file: path, offset: 12, reason: .checksumMismatch(stored: stored, computed: computed))
        }
        return Term(bytes.littleEndianUInt64(at: 4))
    }

    /// The term recorded in `directory`, or zero when no file exists yet.
    static func read(in directory: String, fileSystem: any StorageFileSystem) throws(StorageError) -> Term {
        let names: [String]
        do { names = try fileSystem.contentsOfDirectory(atPath: directory) } catch { throw .io(error) }
        guard names.contains(fileName) else { return .zero }
        let path = join(directory, fileName)
        let bytes = try fileSystem.readWholeFile(path, limit: byteCount)
        do { return try decode(bytes, path: path) } catch { throw .corruption(error) }
    }

    static func write(_ term: Term, in directory: String, fileSystem: any StorageFileSystem) throws(StorageError) {
        let path = join(directory, fileName)
        do {
            try fileSystem.writeAtomically(encode(term), to: path, through: path + ".tmp", in: directory)
        } catch {
            throw .io(error)
        }
    }
}
