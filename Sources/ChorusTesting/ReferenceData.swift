import Foundation

/// Where the shared reference data lives: real editing traces and Jepsen
/// histories that nobody on this project wrote, read in place from
/// `../shared/data` beside the repository (or `$CHORUS_SHARED_DATA`).
///
/// Tests that need it call `ReferenceData.directory("jepsen-etcd")` and skip
/// with a message when it returns nil, so a checkout without the data still
/// passes its other tests.
public enum ReferenceData {
    /// The `shared/data` folder, or nil when it is absent.
    public static var root: URL? {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["CHORUS_SHARED_DATA"] {
            let url = URL(fileURLWithPath: override, isDirectory: true)
            return fileManager.fileExists(atPath: url.path) ? url : nil
        }
        // Sources/ChorusTesting/ReferenceData.swift → the package root → ../shared/data
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidate = packageRoot.deletingLastPathComponent()
            .appendingPathComponent("shared", isDirectory: true)
            .appendingPathComponent("data", isDirectory: true)
        return fileManager.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// A sub-folder of the reference data (`"editing-traces"`, `"jepsen-etcd"`, …), or nil.
    public static func directory(_ name: String) -> URL? {
        guard let url = root?.appendingPathComponent(name, isDirectory: true) else { return nil }
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Whether the sub-folder `name` is present: the condition of a test's
    /// `.enabled(if: ReferenceData.isPresent(…), ReferenceData.missingMessage(…))`,
    /// so a checkout without the data shows the test as skipped, with the reason.
    public static func isPresent(_ name: String) -> Bool { directory(name) != nil }

    /// The message a test prints when it skips for want of the data.
    public static func missingMessage(_ name: String) -> String {
        "reference data \(name) not found (looked in ../shared/data and $CHORUS_SHARED_DATA); skipping"
    }

    /// The package root, for tests that start the `chorus` executable or read fixtures.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
