import ChorusCRDT
import ChorusClocks
import ChorusCore
import ChorusTesting
import ChorusTraces
import Foundation
import Testing

/// The real editing traces of `../shared/data/editing-traces`, replayed in
/// `ReplicatedText`. Skipped, with a message, when the data is absent.
@Suite struct TraceReplayTests {
    static let directory = ReferenceData.directory("editing-traces")

    /// Every trace in the folder, loaded once for all the tests here.
    static let all: [(file: URL, trace: Result<EditingTrace, TraceError>)] = {
        guard let directory else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json.gz") }.sorted().map { name in
            let url = directory.appendingPathComponent(name)
            return (url, Result { () throws(TraceError) in try EditingTrace.load(path: url.path) })
        }
    }()

    static func traces(kind: EditingTrace.Kind) throws -> [(file: URL, trace: EditingTrace)] {
        try all.map { ($0.file, try $0.trace.get()) }.filter { $0.trace.kind == kind }
    }

    @Test(.enabled(if: ReferenceData.isPresent("editing-traces"), Comment(rawValue: ReferenceData.missingMessage("editing-traces"))))
    func everySequentialTraceReplaysToItsEndContent() throws {
        let traces = try Self.traces(kind: .sequential)
        #expect(traces.count >= 3, "expected automerge-paper, sveltecomponent and json-crdt-patch")
        for (file, trace) in traces {
            var document = ReplicatedText()
            try TraceReplay.replaySequential(trace, into: &document)
            #expect(document.firstDifference(from: trace.endContent) == nil, "\(file.lastPathComponent)")
            document.checkInvariants()
            // The whole history survives encoding and loading.
            let encoded = document.encoded()
            let loaded = try ReplicatedText(decodingAll: encoded)
            #expect(loaded.firstDifference(from: trace.endContent) == nil, "\(file.lastPathComponent) after loading")
            #expect(loaded.version == document.version)
            let liveBytes = String(String.UnicodeScalarView(trace.endContent)).utf8.count
            let deleted = document.itemCount - document.count
            let storage = document.storageBytes
            print(
                "\(file.lastPathComponent): in memory \(storage.tree) B tree + \(storage.index) B index "
                    + "+ \(storage.text) B text; per item (live or deleted) "
                    + "\(Double(storage.tree + storage.index) / Double(document.itemCount)) B of structure")
            print(
                "\(file.lastPathComponent): \(trace.patches.count) patches, \(document.count) chars, "
                    + "\(document.itemCount) items (\(deleted) deleted) in \(document.runCount) runs; "
                    + "encoded \(encoded.count) bytes = \(liveBytes) content + \(encoded.count - liveBytes) structure")
        }
    }

    @Test(.enabled(if: ReferenceData.isPresent("editing-traces"), Comment(rawValue: ReferenceData.missingMessage("editing-traces"))))
    func theConcurrentTraceConvergesOnEveryReplica() throws {
        let traces = try Self.traces(kind: .concurrent)
        #expect(!traces.isEmpty, "expected friendsforever")
        for (file, trace) in traces {
            let replicas = try TraceReplay.replayConcurrent(trace)
            #expect(replicas.count == trace.agentCount)
            for (agent, replica) in replicas.enumerated() {
                #expect(replica.firstDifference(from: trace.endContent) == nil, "\(file.lastPathComponent), agent \(agent)")
                #expect(replica.pending.isEmpty)
                replica.checkInvariants()
            }
            #expect(replicas.allSatisfy { $0 == replicas[0] }, "replicas converge to equal states")
        }
    }

    @Test(.enabled(if: ReferenceData.isPresent("editing-traces"), Comment(rawValue: ReferenceData.missingMessage("editing-traces"))))
    func theCLIOutcomeReportsMismatches() throws {
        guard var trace = try Self.traces(kind: .sequential).first(where: { $0.file.lastPathComponent == "sveltecomponent.json.gz" })?.trace
        else {
            Issue.record("sveltecomponent.json.gz not found")
            return
        }
        let outcome = try TraceReplay.replay(trace)
        #expect(outcome.matches)
        #expect(outcome.operationCount == trace.patches.count)
        #expect(outcome.finalCount == trace.endContent.count)
        // A trace whose expected text was changed at offset 100 mismatches there.
        trace.endContent[100] = trace.endContent[100] == "x" ? "y" : "x"
        #expect(try TraceReplay.replay(trace).mismatchOffset == 100)
    }
}
