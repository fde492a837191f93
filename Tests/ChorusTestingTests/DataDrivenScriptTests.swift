import ChorusTesting
import Foundation
import Testing

@Suite struct DataDrivenScriptTests {
    @Test func parsesPositionalAndKeyedArguments() throws {
        let command = try DataDrivenScript.parse(line: "add-nodes 3 voters=(1,2,3) index=10 x", number: 7, file: "f")
        #expect(command.name == "add-nodes")
        #expect(command.positional == ["3", "x"])
        #expect(command.values("voters") == ["1", "2", "3"])
        #expect(command.value("index") == "10")
        #expect(command.value("missing") == nil)
        #expect(command.line == 7)
    }

    @Test func reportsMismatchesAndAcceptsMatches() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("script-\(UInt64.random(in: 0 ... .max)).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try "# comment\necho a b\n----\na b\n\necho c\n----\nwrong\n".write(to: url, atomically: true, encoding: .utf8)
        let mismatches = try DataDrivenScript.run(url) { $0.positional.joined(separator: " ") }
        if DataDrivenScript.isRewriting { return }
        #expect(mismatches.count == 1)
        #expect(mismatches.first?.expected == "wrong")
        #expect(mismatches.first?.actual == "c")
    }

    @Test func rejectsACommandWithoutSeparator() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("script-\(UInt64.random(in: 0 ... .max)).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try "echo a\nnot a separator\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: DataDrivenScript.ScriptError.self) { _ = try DataDrivenScript.run(url) { _ in "" } }
    }
}
