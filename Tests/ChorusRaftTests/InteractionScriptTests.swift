import ChorusTesting
import Foundation
import Testing

/// Runs every `testdata/*.txt` interaction script. Set `CHORUS_REWRITE=1` to
/// rewrite the expected outputs, then review the diff.
@Suite struct InteractionScriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("testdata", isDirectory: true)

    static var scripts: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test func thereAreScripts() {
        #expect(Self.scripts.count >= 10, "found \(Self.scripts)")
    }

    @Test(arguments: scripts)
    func script(_ name: String) throws {
        var environment = InteractionEnvironment()
        let mismatches = try DataDrivenScript.run(Self.directory.appendingPathComponent(name)) { command in
            try environment.handle(command)
        }
        for mismatch in mismatches {
            Issue.record(Comment(rawValue: mismatch.description))
        }
    }
}
