import ChorusCore
import ChorusTesting
import ChorusTraces
import Foundation
import Testing

/// The trace loader on small hand-written files: escapes, both formats, and
/// every kind of malformed input.
@Suite struct TraceLoadingTests {
    /// Writes `contents` to a fresh temporary file and returns its path.
    static func temporaryFile(_ contents: [UInt8], suffix: String = ".json") throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("chorus-trace-\(UUID().uuidString)\(suffix)")
        try Data(contents).write(to: url)
        return url.path
    }

    static func load(_ json: String) throws(TraceError) -> EditingTrace {
        let path: String
        do { path = try temporaryFile(Array(json.utf8)) } catch { fatalError("cannot write a temporary file: \(error)") }
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try EditingTrace.load(path: path)
    }

    @Test func parsesASequentialTraceWithEscapesAndUnknownKeys() throws {
        let trace = try Self.load(
            #"""
            { "startContent": "", "extra": [1, -2.5e3, {"a": [true, false, null]}],
              "endContent": "a\u00e9\ud83d\ude00\n\"\\/",
              "txns": [ {"time": "2021", "patches": [[0, 0, "a\u00e9\ud83d\ude00"], [3, 0, "\n\"\\\/"]]},
                        {"time": "2022", "patches": [[4, 1, "\""]]} ] }
            """#)
        #expect(trace.kind == .sequential)
        #expect(String(String.UnicodeScalarView(trace.endContent)) == "aé😀\n\"\\/")
        #expect(trace.patches.count == 3)
        #expect(trace.transactions.count == 2)
        #expect(trace.patches[2] == EditingTrace.Patch(position: 4, deleteCount: 1, insertStart: 7, insertCount: 1))
        let outcome = try TraceReplay.replay(trace)
        #expect(outcome.matches)
    }

    @Test func startContentIsTheDocumentBeforeTheFirstPatch() throws {
        let trace = try Self.load(#"{"startContent": "hello", "endContent": "help!", "txns": [{"patches": [[3, 2, "p!"]]}]}"#)
        #expect(try TraceReplay.replay(trace).matches)
    }

    @Test func parsesAConcurrentTrace() throws {
        let trace = try Self.load(
            #"""
            {"kind": "concurrent", "endContent": "ab", "numAgents": 2, "txns": [
              {"parents": [], "numChildren": 2, "agent": 0, "time": "t", "patches": [[0, 0, "a"]]},
              {"parents": [0], "numChildren": 0, "agent": 1, "time": "t", "patches": [[1, 0, "b"]]}]}
            """#)
        #expect(trace.kind == .concurrent)
        #expect(trace.agentCount == 2)
        #expect(Array(trace.parents(of: 1)) == [0])
        #expect(try TraceReplay.replay(trace).matches)
    }

    @Test func malformedJSONIsAnErrorNamingWhatIsWrong() {
        let cases: [(String, String)] = [
            ("", "empty file"),
            ("{", "unterminated object"),
            (#"{"endContent": "a", "txns": [}"#, "bad array"),
            (#"{"endContent": "a\q", "txns": []}"#, "bad escape"),
            (#"{"endContent": "\ud83d", "txns": []}"#, "unpaired surrogate"),
            (#"{"endContent": "a", "txns": [{"patches": [[0, 0]]}]}"#, "short patch"),
            (#"{"endContent": "a", "txns": [{"patches": [[-1, 0, "a"]]}]}"#, "negative position"),
            (#"{"endContent": "a", "txns": [{"patches": [[1.5, 0, "a"]]}]}"#, "fractional position"),
            (#"{"endContent": "a", "txns": []} trailing"#, "trailing data"),
            (#"{"txns": []}"#, "no endContent"),
            (#"{"endContent": ""}"#, "no txns"),
            (#"{"kind": "weird", "endContent": "", "txns": []}"#, "unknown kind"),
            (#"{"kind": "concurrent", "endContent": "", "txns": []}"#, "no numAgents"),
            (#"{"kind": "concurrent", "endContent": "ab", "numAgents": 0, "txns": []}"#, "no agents"),
            (#"{"endContent": "a", "txns": [{"patches": [[0, 0, "a"]]}], "txns": []}"#, "repeated txns"),
            (#"{"kind": "concurrent", "numAgents": 1, "endContent": "", "txns": [{"parents": [0], "agent": 0, "patches": []}]}"#, "self parent"),
            (#"{"kind": "concurrent", "numAgents": 1, "endContent": "", "txns": [{"parents": [], "agent": 3, "patches": []}]}"#, "agent out of range"),
            (#"{"endContent": "", "txns": [], "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#, "too deep"),
            (#"{"endContent": "", "txns": [{"patches": [[0, 99999999999999999999, "a"]]}]}"#, "huge count"),
        ]
        for (json, what) in cases {
            #expect(throws: TraceError.self, "\(what)") { try Self.load(json) }
        }
        // Invalid UTF-8 inside a string.
        var bytes = Array(#"{"endContent": "x", "txns": []}"#.utf8)
        bytes[16] = 0xFF
        let path = try? Self.temporaryFile(bytes)
        #expect(throws: TraceError.self) { try EditingTrace.load(path: path ?? "/nonexistent") }
        if let path { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func patchesThatDoNotFitTheDocumentAreErrors() throws {
        let trace = try Self.load(#"{"endContent": "", "txns": [{"patches": [[5, 0, "a"]]}]}"#)
        #expect(throws: TraceError.self) { try TraceReplay.replay(trace) }
        let deleting = try Self.load(#"{"endContent": "", "txns": [{"patches": [[0, 0, "a"], [0, 3, ""]]}]}"#)
        #expect(throws: TraceError.self) { try TraceReplay.replay(deleting) }
    }

    @Test func missingFilesAreErrors() throws {
        #expect(throws: TraceError.cannotOpen(path: "/nonexistent/trace.json.gz")) {
            try EditingTrace.load(path: "/nonexistent/trace.json.gz")
        }
    }

    @Test(.enabled(if: ReferenceData.isPresent("editing-traces"), Comment(rawValue: ReferenceData.missingMessage("editing-traces"))))
    func corruptFilesAreErrors() throws {
        let directory = try #require(ReferenceData.directory("editing-traces"))
        let original = try Array(Data(contentsOf: directory.appendingPathComponent("sveltecomponent.json.gz")))
        var random = SeededGenerator(seed: 31)
        // Truncated gzip streams, and gzip streams with corrupted bytes.
        for iteration in 0..<12 {
            var bytes = original
            if iteration % 2 == 0 {
                bytes = Array(bytes.prefix(Int.random(in: 20..<(bytes.count - 8), using: &random)))
            } else {
                for _ in 0..<3 {
                    let index = Int.random(in: 20..<bytes.count, using: &random)
                    bytes[index] ^= UInt8.random(in: 1...255, using: &random)
                }
            }
            let path = try Self.temporaryFile(bytes, suffix: ".json.gz")
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect(throws: TraceError.self, "iteration \(iteration) (seed 31)") { try EditingTrace.load(path: path) }
        }
    }
}
