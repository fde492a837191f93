/// What start-up found among the snapshot files.
public struct SnapshotRecoveryReport: Sendable, Equatable {
    /// The file the loaded snapshot came from, if any.
    public var loadedFile: String?
    /// Snapshot files found invalid, newest first, with what is wrong. When
    /// repairing they are renamed with a `.corrupt` suffix and never read again.
    public var corruptFiles: [StorageCorruption]
    /// Leftover temporary files from a save that did not finish; removed when repairing.
    public var temporaryFiles: [String]
}

/// Snapshot files in one directory: written atomically, loaded newest-valid-first.
///
/// **Writing** (`save`) follows the classic atomic-replace protocol:
///
/// ```
/// write snapshot-S.snap.tmp ─▶ fsync it ─▶ rename to snapshot-S.snap ─▶ fsync the directory
/// ```
///
/// A crash before the rename leaves only a temporary file, which start-up
/// removes; the previous snapshot is untouched. The rename is atomic, so the
/// final name never holds a partial file, and the directory fsync makes the
/// rename itself durable before anything (such as deleting log segments) relies
/// on it. (Pillai et al., "All File Systems Are Not Created Equal", OSDI 2014,
/// on why each of these steps is needed.)
///
/// **Loading** tries snapshot files from the highest coverage down and takes the
/// first whose checksums hold. Invalid ones are reported, never used.
struct SnapshotStore: Sendable {
    let directory: String
    let fileSystem: any StorageFileSystem
    let configuration: StorageConfiguration

    /// The snapshot files present, by coverage, highest first.
    func snapshotFiles() throws(StorageError) -> [(coveredBelow: SequenceNumber, name: String)] {
        let names: [String]
        do { names = try fileSystem.contentsOfDirectory(atPath: directory) } catch { throw .io(error) }
        return names.compactMap { name in SnapshotFormat.coveredBelow(fromFileName: name).map { ($0, name) } }
            .sorted { $0.coveredBelow > $1.coveredBelow }
    }

    /// Loads the newest valid snapshot. When `repair` is set, removes leftover
    /// temporary files and renames invalid snapshots out of the way.
    func load(repair: Bool) throws(StorageError) -> (snapshot: Snapshot?, report: SnapshotRecoveryReport) {
        let names: [String]
        do { names = try fileSystem.contentsOfDirectory(atPath: directory) } catch { throw .io(error) }
        let temporaryFiles = names.filter { $0.hasSuffix(SnapshotFormat.temporarySuffix) }
        var report = SnapshotRecoveryReport(loadedFile: nil, corruptFiles: [], temporaryFiles: temporaryFiles)
        var loaded: Snapshot?
        for candidate in try snapshotFiles() {
            let path = join(directory, candidate.name)
            let limit = SnapshotFormat.headerBytes + configuration.maximumSnapshotBytes
            do throws(StorageError) {
                let bytes = try fileSystem.readWholeFile(path, limit: limit)
                let snapshot: Snapshot
                do { snapshot = try SnapshotFormat.decode(bytes, file: path, payloadLimit: configuration.maximumSnapshotBytes) } catch {
                    throw .corruption(error)
                }
                guard snapshot.coveredBelow == candidate.coveredBelow else {
                    throw .corruption(
                        StorageCorruption(
                            file: path, offset: 8,
                            reason: .nameDisagreesWithHeader(name: candidate.coveredBelow, header: snapshot.coveredBelow)))
                }
                loaded = snapshot
                report.loadedFile = candidate.name
                break
            } catch {
                guard case .corruption(let corruption) = error else { throw error }
                report.corruptFiles.append(corruption)
            }
        }
        if repair {
            do {
                for name in temporaryFiles { try fileSystem.removeFile(atPath: join(directory, name)) }
                for corruption in report.corruptFiles {
                    try fileSystem.rename(corruption.file, to: corruption.file + SnapshotFormat.corruptSuffix)
                }
                if !temporaryFiles.isEmpty || !report.corruptFiles.isEmpty {
                    try fileSystem.synchronizeDirectory(atPath: directory)
                }
            } catch {
                throw .io(error)
            }
        }
        return (loaded, report)
    }

    /// Writes a snapshot atomically (see the type's documentation).
    func save(_ snapshot: Snapshot) throws(StorageError) {
        guard snapshot.payload.count <= configuration.maximumSnapshotBytes else {
            throw .snapshotTooLarge(bytes: snapshot.payload.count, limit: configuration.maximumSnapshotBytes)
        }
        let finalPath = join(directory, SnapshotFormat.fileName(coveredBelow: snapshot.coveredBelow))
        let temporaryPath = finalPath + SnapshotFormat.temporarySuffix
        do {
            try fileSystem.writeAtomically(
                SnapshotFormat.encode(snapshot), to: finalPath, through: temporaryPath, in: directory)
        } catch {
            throw .io(error)
        }
    }

    /// Deletes all but the `retainedSnapshotCount` snapshots with the highest
    /// coverage, and returns the lowest coverage among those kept: the point
    /// below which log segments may go.
    func prune() throws(StorageError) -> SequenceNumber? {
        let files = try snapshotFiles()
        let kept = files.prefix(configuration.retainedSnapshotCount)
        let removed = files.dropFirst(configuration.retainedSnapshotCount)
        if !removed.isEmpty {
            do {
                for file in removed { try fileSystem.removeFile(atPath: join(directory, file.name)) }
                try fileSystem.synchronizeDirectory(atPath: directory)
            } catch {
                throw .io(error)
            }
        }
        return kept.last?.coveredBelow
    }
}
