import ChorusCore
import FuzzFileSystem
@testable import FuzzedChorusStorage
import FuzzSupport

/// Snapshot files (`SnapshotFormat`: a 32-byte header with two CRC32Cs, then
/// the payload) and a snapshot directory loaded newest-valid-first by
/// `SnapshotStore`. The format is fixed-width, so a file that decodes must
/// re-encode to exactly its own bytes.
///
/// Input: a mode byte. Even: one file. Odd: a directory of chunks, each a
/// snapshot file named by the coverage its header declares (or a wrong name,
/// when the mode's bit 1 is set), loaded with repair, then loaded again.
enum SnapshotFileHarness {
    static let payloadLimit = 1 << 20
    static let directory = "/snapshots"

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let mode = input.byte()
        if mode % 2 == 0 {
            let file = input.rest()
            guard let snapshot = try? SnapshotFormat.decode(file, file: "snapshot", payloadLimit: payloadLimit) else { return }
            precondition(SnapshotFormat.encode(snapshot) == file, "a decoded snapshot file does not re-encode to itself")
        } else {
            loadDirectory(input.chunks(limit: 5), misnamed: mode & 2 != 0)
        }
    }

    static func loadDirectory(_ files: [[UInt8]], misnamed: Bool) {
        var contents: [String: [UInt8]] = [:]
        for (position, file) in files.enumerated() {
            var covered = UInt64(position + 1)
            if file.count >= 16, !misnamed {
                covered = file[8..<16].reversed().reduce(0) { $0 << 8 | UInt64($1) }
            }
            contents[directory + "/" + SnapshotFormat.fileName(coveredBelow: SequenceNumber(covered))] = file
        }
        var configuration = StorageConfiguration.default
        configuration.maximumSnapshotBytes = payloadLimit
        let fileSystem = InMemoryFileSystem(files: contents)
        let store = SnapshotStore(directory: directory, fileSystem: fileSystem, configuration: configuration)
        guard let first = try? store.load(repair: true) else { return }
        if let snapshot = first.snapshot {
            precondition(first.report.loadedFile != nil, "a snapshot loaded from no file")
            precondition(SnapshotFormat.encode(snapshot).count == SnapshotFormat.headerBytes + snapshot.payload.count, "size")
        }
        let second = try! store.load(repair: true)
        precondition(second.snapshot == first.snapshot, "a repaired snapshot directory loads another snapshot")
        precondition(second.report.corruptFiles.isEmpty && second.report.temporaryFiles.isEmpty, "repair left bad files")
    }

    static func seeds() -> [Seed] {
        let small = SnapshotFormat.encode(Snapshot(coveredBelow: SequenceNumber(42), payload: Array("checkpoint".utf8)))
        let empty = SnapshotFormat.encode(Snapshot(coveredBelow: SequenceNumber(1), payload: []))
        let newer = SnapshotFormat.encode(Snapshot(coveredBelow: SequenceNumber(90), payload: [1, 2, 3, 4]))
        var corrupt = newer
        corrupt[corrupt.count - 1] ^= 0xFF
        return [
            Seed("file", [0] + small),
            Seed("file-empty-payload", [0] + empty),
            Seed("directory", [1] + FuzzInput.chunked([small, newer])),
            Seed("directory-corrupt-newest", [1] + FuzzInput.chunked([small, corrupt])),
            Seed("directory-misnamed", [3] + FuzzInput.chunked([small])),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshotFile(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    SnapshotFileHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzSnapshotFileMain {
    static func main() { FuzzMain.run(seeds: SnapshotFileHarness.seeds, testOneInput: fuzzSnapshotFile) }
}
