import ChorusCRDT
import FuzzedChorusTraces
import FuzzSupport

#if canImport(Glibc)
import Glibc
#endif

/// The editing-trace reader (`EditingTrace.load`: zlib's `gzread`, then a
/// pull parser for exactly the traces' JSON) and the replay that follows it
/// (`TraceReplay.replay`, sequential or concurrent, into `ReplicatedText`).
/// Both must end in a trace and an outcome or a typed `TraceError`, never a
/// trap, whatever the file holds: a patch out of bounds, a parent that is not
/// earlier, a truncated gzip member.
///
/// Input: the file's bytes, plain JSON or gzip (the loader reads a path, so
/// each input is written to a file under /dev/shm first).
enum TraceHarness {
    static let path: String = {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        return "\(directory)/chorus-fuzz-trace-\(getpid()).json"
    }()

    static func run(_ bytes: [UInt8]) {
        guard let file = fopen(path, "wb") else { preconditionFailure("cannot write \(path)") }
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
        guard let trace = try? EditingTrace.load(path: path) else { return }
        precondition(trace.agentCount >= 1, "a loaded trace with no agent")
        // Replay small traces only, so one input stays fast.
        guard trace.patches.count <= 2_048, trace.insertedScalars.count <= 1 << 16,
            trace.agentCount * max(trace.transactions.count, 1) <= 1 << 14
        else { return }
        _ = try? TraceReplay.replay(trace)
    }

    static func seeds() -> [Seed] {
        let sequential = #"""
            {"startContent":"ab","endContent":"aXYb!","txns":[{"time":"1970-01-01T00:00:00.000Z","patches":[[1,0,"XY"]]},{"time":"1970-01-01T00:00:01.000Z","patches":[[4,0,"!"],[0,0,""]]}]}
            """#
        let concurrent = #"""
            {"kind":"concurrent","endContent":"A sé","numAgents":2,"txns":[{"parents":[],"numChildren":1,"agent":0,"time":"1970-01-01T00:00:00+00:00","patches":[[0,0,"A"]]},{"parents":[0],"numChildren":1,"agent":0,"time":"1970-01-01T00:00:00+00:00","patches":[[1,0," "]]},{"parents":[1],"numChildren":0,"agent":1,"time":"1970-01-01T00:00:00+00:00","patches":[[2,0,"s\u00e9"]]}]}
            """#
        let deletion = #"""
            {"startContent":"","endContent":"held","txns":[{"patches":[[0,0,"hello"]]},{"patches":[[2,1,""],[3,1,"d"]]}],"extra":{"ignored":[1,2,{"x":null}]}}
            """#
        return [
            Seed("sequential", Array(sequential.utf8)),
            Seed("concurrent", Array(concurrent.utf8)),
            Seed("deletion-and-unknown-key", Array(deletion.utf8)),
        ]
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrace(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    TraceHarness.run(FuzzMain.bytes(start, count))
    return 0
}

@main
struct FuzzTraceMain {
    static func main() { FuzzMain.run(seeds: TraceHarness.seeds, testOneInput: fuzzTrace) }
}
